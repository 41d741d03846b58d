// What the benches share: lifeboat's own modules bundled from src/ for an in-process call, the
// median of runs, a timer, and the bench's section of bench/README.md written anew.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * `exports` (lines like "export { netfsMethod } from './src/backup/netfs.ts';") bundled into
 * dist/bench/NAME.mjs (under the package, so src/paths.ts finds it) and imported.
 */
export async function importFromSource(name, exports) {
  const outfile = join(process.cwd(), 'dist', 'bench', `${name}.mjs`);
  await build({
    stdin: { contents: exports.join('\n'), resolveDir: process.cwd(), loader: 'ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  return import(outfile);
}

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Seconds `fn` took. */
export async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * bench/README.md with the section whose heading starts with `heading` ("## Backup (") replaced
 * by `section`, or `section` added at the end when there is none.
 */
export function writeReadmeSection(heading, section) {
  const readme = readFileSync('bench/README.md', 'utf8');
  const start = readme.indexOf(`\n${heading}`);
  const next = start < 0 ? -1 : readme.indexOf('\n## ', start + 1);
  const updated =
    start < 0
      ? `${readme.trimEnd()}\n\n${section}`
      : `${readme.slice(0, start + 1)}${section}${next < 0 ? '' : `\n${readme.slice(next + 1)}`}`;
  writeFileSync('bench/README.md', updated);
}

/** A two-column Markdown table (what, figure) of `rows`, the columns padded to line up. */
export function figureTable(rows) {
  const width = Math.max('what'.length, ...rows.map((row) => row[0].length));
  const figure = Math.max('figure'.length, ...rows.map((row) => row[1].length));
  return [
    `| ${'what'.padEnd(width)} | ${'figure'.padEnd(figure)} |`,
    `| ${'-'.repeat(width)} | ${'-'.repeat(figure)} |`,
    ...rows.map(([what, fig]) => `| ${what.padEnd(width)} | ${fig.padEnd(figure)} |`),
  ].join('\n');
}
