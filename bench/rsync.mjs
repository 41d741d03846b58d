#!/usr/bin/env node
// rsync method figures (issue: backup methods): `lifeboat mkbackuponly` with backup.method rsync
// to an rsync daemon on loopback, against a plain `rsync -aHAX --numeric-ids --sparse` of the
// same tree to the same daemon, first copy and an unchanged second one; and lifeboat's verify and
// restore (the method the recover workflow calls) against a plain rsync back, in the same run,
// alternating. Prints a Markdown table and writes it into bench/README.md's rsync section.
//
// usage: npm run bench:rsync   (needs the Debian fixture root and rsync: ci/setup)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';

const RUNS = 3;
const root = (await execa('ci/fixtures/debian-root', ['host'])).stdout.trim();
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-rsync-'));

// The daemon: one module, no password (the password costs nothing measurable; the test has one).
const port = await new Promise((resolve) => {
  const server = createServer();
  server.listen(0, '127.0.0.1', () => {
    const { port: free } = server.address();
    server.close(() => resolve(free));
  });
});
const moduleDir = join(work, 'module');
mkdirSync(moduleDir);
writeFileSync(
  join(work, 'rsyncd.conf'),
  `use chroot = no\nuid = root\ngid = root\n[bench]\npath = ${moduleDir}\nread only = no\n`,
);
const daemon = spawn(
  'rsync',
  [
    '--daemon',
    '--no-detach',
    `--config=${join(work, 'rsyncd.conf')}`,
    '--address=127.0.0.1',
    `--port=${port}`,
  ],
  { stdio: 'ignore' },
);
await new Promise((resolve) => setTimeout(resolve, 1000));

const methodBundle = join(process.cwd(), 'dist', 'bench', 'rsync-method.mjs');
await build({
  stdin: {
    contents: [
      "export { rsyncMethod } from './src/backup/rsync.ts';",
      "export { loadConfig } from './src/config/load.ts';",
      "export { MemoryLog } from './src/log/log.ts';",
    ].join('\n'),
    resolveDir: process.cwd(),
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  outfile: methodBundle,
  logLevel: 'warning',
});
const { rsyncMethod, loadConfig, MemoryLog } = await import(methodBundle);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}
const sync = () => execa('sync');
const treeBytes = Number(
  (await execa('du', ['-sb', '--apparent-size', root])).stdout.split('\t')[0],
);
const url = (name) => `rsync://127.0.0.1:${port}::/bench/${name}`;
const lifeboat = (name) =>
  execa('node', [
    'dist/lifeboat.mjs',
    'mkbackuponly',
    '--root',
    root,
    '--quiet',
    '--set',
    `paths.logDir=${work}/log`,
    '--set',
    `paths.workDir=${work}/work`,
    '--set',
    'backup.method=rsync',
    '--set',
    `backup.url=${url(name)}`,
    '--set',
    'backup.keep=1',
    // The same tree as the plain copy: no excludes (the default leaves out apt's .debs).
    '--set',
    'backup.exclude=[]',
  ]);
// What the method's options amount to, as a person would type them.
const PLAIN = ['-aHAX', '--numeric-ids', '--sparse', '--one-file-system'];
const plain = (name) =>
  execa('rsync', [...PLAIN, `${root}/`, `rsync://127.0.0.1:${port}/bench/${name}/`]);

const figures = {
  first: [],
  firstPlain: [],
  again: [],
  againPlain: [],
  verify: [],
  restore: [],
  restorePlain: [],
};
const hostname = readFileSync(join(root, 'etc', 'hostname'), 'utf8')
  .trim()
  .split('.')[0];
