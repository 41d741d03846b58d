import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type BootResult, bootInQemu, SIDE_BY_SIDE_CPUS } from '../../src/boot/qemu.js';
import { sandbox } from '../support/cli.js';
import { backUpHostFiles, expectRestored, recoverIntoScript } from '../support/host-files.js';
import { bootTierHost, mediaBuilds } from '../support/media-builds.js';
import { type PrivateNfsServer, startNfsServer } from '../support/nfs-server.js';
import { runInRescueGuest } from '../support/rescue-guest.js';
import { describeTier } from '../support/tiers.js';

/**
 * The PXE output as a fleet uses it: the example host's capture built into a network boot tree
 * whose menus are linked to this machine's MAC address (pxe.macs: the fixture root names no
 * MAC), booted in QEMU the three ways the tree serves: BIOS through QEMU's iPXE ROM and
 * pxelinux over QEMU's own TFTP server, UEFI through OVMF and GRUB's network image, and iPXE
 * fetching a script, the kernel and the initrd over HTTP from a real server on loopback. A
 * machine with another MAC gets no rescue system. (The tree as built, and the same again, is
 * test/outputs/pxe.test.ts's.) And a tree
 * uploaded into a TFTP server's root (pxe.url, the kernel and initrd in the host's directory)
 * boots a rescue system that restores a backup from the NFS server its configuration names.
 */
const THIS_MAC = '52:54:00:4c:42:01';
const OTHER_MAC = '52:54:00:4c:42:99';
const READY = /^lifeboat-rescue: ready/;

const { hostRoot, why } = await bootTierHost(() =>
  existsSync('/usr/bin/ganesha.nfsd') ? undefined : 'nfs-ganesha is not installed',
);

const box = sandbox();
let http: Server | undefined;
let nfs: PrivateNfsServer | undefined;
/** QEMU start to the ready line per way of booting, printed at the end (bench/README.md). */
const timings: string[] = [];
afterAll(() => {
  http?.close();
  nfs?.stop();
  if (timings.length > 0) process.stdout.write(`pxe timings:\n${timings.join('\n')}\n`);
});

/**
 * The tree, built once for the file: capture, then `build` with the pxe output. Other names
 * build again from the same capture, with more settings.
 */
const builtTree = mediaBuilds(box, hostRoot, [
  'output.methods=[pxe]',
  `pxe.macs=[${THIS_MAC}]`,
  'boot.timeout=0',
]);

async function netBoot(
  firmware: 'bios' | 'uefi',
  tftp: string,
  bootfile: string,
  mac: string,
  ready = READY,
): Promise<BootResult> {
  const booted = await bootInQemu({
    firmware,
    cpus: SIDE_BY_SIDE_CPUS,
    medium: { kind: 'network', tftp, bootfile, mac },
    ready,
    timeoutMs: 10 * 60_000,
  });
  timings.push(
    `  ${firmware} ${bootfile.startsWith('http:') ? 'HTTP' : 'TFTP'} ${bootfile} as ${mac}: ${booted.readySeconds?.toFixed(1) ?? 'not'} s to ${ready === READY ? 'ready' : 'its answer'}`,
  );
  return booted;
}

/** A static file server for `root` on 127.0.0.1 (the guest reaches it as 10.0.2.2). */
async function serve(root: string): Promise<number> {
  http = createServer((request, response) => {
    const path = normalize(
      join(root, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)),
    );
    if (!path.startsWith(root) || !statSync(path, { throwIfNoEntry: false })?.isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-length': statSync(path).size });
    createReadStream(path).pipe(response);
  });
  await new Promise<void>((resolve) => http?.listen(0, '127.0.0.1', resolve));
  return (http.address() as AddressInfo).port;
}

