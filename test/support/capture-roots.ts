import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import { RootView } from '../../src/capture/fs-root.js';

/**
 * Small synthetic roots for the identity, network and bootloader tests: a tree of files written
 * into a temporary directory, read back through a RootView as a captured root would be.
 */

/** Path in the root → content (text or bytes), `{ link }` for a symlink, `{ dir }` for a directory. */
export type Tree = Record<string, string | Uint8Array | { link: string } | { dir: true }>;

const roots: string[] = [];

/** Registers the cleanup of the roots a test file makes (call once, at the top level). */
export function cleanUpRoots(): void {
  afterEach(async () => {
    for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
  });
}

export async function makeRoot(tree: Tree): Promise<RootView> {
  const root = await mkdtemp(join(tmpdir(), 'lifeboat-root-'));
  roots.push(root);
  for (const [path, content] of Object.entries(tree)) {
    const hostPath = join(root, path);
    await mkdir(dirname(hostPath), { recursive: true });
    if (typeof content === 'string' || content instanceof Uint8Array) {
      await writeFile(hostPath, content);
    } else if ('link' in content) await symlink(content.link, hostPath);
    else await mkdir(hostPath, { recursive: true });
  }
  return new RootView(root);
}
