import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lifeboat, sandbox } from '../support/cli.js';
import { debianFixture } from '../support/fixtures.js';
import { expectRestored, hostFiles, recoverIntoScript } from '../support/host-files.js';
import { mediaBuilds } from '../support/media-builds.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { type PrivateSshd, startSshd } from '../support/sshd.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * restic in the rescue system (QEMU): the example host's RAMDISK media built with backup.method
 * restic, whose declaration brings Debian's restic into the rescue image (the example host has
 * none); a backup of the host's files made on this machine with `lifeboat mkbackuponly` into a
 * repository on OpenSSH's sshd on loopback; and in the booted rescue system, `lifeboat recover
 * --into` restores it from there (10.0.2.2) with the repository password and the ssh key given
 * at the console's side, as a person recovering would: every file the same.
 */
const fixture = await debianFixture();
const why =
  (await engineMissing()) ??
  ('missing' in fixture ? fixture.missing : undefined) ??
  qemuMissing() ??
  (existsSync('/usr/bin/restic') ? undefined : 'restic is not installed (ci/setup installs it)');
const hostRoot = 'root' in fixture ? fixture.root : '';

const PASSWORD = 'restic-repository-password-9e07';
const HOST = 'fixture-host';
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-restic-rescue-'));
const box = sandbox();
let sshd: PrivateSshd | undefined;
let guest: GuestResult | undefined;
afterAll(() => {
  guest?.dispose();
  sshd?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const repo = join(scratch, 'repo');

describeTier('boot', why)('backup method restic in the rescue system (QEMU)', () => {
  let source = '';

  beforeAll(async () => {
    sshd = await startSshd(mkdtempSync(join(scratch, 'sshd-')));
    const method = [
      'backup.method=restic',
      `backup.url=sftp://root@10.0.2.2:${sshd.port}${repo}`,
      `backup.sftpHostKey=${sshd.hostKeyFingerprint}`,
    ];
    // The rescue system, with the method in its configuration (the secrets stay out).
    const { out: media } = await mediaBuilds(box, hostRoot, [
      'output.methods=[ramdisk]',
      ...method,
    ])();

    // The host's backup, made here into the repository the rescue system will read.
    const tree = join(scratch, 'host');
    source = await hostFiles(tree, HOST);
    const backedUp = await lifeboat(
      [
        'mkbackuponly',
        '--root',
        tree,
        ...method.flatMap((set) => ['--set', set.replace('10.0.2.2', '127.0.0.1')]),
        '--set',
        `backup.encryptionKey=${PASSWORD}`,
        '--set',
        `backup.sftpKey=${JSON.stringify(sshd.clientKey)}`,
        ...box.sets,
      ],
      { env: box.env },
    );
    expect(backedUp.exitCode, backedUp.all).toBe(0);

    const key = (sshd.clientKey.trimEnd().split('\n') as string[]).map((line) => `    ${line}`);
    guest = await runInRescueGuest({
      boot: {
        medium: {
          kind: 'kernel',
          kernel: join(media, 'vmlinuz'),
          initrd: join(media, 'initrd.img'),
          append: readFileSync(join(media, 'cmdline.txt'), 'utf8').trim(),
        },
        firmware: 'bios',
      },
      disks: [],
      files: {
        'secrets.yaml': [
          'backup:',
          `  encryptionKey: ${PASSWORD}`,
          '  sftpKey: |',
          ...key,
          '',
        ].join('\n'),
      },
      script: `command -v restic >restic-path.txt
${recoverIntoScript().replace('--unattended', '--unattended -c /tmp/in/secrets.yaml')}
grep -rlF ${PASSWORD} /var/log/lifeboat >leaked.txt 2>&1
exit 0
`,
    });
    expect(guest.exitCode, guest.console.slice(-3000)).toBe(0);
  }, 900_000);

  it('the rescue system has restic, from the method, though the host has none', () => {
    expect(existsSync(join(hostRoot, 'usr/bin/restic'))).toBe(false);
    const out = (guest as GuestResult).out;
    expect(readFileSync(join(out, 'restic-path.txt'), 'utf8').trim()).toBe('/usr/bin/restic');
  });

  it('recover --into restores the host backup from the sftp repository: every file the same, the password in no log', () => {
    const out = (guest as GuestResult).out;
    expectRestored(out, 'sftp://root@10.0.2.2', source);
    expect(readFileSync(join(out, 'leaked.txt'), 'utf8')).toBe('');
    expect(readFileSync(join(out, 'recover.log'), 'utf8')).not.toContain(PASSWORD);
  });
});
