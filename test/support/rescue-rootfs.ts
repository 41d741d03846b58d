import { generateKeyPairSync } from 'node:crypto';
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { bundleFilePath, readBundle } from '../../src/capture/bundle.js';
import { ensureBuilderImage } from '../../src/engine/builder-image.js';
import {
  type CommandResult,
  type RunningContainer,
  withContainer,
} from '../../src/engine/container.js';
import { connectEngine } from '../../src/engine/engine.js';
import { MemoryLog } from '../../src/log/log.js';
import { captureLayer } from '../../src/media/capture-layer.js';
import { directoryLayer } from '../../src/media/capture-layer-dir.js';
import { IMAGES_DIR, SKEL_DIR } from '../../src/paths.js';
import { lifeboat, ROOT, sandbox } from './cli.js';

/**
 * The rescue rootfs from a real capture, assembled in the real builder image with the builder's
 * own assemble-rootfs step, for test/build/rootfs.test.ts (looked at) and rootfs-boot.test.ts
 * (packed and booted): the path every rescue medium takes.
 *
 * The initrd is made here with GNU cpio + zstd in the container, for now; lifeboat's own cpio
 * writer replaces that step when it lands.
 */
const BASE_IMAGE = 'lifeboat-base/debian:bookworm';
export const EPOCH = '1700000000';
export const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

// -n: ssh must not read the serial console's input, or it swallows the next command typed there.
export const SSH_OPTIONS =
  '-n -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR';

/** Sorted by byte order, owners 0, mtimes as the rootfs has them (all SOURCE_DATE_EPOCH). */
const CPIO = [
  'set -euo pipefail',
  'cd "$1"',
  'find . -mindepth 1 -print0 | LC_ALL=C sort --zero-terminated |',
  '  cpio --create --null --format=newc --owner=0:0 --reproducible --quiet',
].join('\n');

export interface RescueRootfs {
  scratch: string;
  kernel: string;
  kernelVersion: string;
  /** The initrd (purpose `boot`; its size is 0 otherwise). */
  initrd: string;
  initrdBytes: number;
  rootfsBytes: number;
  /** What the checks run in the container printed, by name (purpose `checks`). */
  checks: Record<string, CommandResult>;
}

/**
 * Capture of `hostRoot` → builder image → rootfs, then for `checks` (test/build/rootfs.test.ts)
 * the rootfs looked at in the container, assembled a second time to compare and a third time
 * with rescue.keep groups; for `boot` (test/build/rootfs-boot.test.ts) packed into an initrd.
 * The caller removes `scratch`.
 */
