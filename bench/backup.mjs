#!/usr/bin/env node
// Backup figures (issue: backup): `lifeboat mkbackuponly` (NETFS, file://) against a plain
// `tar -c | zstd -T0` of the same tree, and lifeboat's restore (verify + restore, the method the
// recover workflow calls) against a plain `zstd -d | tar -x`, on the Debian fixture root, in the
// same run. Prints a Markdown table and writes it into bench/README.md's backup section.
//
// usage: npm run bench:backup   (needs the Debian fixture root: ci/setup)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { figureTable, importFromSource, median, timed, writeReadmeSection } from './lib.mjs';

const RUNS = 3;
const root = (await execa('ci/fixtures/debian-root', ['host'])).stdout.trim();
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-backup-'));

// The method itself, bundled from src/.
const { netfsMethod, loadConfig, MemoryLog } = await importFromSource('backup-method', [
  "export { netfsMethod } from './src/backup/netfs.ts';",
  "export { loadConfig } from './src/config/load.ts';",
  "export { MemoryLog } from './src/log/log.ts';",
]);

const treeBytes = Number(
  (await execa('du', ['-sb', '--apparent-size', root])).stdout.split('\t')[0],
);

// lifeboat: mkbackuponly, the whole command (configuration, prep, archive, listing, retention).
const dest = join(work, 'dest');
const sets = [
  '--set',
  `paths.logDir=${work}/log`,
  '--set',
  `paths.workDir=${work}/work`,
  '--set',
  'backup.method=netfs',
  '--set',
  `backup.url=file://${dest}`,
  '--set',
  'backup.keep=0',
  // The same tree as the plain pipeline: no excludes (the default leaves out apt's .debs).
  '--set',
  'backup.exclude=[]',
];
const lifeboatBackup = [];
for (let i = 0; i < RUNS; i++) {
  lifeboatBackup.push(
    await timed(() =>
      execa('node', ['dist/lifeboat.mjs', 'mkbackuponly', '--root', root, '--quiet', ...sets]),
    ),
  );
}

// Plain: the same tree, tar to zstd to a file, the same zstd settings.
const plainFile = join(work, 'plain.tar.zst');
const plainBackup = [];
for (let i = 0; i < RUNS; i++) {
  plainBackup.push(
    await timed(() =>
      execa('sh', [
        '-c',
        'tar -c -f - -C "$1" --one-file-system . | zstd -3 -T0 -q -c >"$2"',
        'sh',
        root,
        plainFile,
      ]),
    ),
  );
}

const empty = mkdtempSync(join(work, 'cfg-'));
const { config } = await loadConfig({
  configDir: empty,
  cwd: empty,
  env: {},
  sets: ['backup.method=netfs', `backup.url=file://${dest}`, 'backup.exclude=[]'],
});
const hostname = readFileSync(join(root, 'etc', 'hostname'), 'utf8')
  .trim()
  .split('.')[0];
const log = new MemoryLog();
const lifeboatVerify = [];
const lifeboatRestore = [];
const plainRestore = [];
let verified;
// Interleaved, each after a sync: the previous run's dirty pages are not the next one's cost.
const sync = () => execa('sync');
for (let i = 0; i < RUNS; i++) {
  await sync();
  lifeboatVerify.push(
    await timed(async () => {
      verified = await netfsMethod.verify({ config, log, hostname });
    }),
  );
  const target = join(work, `restore-${i}`);
  await sync();
  lifeboatRestore.push(
    await timed(() => netfsMethod.restore({ config, log, backup: verified, target })),
  );
  rmSync(target, { recursive: true, force: true });
  const plainTarget = join(work, `plain-${i}`);
  mkdirSync(plainTarget);
  await sync();
  plainRestore.push(
    await timed(() =>
      execa('sh', ['-c', 'zstd -d -q -c "$1" | tar -x -f - -C "$2"', 'sh', plainFile, plainTarget]),
    ),
  );
  rmSync(plainTarget, { recursive: true, force: true });
}

const archiveBytes = verified.manifest.archive.bytes;
const plainBytes = statSync(plainFile).size;
const mb = (bytes) => bytes / 1e6;
const rate = (seconds) => `${(mb(treeBytes) / seconds).toFixed(0)} MB/s`;
const s = (seconds) => `${seconds.toFixed(2)} s`;
const b = median(lifeboatBackup);
const p = median(plainBackup);
const v = median(lifeboatVerify);
const r = median(lifeboatRestore);
const pr = median(plainRestore);
const rows = [
  [
    'tree (apparent size)',
    `${mb(treeBytes).toFixed(0)} MB, ${verified.manifest.listing.entries} entries`,
  ],
  ['`lifeboat mkbackuponly` (whole command)', `${s(b)}, ${rate(b)}`],
  ['`tar -c \\| zstd -3 -T0` (plain)', `${s(p)}, ${rate(p)}`],
  ['ratio lifeboat / plain, backup', `${(b / p).toFixed(2)}×`],
  [
    'archive: lifeboat / plain',
    `${mb(archiveBytes).toFixed(1)} MB / ${mb(plainBytes).toFixed(1)} MB (compression ratio ${(treeBytes / archiveBytes).toFixed(2)} / ${(treeBytes / plainBytes).toFixed(2)})`,
  ],
  ['lifeboat verify (sha256 + `tar -t`)', `${s(v)}, ${rate(v)}`],
  ['lifeboat restore (method.restore)', `${s(r)}, ${rate(r)}`],
  ['`zstd -d \\| tar -x` (plain)', `${s(pr)}, ${rate(pr)}`],
  ['ratio lifeboat / plain, restore', `${(r / pr).toFixed(2)}×`],
];
const date = new Date().toISOString().slice(0, 10);
const table = [
  `Machine: ${(await execa('nproc')).stdout} cores, Node ${process.version}. Tree: the Debian fixture root (${root.split('/').at(-1)}), to file:// on the same disk. Median of ${RUNS} runs; MB/s of the tree's apparent size.`,
  '',
  figureTable(rows),
].join('\n');
console.log(table);

// bench/README.md: the backup section replaced (or added at the end).
writeReadmeSection(
  '## Backup (',
  `## Backup (${date})\n\n${table}\n\nlifeboat's backup adds, on top of the plain pipeline: xattrs, ACLs and sparse files, the\nlisting (tar --index-file), a sha256 computed in Node on the way to the destination, backup.json,\nretention, and the CLI's own start-up and configuration. Its restore adds the sha256 pass.\n`,
);
rmSync(work, { recursive: true, force: true });
