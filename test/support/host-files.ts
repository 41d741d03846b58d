import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { lifeboat, type sandbox } from './cli.js';

/**
 * A small host tree to back up and restore in a rescue guest, and the shell function that
 * fingerprints a tree (run here and in the guest, compared as text).
 */

/** Every entry of a tree with its type, mode, owner and link target, then every file's sha256. */
export const FINGERPRINT = `fingerprint() (
  cd "$1" || exit 1
  find . -mindepth 1 -printf '%P %y %m %U:%G %l\\n' | LC_ALL=C sort
  find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum
)`;

/**
 * Shell lines for a rescue guest's script: hostFiles' tree made at $tree (/tmp/tree), named after
 * the rescue system's host (whose backups recover looks for), with an empty directory and 4 MB
 * that cannot be compressed; its fingerprint goes to source.fp.
 */
export const GUEST_TREE = `${FINGERPRINT}
host=$(node -p "require('/etc/lifeboat/capture.json').identity.hostname")
tree=/tmp/tree
mkdir -p $tree/etc/app $tree/usr/bin $tree/var/empty
echo "$host" >$tree/etc/hostname
printf 'token=abc\\n' >$tree/etc/app/secret.conf; chmod 600 $tree/etc/app/secret.conf
printf '#!/bin/sh\\necho tool\\n' >$tree/usr/bin/tool; chmod 755 $tree/usr/bin/tool
head -c 4000000 /dev/urandom >$tree/usr/blob
ln -s ../usr/bin/tool $tree/etc/tool-link
fingerprint $tree >source.fp`;

/**
 * A small tree of the host `hostname` to back up: modes, a link, a secret file, bytes that do not
 * compress. Returns its fingerprint.
 */
export async function hostFiles(dir: string, hostname: string): Promise<string> {
  mkdirSync(join(dir, 'etc', 'app'), { recursive: true });
  mkdirSync(join(dir, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'hostname'), `${hostname}\n`);
  writeFileSync(join(dir, 'etc', 'app', 'secret.conf'), 'token=abc\n', { mode: 0o600 });
  writeFileSync(join(dir, 'usr', 'bin', 'tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
  writeFileSync(join(dir, 'usr', 'blob'), randomBytes(2_000_000));
  await execa('ln', ['-s', '../usr/bin/tool', join(dir, 'etc', 'tool-link')]);
  const { stdout } = await execa('bash', ['-c', `${FINGERPRINT}\nfingerprint "$1"`, '_', dir]);
  return `${stdout}\n`;
}

/**
 * A rescue guest's script (runInRescueGuest) that restores the configured backup into
 * /tmp/restored and fingerprints it, after `before` (shell lines, e.g. waiting for a disk).
 */
export function recoverIntoScript(before = ''): string {
  return `${FINGERPRINT}
${before}
lifeboat recover --into /tmp/restored --unattended >recover.log 2>&1
echo $? >recover.exit
fingerprint /tmp/restored >restored.fp
`;
}

/**
 * What recoverIntoScript left in the guest's /tmp/out (`out`): recover exited 0, said it read the
 * backup from `from`, and restored the tree whose fingerprint is `source`.
 */
export function expectRestored(out: string, from: string, source: string): void {
  const read = (name: string) => readFileSync(join(out, name), 'utf8');
  expect(read('recover.exit').trim(), read('recover.log')).toBe('0');
  expect(read('recover.log')).toContain(from);
  expect(read('restored.fp')).toContain('usr/blob f 644');
  expect(read('restored.fp')).toBe(source);
}

/**
 * `lifeboat mkbackuponly` (netfs) of a hostFiles tree at `dir` into the directory `into`, as the
 * user would run it; returns the tree's fingerprint.
 */
export async function backUpHostFiles(
  box: ReturnType<typeof sandbox>,
  dir: string,
  hostname: string,
  into: string,
): Promise<string> {
  const source = await hostFiles(dir, hostname);
  const backedUp = await lifeboat(
    [
      'mkbackuponly',
      '--root',
      dir,
      '--set',
      'backup.method=netfs',
      '--set',
      `backup.url=file://${into}`,
      ...box.sets,
    ],
    { env: box.env },
  );
  expect(backedUp.exitCode, backedUp.all).toBe(0);
  return source;
}
