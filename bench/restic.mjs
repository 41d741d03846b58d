#!/usr/bin/env node
// restic method figures (issue: backup methods): `lifeboat mkbackuponly` with backup.method
// restic into a repository in a directory, against a plain `restic backup` of the same tree into
// a repository of its own, first backup and an unchanged second one; and lifeboat's verify and
// restore (the method the recover workflow calls) against a plain `restic restore`, in the same
// run, alternating. Prints a Markdown table and writes it into bench/README.md's restic section.
//
// usage: npm run bench:restic   (needs the Debian fixture root and restic: ci/setup)
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { figureTable, importFromSource, median, timed, writeReadmeSection } from './lib.mjs';

const RUNS = 3;
const PASSWORD = 'bench-password';
const root = (await execa('ci/fixtures/debian-root', ['host'])).stdout.trim();
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-restic-'));

const { resticMethod, loadConfig, MemoryLog } = await importFromSource('restic-method', [
  "export { resticMethod } from './src/backup/restic.ts';",
  "export { loadConfig } from './src/config/load.ts';",
  "export { MemoryLog } from './src/log/log.ts';",
]);

const sync = () => execa('sync');
const treeBytes = Number(
  (await execa('du', ['-sb', '--apparent-size', root])).stdout.split('\t')[0],
);
const lbRepo = join(work, 'repo-lifeboat');
const plainRepo = join(work, 'repo-plain');
// restic's cache, one for each side, each kept between runs as a user's would be.
const env = (cache) => ({ RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: join(work, cache) });
const SETS = [
  'backup.method=restic',
  `backup.url=file://${lbRepo}`,
  `backup.encryptionKey=${PASSWORD}`,
  'backup.keep=1',
  // The same tree as the plain backup: no excludes (the default leaves out apt's .debs).
  'backup.exclude=[]',
];
const lifeboat = () =>
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
    ...SETS.flatMap((set) => ['--set', set]),
  ]);
// What the method amounts to, as a person would type it.
const plain = () =>
  execa('restic', ['--repo', plainRepo, 'backup', '--one-file-system', '--quiet', '.'], {
    cwd: root,
    env: env('cache-plain'),
  });

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
  rmSync(lbRepo, { recursive: true, force: true });
  rmSync(plainRepo, { recursive: true, force: true });
  await execa('restic', ['--repo', plainRepo, 'init', '--quiet'], { env: env('cache-plain') });
  // Which goes first alternates: the second reads a tree the first has just brought into the
  // page cache. lifeboat's first backup makes its repository (restic init) as part of the command.
  const pair = async (a, b) => {
    const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
    await sync();
    await first();
    await sync();
    await second();
  };
  await pair(
    async () => figures.first.push(await timed(lifeboat)),
    async () => figures.firstPlain.push(await timed(plain)),
  );
  await pair(
    async () => figures.again.push(await timed(lifeboat)),
    async () => figures.againPlain.push(await timed(plain)),
  );

  const empty = mkdtempSync(join(work, 'cfg-'));
  const { config } = await loadConfig({
    configDir: empty,
    cwd: empty,
    env: {},
    sets: [...SETS, `paths.workDir=${work}/work`],
  });
  await sync();
  figures.verify.push(
    await timed(async () => {
      verified = await resticMethod.verify({ config, log, hostname });
    }),
  );
  const target = join(work, `restore-${i}`);
  mkdirSync(target);
  await sync();
  figures.restore.push(
    await timed(() => resticMethod.restore({ config, log, backup: verified, target })),
  );
  rmSync(target, { recursive: true, force: true });
  const plainTarget = join(work, `plain-${i}`);
  await sync();
  figures.restorePlain.push(
    await timed(() =>
      execa('restic', ['--repo', plainRepo, 'restore', 'latest', '--target', plainTarget], {
        env: env('cache-plain'),
      }),
    ),
  );
  rmSync(plainTarget, { recursive: true, force: true });
}

const mb = (bytes) => bytes / 1e6;
const s = (seconds) => `${seconds.toFixed(2)} s`;
const rate = (seconds) => `${(mb(treeBytes) / seconds).toFixed(0)} MB/s`;
const m = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, median(v)]));
const rows = [
  ['tree (apparent size)', `${mb(treeBytes).toFixed(0)} MB`],
  ['`lifeboat mkbackuponly`, first backup (whole command)', `${s(m.first)}, ${rate(m.first)}`],
  ['plain `restic backup`, first backup', `${s(m.firstPlain)}, ${rate(m.firstPlain)}`],
  ['ratio lifeboat / plain, first', `${(m.first / m.firstPlain).toFixed(2)}×`],
  ['`lifeboat mkbackuponly`, nothing changed', s(m.again)],
  ['plain `restic backup`, nothing changed', s(m.againPlain)],
  ['ratio lifeboat / plain, nothing changed', `${(m.again / m.againPlain).toFixed(2)}×`],
  ['lifeboat verify (snapshots, restic check)', s(m.verify)],
  ['lifeboat restore (method.restore, --verify)', `${s(m.restore)}, ${rate(m.restore)}`],
  ['plain `restic restore latest`', `${s(m.restorePlain)}, ${rate(m.restorePlain)}`],
  ['ratio lifeboat / plain, restore', `${(m.restore / m.restorePlain).toFixed(2)}×`],
];
const date = new Date().toISOString().slice(0, 10);
const version = (await execa('restic', ['version'])).stdout.split(' ')[1];
const table = [
  `Machine: ${(await execa('nproc')).stdout} cores, Node ${process.version}, restic ${version}. Tree: the Debian fixture root (${root.split('/').at(-1)}), one file system, into repositories in a directory on the same disk. Median of ${RUNS} runs, which side goes first alternating; MB/s of the tree's apparent size.`,
  '',
  figureTable(rows),
].join('\n');
console.log(table);

writeReadmeSection(
  '## Backup method restic',
  `## Backup method restic (${date})\n\n${table}\n\nlifeboat's backup adds, on top of the plain one: the mkbackuponly workflow's prep (the layout of the\nroot, the checks), opening the repository (restic cat config), listing the host's snapshots for\nthe new id (restic opens the repository anew each run: its key derivation alone is most of a\nsecond), and the CLI's own start-up; forget --prune runs only when backup.keep has something to\ndrop (not in these runs).\nIts restore adds --verify, which reads every restored file back: the price of knowing the restore\nis what was backed up.\n`,
);
rmSync(work, { recursive: true, force: true });