export async function buildRescueRootfs(
  hostRoot: string,
  purpose: 'checks' | 'boot',
): Promise<RescueRootfs> {
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-rootfs-'));
  const box = sandbox();
  const bundle = join(scratch, 'capture');
  const captured = await lifeboat(
    ['capture', '--root', hostRoot, '--out', bundle, ...box.sets, '--quiet'],
    { env: box.env },
  );
  if (captured.exitCode !== 0) throw new Error(`lifeboat capture failed:\n${captured.all}`);
  const { manifest } = await readBundle(bundle);
  const kernelSection = manifest.kernel;
  const image = manifest.files.find((f) => f.path === kernelSection?.image);
  if (kernelSection === null || image?.type !== 'file') {
    throw new Error('the fixture capture has no kernel image');
  }
  const kernelVersion = kernelSection.version;

  const log = new MemoryLog();
  const engine = connectEngine();
  const builder = await ensureBuilderImage({
    engine,
    imagesDir: IMAGES_DIR,
    name: 'debian-bookworm',
    baseImage: BASE_IMAGE,
    log,
  });

  // A second skeleton layer, as a recipe would add: root's authorized key (and, for the test
  // only, the private half, so the guest can ssh to itself).
  const keys = sshKeyPair();
  const extraSkel = join(scratch, 'skel-test');
  mkdirSync(join(extraSkel, 'root', '.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(join(extraSkel, 'root', '.ssh', 'authorized_keys'), keys.authorized, {
    mode: 0o600,
  });
  writeFileSync(join(extraSkel, 'root', 'test-key'), keys.privatePem, { mode: 0o600 });

  const checks: Record<string, CommandResult> = {};
  let rootfsBytes = 0;
  const initrd = join(scratch, 'initrd.img');
  await withContainer(
    { engine, image: builder.tag, log, env: { SOURCE_DATE_EPOCH: EPOCH } },
    async (c) => {
      await c.putArchive('/work/capture', await captureLayer(bundle));
      await c.putArchive('/work/skel/default', await directoryLayer(join(SKEL_DIR, 'default')));
      await c.putArchive('/work/skel/test', await directoryLayer(extraSkel));
      await c.putArchive('/work/lifeboat', await directoryLayer(join(ROOT, 'dist', 'rescue')));
      const assemble = (rootfs: string, ...extra: string[]) =>
        ok(
          c.exec(
            [
              '/usr/lib/lifeboat/assemble-rootfs',
              ...extra,
              '--rootfs',
              rootfs,
              '--skel',
              '/work/skel/default',
              '--skel',
              '/work/skel/test',
              '--capture',
              '/work/capture',
              '--lifeboat',
              '/work/lifeboat/lifeboat.mjs',
              '--kernel-version',
              kernelVersion,
            ],
            { timeoutMs: 15 * 60_000 },
          ),
          'assemble-rootfs',
        );
      await assemble('/work/rootfs');

      const sh = (script: string, ...args: string[]) =>
        c.exec(['bash', '-c', script, 'check', ...args], { timeoutMs: 10 * 60_000 });
      const size = await ok(sh('du --summarize --bytes /work/rootfs | cut -f1'), 'du');
      rootfsBytes = Number(size.stdout.trim());
      if (purpose === 'checks') {
        checks.version = await c.exec(['chroot', '/work/rootfs', '/usr/bin/lifeboat', '--version']);
        checks.hostKeys = await sh('find /work/rootfs/etc/ssh -name "ssh_host_*"');
        checks.identity = await sh(
          'ls -d /work/rootfs/etc/machine-id /work/rootfs/etc/resolv.conf /work/rootfs/etc/hostname 2>&1; cat /work/rootfs/etc/hostname',
        );
        checks.mtimes = await sh('find /work/rootfs -printf "%T@\\n" | sort -u');
        checks.modulesDep = await sh(
          'grep -c "virtio_net" "/work/rootfs/lib/modules/$1/modules.dep"',
          kernelVersion,
        );
        checks.facts = await sh(
          'cat /work/rootfs/etc/lifeboat/kernel-version; grep -x virtio_net /work/rootfs/etc/lifeboat/modules',
        );
        checks.init = await sh('stat -c "%a %u %g" /work/rootfs/init');
        checks.docs = await sh(
          'find /work/rootfs/usr/share/doc /work/rootfs/usr/share/man /work/rootfs/usr/share/locale -type f ! -name copyright ! -name locale.alias | head -n 5',
        );
        // One marker of each group prune-rootfs leaves out, and the programs recovery runs.
        const pruned = [
          'usr/bin/python3',
          'usr/bin/perl',
          'var/lib/dpkg/status',
          'usr/bin/apt-get',
          'usr/lib/udev/hwdb.bin',
          'usr/share/zoneinfo/Europe/Berlin',
          'usr/lib/x86_64-linux-gnu/gconv/ISO8859-2.so',
          'usr/share/nodejs/@types',
        ];
        const present = 'for p; do [ -e "/work/rootfs/$p" ] && echo "$p"; done; true';
        checks.pruned = await sh(present, ...pruned);
        checks.tools = await sh(
          'for p in lvm mdadm cryptsetup mkfs.ext4 mkfs.xfs mkfs.btrfs mkfs.vfat sfdisk sgdisk parted mount.nfs mount.cifs gpg zstd tar curl ssh sshd dhclient udevadm modprobe; do chroot /work/rootfs sh -c "command -v $p" >/dev/null || echo "missing $p"; done; chroot /work/rootfs node -e "process.stdout.write(new Intl.DateTimeFormat(\'en\').format(0))"',
        );

        // The same inputs, assembled a second time, must give the same archive.
        await assemble('/work/rootfs2');
        checks.reproducible = await sh(
          `for r in /work/rootfs /work/rootfs2; do bash -c "$1" cpio "$r" | sha256sum; done`,
          CPIO,
        );

        // A recipe asks for two groups back (rescue.keep).
        await assemble('/work/rootfs3', '--keep', 'python', '--keep', 'hwdb');
        checks.kept = await sh(present.replaceAll('/work/rootfs/', '/work/rootfs3/'), ...pruned);
      }

      if (purpose === 'boot') {
        await ok(
          sh(`bash -c "$1" cpio /work/rootfs | zstd -12 -T1 -q -o /work/initrd.img`, CPIO),
          'cpio | zstd',
        );
        await copyOut(c, '/work/initrd.img', initrd);
      }
    },
  );
  return {
    scratch,
    kernel: bundleFilePath(bundle, image.sha256),
    kernelVersion,
    initrd,
    initrdBytes: purpose === 'boot' ? statSync(initrd).size : 0,
    rootfsBytes,
    checks,
  };
}

/**
 * An ECDSA key pair: the private key as SEC1 PEM (which OpenSSH reads), the public one as an
 * authorized_keys line (the SSH wire encoding: key type, curve, uncompressed point).
 */
function sshKeyPair(): { privatePem: string; authorized: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const blob = Buffer.concat([
    field(Buffer.from('ecdsa-sha2-nistp256')),
    field(Buffer.from('nistp256')),
    field(point),
  ]);
  return {
    privatePem: privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
    authorized: `ecdsa-sha2-nistp256 ${blob.toString('base64')} lifeboat-test\n`,
  };
}

async function ok(run: Promise<CommandResult>, what: string): Promise<CommandResult> {
  const result = await run;
  if (result.exitCode !== 0) {
    throw new Error(
      `${what} exited with ${result.exitCode}:\n${result.stdout.slice(-1500)}\n${result.stderr.slice(-3000)}`,
    );
  }
  return result;
}

/** One file out of the container (getArchive gives a tar holding it). */
async function copyOut(c: RunningContainer, path: string, to: string): Promise<void> {
  const tar = await c.getArchive(path);
  const reader = extract();
  let found = false;
  const done = (async () => {
    for await (const entry of reader) {
      if (entry.header.type === 'file' && !found) {
        found = true;
        await pipeline(entry as unknown as Readable, createWriteStream(to));
      } else {
        entry.resume();
      }
    }
  })();
  await pipeline(tar, reader as unknown as NodeJS.WritableStream);
  await done;
  if (!found) throw new Error(`${path}: the engine's archive held no file`);
}
