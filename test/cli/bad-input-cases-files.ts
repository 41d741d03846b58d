import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleFilePath } from '../../src/capture/bundle.js';
import type { BadInputCase, CaseBox } from './bad-input-cases.js';

/** Bad files and directories: bundles, layouts, manifests, --out, --into and backup.url. */

/** Writes a file of a case's setup, making its directory. */
export function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A real capture bundle at {dir}/capture, of a small root with /etc/app/app.conf in it. */
async function captureBundle(box: CaseBox): Promise<string> {
  const root = join(box.dir, 'root');
  write(join(root, 'etc', 'hostname'), 'small\n');
  write(join(root, 'etc', 'app', 'app.conf'), 'setting=1\n');
  const bundle = join(box.dir, 'capture');
  await box.ok(['capture', '--root', root, '--out', bundle, '--set', 'rescue.copyAsIs=[/etc/app]']);
  return bundle;
}

/** A capture bundle whose capture.json `change` edits, as a hand or a broken disk would. */
function editedCapture(change: (capture: Record<string, unknown>) => void) {
  return async (box: CaseBox): Promise<void> => {
    const json = join(await captureBundle(box), 'capture.json');
    const capture = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    change(capture);
    writeFileSync(json, JSON.stringify(capture));
  };
}

const netfsTo = (url: string) => ['--set', 'backup.method=netfs', '--set', `backup.url=${url}`];
// An empty backup.url: were the --into guard ever to let a case through, there is nothing to restore.
const emptyBackups = (box: CaseBox) => mkdirSync(join(box.dir, 'backups'));

