#!/usr/bin/env node
// Initramfs writer figures: lifeboat's tar → newc writer with in-process gzip against dracut's
// way, `find . -print0 | LC_ALL=C sort -z | cpio -o -H newc --null --reproducible -R 0:0 |
// gzip -n -9`, on the same tree (the Debian fixture root, or a subtree of it). One run each; both
// write to a file in a temporary directory. lifeboat's input is `tar -C TREE -c .`, standing for
// Docker's getArchive of the rescue root, and is timed with it.
//
// The writer is bundled from src/ by esbuild here (no entry in ci/build.mjs needed).
//
// usage: node bench/cpio.mjs [SUBTREE]   e.g. `node bench/cpio.mjs usr`; default: the whole root
//        (needs the Debian fixture root: ci/fixtures/debian-root host; run as root to read it all)
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { execa } from 'execa';

const project = resolve(import.meta.dirname, '..');
const root = (await execa(join(project, 'ci/fixtures/debian-root'), ['host'])).stdout.trim();
const subtree = process.argv[2] ?? '.';
const tree = resolve(root, subtree);
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-cpio-'));

// Everything bundled (npm packages too: the bundle lives outside the project's node_modules);
// tar-stream is CommonJS and calls require('fs'), hence the require shim.
const bundle = join(work, 'bench-cpio.mjs');
await build({
  stdin: {
    contents:
      "export * from './src/initrd/cpio.ts';\nexport { createGzipCompressor } from './src/initrd/compress.ts';\n",
    resolveDir: project,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: bundle,
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
const { tarToNewc, createGzipCompressor } = await import(pathToFileURL(bundle).href);

async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function sha256(path) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** lifeboat: GNU tar's stream of the tree → tarToNewc (→ gzip) → file. */
async function lifeboat(out, { gzip, firstInode }) {
  const tar = execa('tar', ['-C', tree, '-c', '.'], { encoding: 'buffer', buffer: false });
  const stages = [tarToNewc(tar.stdout, { firstInode })];
  if (gzip) stages.push(createGzipCompressor());
  await Promise.all([pipeline(...stages, createWriteStream(out)), tar]);
}

/** dracut's pipeline (→ gzip -n -9) → file. */
async function dracut(out, { gzip }) {
  // Streamed through: execa would otherwise also collect every stage's output.
  const streamed = { encoding: 'buffer', buffer: false };
  let last = execa('find', ['.', '-print0'], { cwd: tree, ...streamed })
    .pipe('sort', ['-z'], { env: { LC_ALL: 'C' }, ...streamed })
    .pipe('cpio', ['-o', '-H', 'newc', '--null', '--reproducible', '-R', '0:0', '--quiet'], {
      cwd: tree,
      ...streamed,
      ...(gzip ? {} : { stdout: { file: out } }),
    });
  if (gzip) last = last.pipe('gzip', ['-n', '-9'], { ...streamed, stdout: { file: out } });
  await last;
}

/** name → sha256 of the record (header with the name, data), to compare archives out of order. */
function records(path) {
  const archive = readFileSync(path);
  const out = new Map();
  const field = (at, i) =>
    Number.parseInt(archive.toString('latin1', at + 6 + i * 8, at + 14 + i * 8), 16);
  for (let at = 0; ; ) {
    const nameSize = field(at, 11);
    const fileSize = field(at, 6);
    const name = archive.toString('latin1', at + 110, at + 110 + nameSize - 1);
    if (name === 'TRAILER!!!') return out;
    const dataAt = at + 110 + nameSize + ((4 - ((110 + nameSize) % 4)) % 4);
    const end = dataAt + fileSize + ((4 - (fileSize % 4)) % 4);
    out.set(name, createHash('sha256').update(archive.subarray(at, end)).digest('hex'));
    at = end;
  }
}

function sameRecords(a, b) {
  if (a.size !== b.size) return false;
  for (const [name, hash] of a) if (b.get(name) !== hash) return false;
  return true;
}

const runs = [];
for (const [name, fn, options] of [
  ['lifeboat: tar → newc', lifeboat, { gzip: false, firstInode: 0 }],
  ['dracut: find \\| sort \\| cpio', dracut, { gzip: false }],
  ['lifeboat: tar → newc → gzip -9 (zlib)', lifeboat, { gzip: true }],
  ['dracut: find \\| sort \\| cpio \\| gzip -n -9', dracut, { gzip: true }],
]) {
  const out = join(work, `${runs.length}.out`);
  const seconds = await timed(() => fn(out, options));
  runs.push({ name, seconds, bytes: statSync(out).size, sha: await sha256(out), out });
}
// Before the comparison below reads whole archives into memory.
const { maxRSS } = process.resourceUsage();
const [ourCpio, theirCpio, ourGzip, theirGzip] = runs;
const equivalent = sameRecords(records(ourCpio.out), records(theirCpio.out));
const du = (await execa('du', ['-sb', tree])).stdout.split('\t')[0];
const files = (await execa('find', ['.', '-xdev'], { cwd: tree })).stdout.split('\n').length;
const hardlinked = (await execa('find', ['.', '-type', 'f', '-links', '+1'], { cwd: tree })).stdout
  .split('\n')
  .filter(Boolean).length;

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const lines = [
  `## Initramfs writer (${new Date().toISOString().slice(0, 10)})`,
  '',
  `Machine: ${(await execa('nproc')).stdout} cores, Node ${process.version}, zlib ${process.versions.zlib}. Tree: Debian bookworm fixture (${root.split('/').at(-1)}), \`${subtree}\`: ${files} entries, ${mib(Number(du))}. One run each.`,
  '',
  '| pipeline | time | output |',
  '| --- | --- | --- |',
  ...runs.map((r) => `| ${r.name} | ${r.seconds.toFixed(2)} s | ${mib(r.bytes)} (${r.bytes} B) |`),
  `| ratio dracut / lifeboat, newc only | ${(theirCpio.seconds / ourCpio.seconds).toFixed(2)}× | |`,
  `| ratio dracut / lifeboat, with gzip | ${(theirGzip.seconds / ourGzip.seconds).toFixed(2)}× | ${(ourGzip.bytes / theirGzip.bytes).toFixed(3)} size lifeboat / dracut |`,
  '',
  `Uncompressed archives (lifeboat with firstInode 0, as GNU cpio numbers from 0): byte-identical: ${ourCpio.sha === theirCpio.sha ? 'yes' : 'no'}; the same records, each byte for byte, in another order: ${equivalent ? 'yes' : 'NO'} (GNU cpio moves the earlier names of a hardlinked file next to its last; ${hardlinked} files here have more than one name).`,
  '',
  `Peak RSS of the bench process (lifeboat's runs; up to 64 MiB of file bodies held in memory, the rest spilled to a temporary file): ${mib(maxRSS * 1024)}.`,
  '',
];
process.stdout.write(lines.join('\n'));
rmSync(work, { recursive: true, force: true });