const log = new MemoryLog();
let verified;
for (let i = 0; i < RUNS; i++) {
  rmSync(moduleDir, { recursive: true, force: true });
  mkdirSync(moduleDir);
  await sync();
  figures.first.push(await timed(() => lifeboat('lb')));
  await sync();
  figures.firstPlain.push(await timed(() => plain('plain')));
  await sync();
  // Nothing changed: lifeboat makes a new backup of links, plain rsync updates its one tree.
  figures.again.push(await timed(() => lifeboat('lb')));
  await sync();
  figures.againPlain.push(await timed(() => plain('plain')));

  const empty = mkdtempSync(join(work, 'cfg-'));
  const { config } = await loadConfig({
    configDir: empty,
    cwd: empty,
    env: {},
    sets: ['backup.method=rsync', `backup.url=${url('lb')}`],
  });
  await sync();
  figures.verify.push(
    await timed(async () => {
      verified = await rsyncMethod.verify({ config, log, hostname });
    }),
  );
  const target = join(work, `restore-${i}`);
  mkdirSync(target);
  await sync();
  figures.restore.push(
    await timed(() => rsyncMethod.restore({ config, log, backup: verified, target })),
  );
  rmSync(target, { recursive: true, force: true });
  const plainTarget = join(work, `plain-${i}`);
  mkdirSync(plainTarget);
  await sync();
  figures.restorePlain.push(
    await timed(() =>
      execa('rsync', [...PLAIN, `rsync://127.0.0.1:${port}/bench/plain/`, `${plainTarget}/`]),
    ),
  );
  rmSync(plainTarget, { recursive: true, force: true });
}
daemon.kill('SIGTERM');

const mb = (bytes) => bytes / 1e6;
const s = (seconds) => `${seconds.toFixed(2)} s`;
const rate = (seconds) => `${(mb(treeBytes) / seconds).toFixed(0)} MB/s`;
const m = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, median(v)]));
const rows = [
  [
    'tree (apparent size)',
    `${mb(treeBytes).toFixed(0)} MB, ${verified.details.tree.entries} entries`,
  ],
  ['`lifeboat mkbackuponly`, first backup (whole command)', `${s(m.first)}, ${rate(m.first)}`],
  ['plain `rsync -aHAX`, first copy', `${s(m.firstPlain)}, ${rate(m.firstPlain)}`],
  ['ratio lifeboat / plain, first', `${(m.first / m.firstPlain).toFixed(2)}×`],
  ['`lifeboat mkbackuponly`, nothing changed (a new backup of links)', s(m.again)],
  ['plain `rsync -aHAX`, nothing changed (the same tree updated)', s(m.againPlain)],
  ['ratio lifeboat / plain, nothing changed', `${(m.again / m.againPlain).toFixed(2)}×`],
  ['lifeboat verify (listing digest)', s(m.verify)],
  ['lifeboat restore (method.restore)', `${s(m.restore)}, ${rate(m.restore)}`],
  ['plain `rsync -aHAX` back', `${s(m.restorePlain)}, ${rate(m.restorePlain)}`],
  ['ratio lifeboat / plain, restore', `${(m.restore / m.restorePlain).toFixed(2)}×`],
];
const width = Math.max(...rows.map((row) => row[0].length));
const figure = Math.max(...rows.map((row) => row[1].length));
const date = new Date().toISOString().slice(0, 10);
const table = [
  `Machine: ${(await execa('nproc')).stdout} cores, Node ${process.version}, rsync ${(await execa('rsync', ['--version'])).stdout.split('\n')[0].split(/\s+/)[2]}. Tree: the Debian fixture root (${root.split('/').at(-1)}), to an rsync daemon on 127.0.0.1 on the same disk. Median of ${RUNS} runs, alternating; MB/s of the tree's apparent size.`,
  '',
  `| ${'what'.padEnd(width)} | ${'figure'.padEnd(figure)} |`,
  `| ${'-'.repeat(width)} | ${'-'.repeat(figure)} |`,
  ...rows.map(([what, fig]) => `| ${what.padEnd(width)} | ${fig.padEnd(figure)} |`),
].join('\n');
console.log(table);

const readme = readFileSync('bench/README.md', 'utf8');
const section = `## Backup method rsync (${date})\n\n${table}\n\nlifeboat's backup adds, on top of the plain copy: the listing of the backups before it, the\n--link-dest against the newest one, a listing of the new tree for its digest, backup.json,\nretention, and the CLI's own start-up. Its restore is one rsync with the same options.\n"Nothing changed" is not like for like: lifeboat's second backup is a new directory\nof hard links (a snapshot the first one survives), plain rsync updates its one tree in place.\nThe restores read trees the run wrote moments before, from the page cache: their ratio is\nmostly which one found more of it there.\n`;
const start = readme.indexOf('\n## Backup method rsync');
const next = start < 0 ? -1 : readme.indexOf('\n## ', start + 1);
const updated =
  start < 0
    ? `${readme.trimEnd()}\n\n${section}`
    : `${readme.slice(0, start + 1)}${section}${next < 0 ? '' : `\n${readme.slice(next + 1)}`}`;
writeFileSync('bench/README.md', updated);
rmSync(work, { recursive: true, force: true });
