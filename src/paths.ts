import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where lifeboat's own files are: the package root holds images/, skel/, recipes/ and schema/.
 * Found by walking up from this module, so it works from src/ (tests) and dist/ (the CLI).
 */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'images'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('lifeboat: cannot find its own package directory');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
export const IMAGES_DIR = join(PACKAGE_ROOT, 'images');
export const RECIPES_DIR = join(PACKAGE_ROOT, 'recipes');
export const SKEL_DIR = join(PACKAGE_ROOT, 'skel');

/** /etc/lifeboat, or LIFEBOAT_CONFIG_DIR (tests and unprivileged users point it elsewhere). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LIFEBOAT_CONFIG_DIR ?? '/etc/lifeboat';
}

/** lifeboat's version, from its package.json. */
export const VERSION: string = JSON.parse(
  readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8'),
).version;
