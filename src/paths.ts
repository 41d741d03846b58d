import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version baked into the rescue system's self-contained bundle (dist/rescue/lifeboat.mjs):
 * ci/build.mjs defines it there with esbuild, because the rescue system has no package.json.
 * Undefined everywhere else (`typeof` keeps that from throwing).
 */
declare const LIFEBOAT_VERSION: string | undefined;
const BUNDLED_VERSION = typeof LIFEBOAT_VERSION === 'string' ? LIFEBOAT_VERSION : undefined;

/**
 * Where lifeboat's own files are: the package root holds images/, skel/, recipes/ and schema/.
 * Found by walking up from this module, so it works from src/ (tests) and dist/ (the CLI). The
 * rescue bundle has no package around it: its root is its own directory.
 */
function findPackageRoot(): string {
  if (BUNDLED_VERSION !== undefined) return dirname(fileURLToPath(import.meta.url));
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

/** lifeboat's version, from its package.json (or, in the rescue bundle, baked in). */
export const VERSION: string =
  BUNDLED_VERSION ?? JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;
