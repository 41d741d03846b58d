#!/usr/bin/env node
// rsync method figures (issue: backup methods): `lifeboat mkbackuponly` with backup.method rsync
// to an rsync daemon on loopback, against a plain `rsync -aHAX --numeric-ids --sparse` of the
// same tree to the same daemon, first copy and an unchanged second one; and lifeboat's verify and
// restore (the method the recover workflow calls) against a plain rsync back, in the same run,
// alternating. Prints a Markdown table and writes it into bench/README.md's rsync section.
//
// usage: npm run bench:rsync   (needs the Debian fixture root and rsync: ci/setup)
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { figureTable, importFromSource, median, timed, writeReadmeSection } from './lib.mjs';

const RUNS = 3;
const root = (await execa('ci/fixtures/debian-root', ['host'])).stdout.trim();
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-rsync-'));

// The method and the tests' rsync daemon (one writable module, `backups`), bundled from source.
const { rsyncMethod, loadConfig, MemoryLog, startRsyncd } = await importFromSource('rsync-method', [
  "export { rsyncMethod } from './src/backup/rsync.ts';",
  "export { loadConfig } from './src/config/load.ts';",
  "export { MemoryLog } from './src/log/log.ts';",
  "export { startRsyncd } from './test/support/rsyncd.ts';",
]);
const PASSWORD = 'bench-password';
const daemon = await startRsyncd(join(work, 'rsyncd'), PASSWORD);
const moduleDir = daemon.dir;
const port = daemon.port;

const sync = () => execa('sync');
const treeBytes = Number(
  (await execa('du', ['-sb', '--apparent-size', root])).stdout.split('\t')[0],
);
const url = (name) => `rsync://lifeboat:${PASSWORD}@127.0.0.1:${port}::/backups/${name}`;
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
  execa('rsync', [...PLAIN, `${root}/`, `rsync://lifeboat@127.0.0.1:${port}/backups/${name}/`], {
    env: { RSYNC_PASSWORD: PASSWORD },
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
      execa(
        'rsync',
        [...PLAIN, `rsync://lifeboat@127.0.0.1:${port}/backups/plain/`, `${plainTarget}/`],
        {
          env: { RSYNC_PASSWORD: PASSWORD },
        },
      ),
    ),
  );
  rmSync(plainTarget, { recursive: true, force: true });
}
daemon.stop();

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
const date = new Date().toISOString().slice(0, 10);
const table = [
  `Machine: ${(await execa('nproc')).stdout} cores, Node ${process.version}, rsync ${(await execa('rsync', ['--version'])).stdout.split('\n')[0].split(/\s+/)[2]}. Tree: the Debian fixture root (${root.split('/').at(-1)}), to an rsync daemon on 127.0.0.1 on the same disk. Median of ${RUNS} runs, alternating; MB/s of the tree's apparent size.`,
  '',
  figureTable(rows),
].join('\n');
console.log(table);

writeReadmeSection(
  '## Backup method rsync',
  `## Backup method rsync (${date})\n\n${table}\n\nlifeboat's backup adds, on top of the plain copy: the listing of the backups before it, the\n--link-dest against the newest one, a listing of the new tree for its digest, backup.json,\nretention, and the CLI's own start-up. Its restore is one rsync with the same options.\n"Nothing changed" is not like for like: lifeboat's second backup is a new directory\nof hard links (a snapshot the first one survives), plain rsync updates its one tree in place.\nThe restores read trees the run wrote moments before, from the page cache: their ratio is\nmostly which one found more of it there.\n`,
);
rmSync(work, { recursive: true, force: true });
