import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { copyTreeOutOfContainer } from '../engine/container-files.js';
import { JobError } from '../errors.js';
import { secretsInImage } from '../recover/rescue-config.js';
import { menuArguments, runBuilderStep } from './builder-step.js';
import type { Output, StagedHost, StagedRescue } from './output.js';
import { uploadPxeTree } from './pxe-upload.js';

/**
 * PXE (ReaR OUTPUT=PXE): a network boot tree for this host, for BIOS (pxelinux), UEFI (GRUB's
 * network image) and iPXE over HTTP, each with a menu chosen by the machine's MAC (or IP)
 * address. The builder image's make-pxe step makes it (images/debian-bookworm/steps/make-pxe
 * says what is where); every path in it is relative, so the tree works wherever it is put in a
 * TFTP or HTTP server's root. docs/pxe.md shows a dnsmasq serving it.
 */
export const PXE_DIR = 'pxe';
const MAKE_PXE_SCRIPT = '/usr/lib/lifeboat/make-pxe';

/** The MAC addresses that get this host's menu: the captured ones and pxe.macs, with links by MAC. */
function linkedMacs(config: Config, host: StagedHost): string[] {
  return config.pxe.links === 'mac' ? [...new Set([...host.macs, ...config.pxe.macs])].sort() : [];
}

/** make-pxe's arguments: paths in the container, then the menu and the names. */
export function makePxeArguments(
  config: Config,
  host: StagedHost,
  paths: { kernel: string; initrd: string; out: string },
  epoch: number,
): string[] {
  const ips = config.pxe.links === 'ip' ? host.ipv4 : [];
  return [
    '--kernel',
    paths.kernel,
    '--initrd',
    paths.initrd,
    '--out',
    paths.out,
    '--hostname',
    host.name,
    '--epoch',
    String(epoch),
    ...(config.pxe.prefix === undefined ? [] : ['--prefix', config.pxe.prefix]),
    ...(config.pxe.hostDirectory ? ['--directory', host.name] : []),
    ...menuArguments(config),
    ...linkedMacs(config, host).flatMap((mac) => ['--mac', mac]),
    ...ips.flatMap((ip) => ['--ip', ip]),
  ];
}

export const pxeOutput: Output = {
  name: 'pxe',
  summary:
    'a network boot tree: pxelinux (BIOS), GRUB (UEFI) and iPXE (HTTP) menus per MAC address',
  builderPrograms: ['grub-mkimage'],
  servedAsIs: true,

  check(config) {
    const problems: string[] = [];
    // Quotes, backslashes, $ and ; mean different things to pxelinux, GRUB and iPXE.
    if (!/^[A-Za-z0-9_.,:=/+@%-]*( [A-Za-z0-9_.,:=/+@%-]+)*$/.test(config.kernel.cmdline))
      problems.push(
        'output pxe: kernel.cmdline may hold only letters, digits and _ . , : = / + @ % - between single spaces (three boot loaders read it)',
      );
    // A TFTP server's tree is a directory here or on a server; usb:// is a backup disk.
    const scheme = /^([a-z]+):\/\//.exec(config.pxe.url ?? 'file://')?.[1];
    if (!['file', 'nfs', 'cifs', 'sftp'].includes(scheme ?? ''))
      problems.push(
        `output pxe: pxe.url must be file:///dir, nfs://server/path, cifs://server/share/path or sftp://user@host/path (the tree a TFTP or HTTP server serves)`,
      );
    return problems;
  },

  async make(rescue: StagedRescue) {
    rescue.say('PXE tree');
    const { host } = rescue;
    if (host.name === '')
      throw new JobError(
        'the capture names no host (its /etc/hostname is empty): the PXE files are named after it',
        { hint: 'Give the host a name (/etc/hostname) and capture again.' },
      );
    if (rescue.config.pxe.links === 'mac' && linkedMacs(rescue.config, host).length === 0)
      rescue.log.warn(
        "output pxe: the capture has no MAC address and pxe.macs names none: no machine gets this host's menu by MAC (pxelinux.cfg/default boots the local disk)",
      );
    // The tree is world-readable so that a TFTP server can read it: say so when the
    // configuration put secrets into its initrd.
    const secrets = secretsInImage(rescue.config);
    if (secrets.length > 0)
      rescue.log.warn(
        `output pxe: the initrd holds ${secrets.join(', ')}, as the configuration asks, and the PXE tree is readable by every user and by anyone who can reach the TFTP or HTTP server that serves it; serve it only on a network you trust`,
      );
    const out = join(rescue.work, PXE_DIR);
    const args = makePxeArguments(
      rescue.config,
      host,
      { kernel: rescue.kernel, initrd: rescue.initrd, out },
      rescue.epoch,
    );
    await runBuilderStep(
      rescue.container,
      MAKE_PXE_SCRIPT,
      args,
      'Making the PXE tree',
      10 * 60_000,
    );
    await copyTreeOutOfContainer(rescue.container, out, join(rescue.dir, PXE_DIR));
    return [PXE_DIR];
  },

  publish({ config, outDir, log }) {
    return uploadPxeTree({ config, tree: join(outDir, PXE_DIR), log });
  },

  bootMedium(outDir) {
    // QEMU boots as the first machine the tree links by MAC; a tree without one has no machine.
    const tree = join(outDir, PXE_DIR);
    const link = readdirSync(join(tree, 'pxelinux.cfg'))
      .sort()
      .find((name) => /^01(-[0-9a-f]{2}){6}$/.test(name));
    if (link === undefined) return undefined;
    return {
      kind: 'network',
      tftp: tree,
      bootfile: 'pxelinux.0',
      mac: link.slice(3).replaceAll('-', ':'),
    };
  },
};
