import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { backupServerOptions, openDestinationUrl } from '../backup/destination.js';
import type { BackupDestination } from '../backup/destination-types.js';
import type { Config } from '../config/schema.js';
import type { Log } from '../log/log.js';
import { sayingKey } from './publish.js';

/**
 * pxe.url (ReaR PXE_TFTP_UPLOAD_URL and PXE_CONFIG_URL): a build's PXE tree uploaded into the
 * tree a TFTP or HTTP server serves, which other hosts' files share. Through the backup
 * destination modules (file://, nfs://, cifs://, sftp://), files 0644 in 0755 directories.
 *
 *   this host's files (kernel, initrd, menus)   replaced
 *   the loaders and the default menus           written where there are none: a server's own
 *                                               pxelinux.cfg/default is never replaced
 *   links (pxelinux.cfg/01-..., grub/grub.cfg-01-..., ipxe/01-....ipxe)
 *                                               made after the menus they point to; a link of
 *                                               another host's is taken over (the MAC is now this
 *                                               host's), a file of that name is left alone
 *   links to this host's menus that the build no longer makes
 *                                               removed with pxe.removeOldLinks, else named
 */
const KEY = 'pxe.url';
/** The directories whose entries the loaders look up by MAC or IP: where links are. */
const LINK_DIRECTORIES = ['pxelinux.cfg', 'grub', 'ipxe'];
/** What every host's tree has the same of (make-pxe): the server keeps its own where it has it. */
const SHARED = new Set([
  'pxelinux.0',
  'ldlinux.c32',
  'menu.c32',
  'libutil.c32',
  'libcom32.c32',
  'pxelinux.cfg/default',
  'grubnetx64.efi',
  'grub/grub.cfg',
  'lifeboat.ipxe',
]);

/** The local tree, by what the upload does with each entry. Paths are relative, with "/". */
export interface TreePlan {
  /** This host's files: kernel and initrd first, then its menus (the links' targets). */
  hostFiles: string[];
  shared: string[];
  /** path → target, relative to the link's directory. */
  links: Map<string, string>;
  /** This host's menus, by the directory they are in: what its links point to. */
  menus: Map<string, Set<string>>;
}

export async function planUpload(tree: string): Promise<TreePlan> {
  const plan: TreePlan = { hostFiles: [], shared: [], links: new Map(), menus: new Map() };
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(tree, relative))).sort()) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const entry = await lstat(join(tree, path));
      if (entry.isDirectory()) await walk(path);
      else if (entry.isSymbolicLink()) plan.links.set(path, await readlink(join(tree, path)));
      else if (SHARED.has(path)) plan.shared.push(path);
      else plan.hostFiles.push(path);
    }
  };
  await walk('');
  for (const path of plan.hostFiles) {
    const dir = posix.dirname(path);
    if (!LINK_DIRECTORIES.includes(dir)) continue;
    const menus = plan.menus.get(dir) ?? new Set<string>();
    menus.add(posix.basename(path));
    plan.menus.set(dir, menus);
  }
  // Menus after the kernel and initrd they boot: a machine that boots mid-upload finds either
  // the old menu or one whose files are there.
  const isMenu = (path: string) => LINK_DIRECTORIES.includes(posix.dirname(path));
  plan.hostFiles.sort((a, b) => Number(isMenu(a)) - Number(isMenu(b)) || a.localeCompare(b));
  return plan;
}

export interface UploadOptions {
  config: Config;
  /** The build's PXE tree on this machine (OUTDIR/pxe). */
  tree: string;
  log: Log;
}

/** Uploads the tree into pxe.url; returns the URL without credentials (undefined: not set). */
export async function uploadPxeTree(options: UploadOptions): Promise<string | undefined> {
  const { config, tree, log } = options;
  const url = config.pxe.url;
  if (url === undefined) return undefined;
  const plan = await planUpload(tree);
  const destination = openDestinationUrl(url, backupServerOptions(config, KEY), log);
  const at = <T>(doing: string, run: () => Promise<T>) => saying(run, destination.display, doing);
  // One listing per directory: over sftp:// each is a login.
  const listings = new Map<string, Promise<string[]>>();
  const listed = (dir: string) => {
    let names = listings.get(dir);
    if (names === undefined) {
      names = at(`could not list ${dir || '/'}`, () => destination.list(dir));
      listings.set(dir, names);
    }
    return names;
  };
  try {
    await at('could not open it', () => destination.open('write'));
    for (const path of plan.hostFiles) await put(destination, tree, path);

    const kept: string[] = [];
    for (const path of plan.shared) {
      const there = await listed(posix.dirname(path) === '.' ? '' : posix.dirname(path));
      if (there.includes(posix.basename(path))) kept.push(path);
      else await put(destination, tree, path);
    }
    if (kept.length > 0)
      log.debug(`${KEY}: kept the server's own ${kept.join(', ')} (written only where missing)`);

    for (const dir of LINK_DIRECTORIES) {
      const remoteLinks = await at(`could not list ${dir}`, () => destination.symlinks(dir));
      const names = new Set(await listed(dir));
      const wanted = [...plan.links].filter(([path]) => posix.dirname(path) === dir);
      for (const [path, target] of wanted) {
        const name = posix.basename(path);
        if (names.has(name) && !remoteLinks.has(name)) {
          log.warn(
            `${KEY}: ${path} on the server is a file, not a link: left as it is (that machine boots what it says, not this host's menu)`,
          );
          continue;
        }
        const before = remoteLinks.get(name);
        if (before !== undefined && before !== target)
          log.info(`${KEY}: ${path} pointed to ${before}; it now points to ${target}`);
        if (before !== target)
          await at(`could not link ${path}`, () => destination.symlink(path, target));
      }
      // The links to this host's menus that this build did not make: a MAC it no longer has.
      const menus = plan.menus.get(dir) ?? new Set<string>();
      const stale = [...remoteLinks]
        .filter(([name, target]) => menus.has(target) && !plan.links.has(`${dir}/${name}`))
        .map(([name]) => `${dir}/${name}`);
      if (stale.length === 0) continue;
      if (config.pxe.removeOldLinks) {
        for (const path of stale)
          await at(`could not remove ${path}`, () => destination.remove(path));
        log.info(`${KEY}: removed the old links ${stale.join(', ')}`);
      } else {
        log.warn(
          `${KEY}: ${stale.join(', ')} still give this host's menu to machines this build does not name; set pxe.removeOldLinks to remove them`,
        );
      }
    }
  } finally {
    await destination.close();
  }
  return destination.display;
}

function put(destination: BackupDestination, tree: string, path: string): Promise<void> {
  return saying(
    () => destination.write(path, createReadStream(join(tree, path)), 'served'),
    destination.display,
    `could not write ${path}`,
  );
}

function saying<T>(run: () => Promise<T>, display: string, doing: string): Promise<T> {
  return sayingKey(KEY, run, display, doing);
}