describeTier('boot', why)('PXE output: a network boot tree per machine (QEMU)', () => {
  it.concurrent(
    "BIOS: pxelinux over TFTP picks this machine's menu by MAC and boots the rescue system",
    async () => {
      const { out } = await builtTree();
      const booted = await netBoot('bios', join(out, 'pxe'), 'pxelinux.0', THIS_MAC);
      expect(booted.ready, booted.transcript.slice(-3000)).toBe(true);
    },
    20 * 60_000,
  );

  it.concurrent(
    'iPXE: the script, kernel and initrd over HTTP from a server on loopback',
    async () => {
      const { out } = await builtTree();
      const port = await serve(join(out, 'pxe'));
      const booted = await netBoot(
        'bios',
        join(out, 'pxe'),
        `http://10.0.2.2:${port}/lifeboat.ipxe`,
        THIS_MAC,
      );
      expect(booted.ready, booted.transcript.slice(-3000)).toBe(true);
    },
    20 * 60_000,
  );
  it.concurrent(
    'BIOS: a machine with another MAC gets the default entry (its local disk), not the rescue system',
    async () => {
      const { out } = await builtTree();
      const booted = await netBoot(
        'bios',
        join(out, 'pxe'),
        'pxelinux.0',
        OTHER_MAC,
        // pxelinux's own line for LOCALBOOT: the default entry of pxelinux.cfg/default (its SAY
        // line goes to the screen only: pxelinux mirrors to the serial port once the file is read).
        /Booting from local disk|lifeboat-rescue: ready/,
      );
      expect(booted.transcript).toContain('Booting from local disk...');
      expect(booted.transcript).not.toContain('lifeboat-rescue: ready');
    },
    20 * 60_000,
  );

  it.concurrent(
    "UEFI: GRUB's network image picks this machine's menu by MAC and boots the rescue system",
    async () => {
      const { out } = await builtTree();
      const booted = await netBoot('uefi', join(out, 'pxe'), 'grubnetx64.efi', THIS_MAC);
      expect(booted.ready, booted.transcript.slice(-3000)).toBe(true);
    },
    20 * 60_000,
  );

  it.concurrent(
    "a tree uploaded into a TFTP server's root boots on UEFI, and its rescue system restores a backup from the NFS server its configuration names",
    async () => {
      nfs = await startNfsServer(join(box.dir, 'nfs'));
      mkdirSync(join(nfs.exportDir, 'site'));
      // The host's backup, made on this machine into the directory the NFS server exports.
      const source = await backUpHostFiles(
        box,
        join(box.dir, 'host-files'),
        'fixture-host',
        join(nfs.exportDir, 'site'),
      );
      // The rescue system knows where its backups are from the build's configuration alone; the
      // server's TFTP root already holds another site's default menu.
      const tftp = join(box.dir, 'tftp-root');
      mkdirSync(join(tftp, 'pxelinux.cfg'), { recursive: true });
      writeFileSync(join(tftp, 'pxelinux.cfg', 'default'), 'DEFAULT site\n');
      await builtTree('media-served', [
        'backup.method=netfs',
        `backup.url=nfs://10.0.2.2:${nfs.port}${nfs.pseudoPath}/site`,
        `pxe.url=file://${tftp}`,
        'pxe.hostDirectory=true',
      ]);
      expect(statSync(join(tftp, 'fixture-host', 'fixture-host.initrd')).mode & 0o777).toBe(0o644);
      expect(readlinkSync(join(tftp, 'grub', 'grub.cfg-01-52-54-00-4c-42-01'))).toBe(
        'lifeboat-fixture-host.cfg',
      );
      expect(readFileSync(join(tftp, 'pxelinux.cfg', 'default'), 'utf8')).toBe('DEFAULT site\n');

      const started = Date.now();
      const guest = await runInRescueGuest({
        boot: {
          firmware: 'uefi',
          medium: { kind: 'network', tftp, bootfile: 'grubnetx64.efi', mac: THIS_MAC },
        },
        script: recoverIntoScript(),
        disks: [],
        cpus: SIDE_BY_SIDE_CPUS,
        timeoutMs: 15 * 60_000,
      });
      try {
        timings.push(
          `  uefi TFTP grubnetx64.efi from the uploaded tree, recover --into over NFS: ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
        expect(guest.exitCode, guest.console.slice(-3000)).toBe(0);
        expectRestored(guest.out, `nfs://10.0.2.2:${nfs.port}`, source);
      } finally {
        guest.dispose();
      }
    },
    25 * 60_000,
  );
});
