import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A build's output directory as mkrescue leaves it (an ISO, manifest.json, and the capture as
 * `capture/` with its content store two levels down), and what a copy of it holds, for the
 * output.url tests.
 */
export { configWith } from '../support/config-with.js';

export const ARTIFACTS = ['lifeboat.iso', 'capture', 'manifest.json'] as const;

/** Writes the output directory; the store file's name is its content's sha256, as in a capture. */
export function makeOutputDir(dir: string, isoBytes = randomBytes(300_000)): string {
  mkdirSync(join(dir, 'capture', 'files'), { recursive: true });
  writeFileSync(join(dir, 'lifeboat.iso'), isoBytes, { mode: 0o600 });
  const stored = randomBytes(5_000);
  const sha = createHash('sha256').update(stored).digest('hex');
  writeFileSync(join(dir, 'capture', 'files', sha), stored);
  writeFileSync(join(dir, 'capture', 'manifest.json'), JSON.stringify({ files: [sha] }));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ artifacts: ['lifeboat.iso'], captureDir: 'capture' }),
  );
  return dir;
}

/** Every file under `dir` by relative path: its content's sha256 and its mode. */
export function treeOf(dir: string): Record<string, { sha256: string; mode: string }> {
  const out: Record<string, { sha256: string; mode: string }> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      if (statSync(full).isDirectory()) walk(path);
      else
        out[path] = {
          sha256: createHash('sha256').update(readFileSync(full)).digest('hex'),
          mode: (statSync(full).mode & 0o777).toString(8),
        };
    }
  };
  walk('');
  return out;
}

/** The tree with every mode set to `mode`: what the copy must hold. */
export function withMode(
  tree: Record<string, { sha256: string; mode: string }>,
  mode: string,
): Record<string, { sha256: string; mode: string }> {
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, { ...v, mode }]));
}