export const FILE_CASES: BadInputCase[] = [
  // Capture
  {
    group: 'Capture',
    title: '--root names a directory that does not exist',
    args: ['capture', '--root', '/nonexistent', '--out', '{dir}/capture'],
    exitCode: 2,
    says: '--root /nonexistent: no such directory',
  },
  {
    group: 'Capture',
    title: '--root names a file',
    args: ['capture', '--root', '{dir}/file', '--out', '{dir}/capture'],
    setup: (box) => write(join(box.dir, 'file'), ''),
    exitCode: 2,
    says: /--root \S+\/file: not a directory/,
  },
  {
    group: 'Capture',
    title: 'capture without --out',
    args: ['capture', '--root', '{dir}'],
    exitCode: 2,
    says: 'lifeboat capture needs --out DIR',
  },
  {
    group: 'Capture',
    title: '--out names a regular file',
    args: ['capture', '--root', '{dir}', '--out', '{dir}/file'],
    setup: (box) => write(join(box.dir, 'file'), 'mine\n'),
    exitCode: 2,
    says: /--out \S+\/file is not a lifeboat capture; give a new or empty directory/,
  },
  {
    group: 'Capture',
    title: '`capture show` of a directory that is no capture',
    args: ['capture', 'show', '{dir}'],
    exitCode: 2,
    says: /capture\.json does not exist: \S+ is not a lifeboat capture/,
  },
  {
    group: 'Capture',
    title: '`capture show` of a bundle with a damaged stored file',
    args: ['capture', 'show', '{dir}/capture'],
    setup: async (box) => {
      const bundle = await captureBundle(box);
      const capture = JSON.parse(readFileSync(join(bundle, 'capture.json'), 'utf8')) as {
        files: { path: string; sha256?: string }[];
      };
      const sha = capture.files.find((f) => f.path === '/etc/app/app.conf')?.sha256 ?? '';
      writeFileSync(bundleFilePath(bundle, sha), 'tampered\n');
    },
    exitCode: 1,
    says: '1 stored file(s) are missing or damaged: /etc/app/app.conf (damaged)',
  },
  {
    group: 'Capture',
    title: 'a capture.json whose section is of the wrong type',
    args: ['capture', 'show', '{dir}/capture'],
    setup: editedCapture((capture) => {
      capture.identity = 'pc1';
    }),
    exitCode: 2,
    says: 'capture.json is damaged: the "identity" section is not a mapping',
  },
  {
    group: 'Capture',
    title: 'a capture.json file path with ..',
    args: ['capture', 'show', '{dir}/capture'],
    setup: editedCapture((capture) => {
      const [first] = capture.files as { path: string }[];
      if (first) first.path = '/etc/../../tmp/x';
    }),
    exitCode: 2,
    says: 'files[0]: "/etc/../../tmp/x": not a plain path',
  },
  {
    group: 'Capture',
    title: '`capture diff` with one bundle',
    args: ['capture', 'diff', '{dir}/capture'],
    exitCode: 2,
    says: "missing required argument 'b'",
  },

  // Disk layout
  {
    group: 'Disk layout',
    title: '`layout show` of a file that does not exist',
    args: ['layout', 'show', '{dir}/layout.json'],
    exitCode: 2,
    says: 'layout.json: no such layout file',
  },
  {
    group: 'Disk layout',
    title: '`layout show` of a file that is not JSON',
    args: ['layout', 'show', '{dir}/layout.json'],
    setup: (box) => write(join(box.dir, 'layout.json'), '{\n'),
    exitCode: 2,
    says: 'layout.json: not JSON',
  },
  {
    group: 'Disk layout',
    title: '`layout show` of a capture.json',
    args: ['layout', 'show', '{dir}/capture/capture.json'],
    setup: captureBundle,
    exitCode: 2,
    says: 'not a lifeboat layout (schema lifeboat.capture/v1, expected lifeboat.layout/v1)',
  },
  {
    group: 'Disk layout',
    title: '`savelayout --out` naming a directory',
    args: ['savelayout', '--out', '{dir}/layouts'],
    setup: (box) => mkdirSync(join(box.dir, 'layouts')),
    exitCode: 2,
    says: /--out \S+\/layouts: is a directory, not a file; give the file to write, such as \S+\/layouts\/layout\.json$/m,
  },
  {
    group: 'Disk layout',
    title: '`layoutonly --disk-mapping` of a file that does not exist',
    args: ['layoutonly', '--unattended', '--disk-mapping', '{dir}/mapping'],
    exitCode: 2,
    says: /--disk-mapping \S+\/mapping: no such file/,
  },

  // Build and verify
  {
    group: 'Build and verify',
    title: '`build` without --capture',
    args: ['build', '--out', '{dir}/media'],
    exitCode: 2,
    says: "required option '--capture <dir>' not specified",
  },
  {
    group: 'Build and verify',
    title: '`build --out` naming a regular file',
    args: ['build', '--capture', '{dir}/capture', '--out', '{dir}/file'],
    setup: async (box) => {
      await captureBundle(box);
      write(join(box.dir, 'file'), 'mine\n');
    },
    exitCode: 2,
    says: /--out \S+\/file: is a file, not a directory/,
  },
  {
    group: 'Build and verify',
    title: '`verify --manifest` of a manifest.json with format lifeboat.build/v9',
    args: ['verify', '--manifest', '{dir}/manifest.json'],
    setup: (box) =>
      write(
        join(box.dir, 'manifest.json'),
        JSON.stringify({ schema: 'lifeboat.build/v9', inputs: {}, artifacts: [] }),
      ),
    exitCode: 2,
    says: 'a "lifeboat.build/v9" manifest; this version of lifeboat verifies lifeboat.build/v1 manifests',
  },
  {
    group: 'Build and verify',
    title: '`verify --manifest` of a file that is not JSON',
    args: ['verify', '--manifest', '{dir}/manifest.json'],
    setup: (box) => write(join(box.dir, 'manifest.json'), 'not json\nat all\n'),
    exitCode: 2,
    // One line: the file's text, newline and all, is not quoted.
    says: /manifest\.json:1:2: not a readable manifest\.json \(not valid JSON: unexpected 'o'\)$/m,
  },

  // Backup and recover
  {
    group: 'Backup and recover',
    title: '`mkbackup` with backup.method none (the default)',
    args: ['mkbackup', '--root', '{dir}'],
    exitCode: 2,
    says: 'backup.method is none: there is nothing to back up with',
  },
  {
    group: 'Backup and recover',
    title: 'a backup with backup.method networker',
    args: ['mkbackuponly', '--root', '{dir}', '--set', 'backup.method=networker'],
    exitCode: 2,
    says: "backup.method networker makes no backup: the NetWorker server's schedule does (use lifeboat mkrescue)",
  },
  {
    group: 'Backup and recover',
    title: 'backup.method external without a backup command',
    args: ['mkbackuponly', '--root', '{dir}', '--set', 'backup.method=external'],
    exitCode: 2,
    says: 'backup.method external needs external.backup: it is empty',
  },
  {
    group: 'Backup and recover',
    title: 'an rsync daemon URL that names no module',
    args: [
      'mkbackuponly',
      '--root',
      '{dir}',
      '--set',
      'backup.method=rsync',
      '--set',
      'backup.url=rsync://lifeboat:secret@backup.example.com::/',
    ],
    exitCode: 2,
    says: 'backup.url rsync://lifeboat:<redacted>@backup.example.com::/: names no daemon module (…::/module/path)',
  },
  {
    group: 'Backup and recover',
    title: 'a restic backup without the repository password',
    args: [
      'mkbackuponly',
      '--root',
      '{dir}',
      '--set',
      'backup.method=restic',
      '--set',
      'backup.url=sftp://backup@vault.example.com/srv/restic',
    ],
    exitCode: 2,
    says: 'backup.method restic needs backup.encryptionKey: it is the restic repository password',
  },
  {
    group: 'Backup and recover',
    title: 'a restic repository URL with a password in it',
    args: [
      'mkbackuponly',
      '--root',
      '{dir}',
      '--set',
      'backup.method=restic',
      '--set',
      'backup.url=sftp://backup:secret@vault.example.com/srv/restic',
      '--set',
      'backup.encryptionKey=repository-password',
    ],
    exitCode: 2,
    says: 'backup.url sftp://backup:<redacted>@vault.example.com/srv/restic: carries a password, which ssh never takes; log in with backup.sftpKey',
  },
  {
    group: 'Backup and recover',
    title: 'a backup with backup.method requestrestore',
    args: ['mkbackuponly', '--root', '{dir}', '--set', 'backup.method=requestrestore'],
    exitCode: 2,
    says: 'backup.method requestrestore makes no backup: at recovery someone else restores the files (use lifeboat mkrescue)',
  },
  {
    group: 'Backup and recover',
    title: 'an external backup command that is not installed',
    args: [
      'mkbackuponly',
      '--root',
      '{dir}',
      '--set',
      'backup.method=external',
      '--set',
      'external.backup=[/opt/vendor/bin/save, --all]',
    ],
    exitCode: 1,
    says: 'external.backup: /opt/vendor/bin/save is not installed here',
  },
  {
    group: 'Backup and recover',
    title: '`mkbackuponly` with backup.url unset',
    args: ['mkbackuponly', '--root', '{dir}', '--set', 'backup.method=netfs'],
    exitCode: 2,
    says: 'backup.url is not set: lifeboat does not know where backups go',
  },
  {
    group: 'Backup and recover',
    title: 'a backup.url lifeboat has no destination for',
    args: ['mkbackuponly', '--root', '{dir}', ...netfsTo('ftp://nas/backups')],
    exitCode: 2,
    says: 'backup.url ftp://nas/backups: lifeboat has no destination for ftp://',
  },
  {
    group: 'Backup and recover',
    title: '`recover` with backup.method none (the default)',
    args: ['recover', '--unattended', '--into', '{dir}/rehearsal'],
    exitCode: 2,
    says: 'backup.method is none: there is nothing to restore',
  },
  {
    group: 'Backup and recover',
    title: '`recover --into /`',
    args: ['recover', '--unattended', '--into', '/', ...netfsTo('file://{dir}/backups')],
    setup: emptyBackups,
    exitCode: 2,
    says: '--into /: that is the running system',
  },
  {
    group: 'Backup and recover',
    title: '`recover --into` a symlink to /',
    args: ['recover', '--unattended', '--into', '{dir}/slash', ...netfsTo('file://{dir}/backups')],
    setup: (box) => {
      emptyBackups(box);
      symlinkSync('/', join(box.dir, 'slash'));
    },
    exitCode: 2,
    says: /--into \S+\/slash \(which is \/\): that is the running system/,
  },
  {
    group: 'Backup and recover',
    title: '`recover --into` a directory that holds files',
    args: ['recover', '--unattended', '--into', '{dir}/used', ...netfsTo('file://{dir}/backups')],
    setup: (box) => {
      emptyBackups(box);
      write(join(box.dir, 'used', 'notes.txt'), 'mine\n');
    },
    exitCode: 2,
    says: /--into \S+\/used holds 1 entries lifeboat did not restore there/,
  },
  {
    group: 'Backup and recover',
    title: '`recover` from a file:// backup.url that does not exist',
    args: [
      'recover',
      '--unattended',
      '--into',
      '{dir}/rehearsal',
      ...netfsTo('file://{dir}/no-backups'),
    ],
    exitCode: 1,
    says: /backup\.url file:\/\/\S+\/no-backups: there is no directory \S+\/no-backups/,
  },
];
