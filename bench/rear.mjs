#!/usr/bin/env node
// ReaR and lifeboat side by side (issue: a lean, fast rescue system), in one run on one machine,
// alternating A B A B so that a drift in the machine's speed hits both:
//
//   ReaR      Debian's rear package (2.7), installed by this script with apt-get into a copy of
//             the example host root, as an administrator would install it on that host; then
//             `rear mkrescue` there (OUTPUT=ISO, BACKUP=NETFS), in a container that stands for the
//             live host. Containers here cannot be privileged, so ReaR sees no disk and no serial
//             port: it is told the bootloader (GRUB2) and that there is no serial console, and
//             its layout is empty; its rescue system is otherwise what it makes for that host.
//   lifeboat  `lifeboat mkrescue --root` of the same example host root, default recipe, the
//             builder image present; then the same for a second host (the drill's root: other
//             packages, same recipe), whose rescue base layer is the first host's, cached.
//
// It prints: mkrescue time (median and the ratio lifeboat/ReaR pair by pair), ISO sizes, whether
// each tool's ISO is the same in every run, the second host's build time and whether the base
// layer was reused. Boot and recovery times come from test/build/rootfs-boot.test.ts and the drill.
//
// usage: npm run bench:rear   (root; a Docker engine and the fixture roots: bash ci/setup)
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

const RUNS = Number(process.env.RUNS ?? 3);
const work = '/var/tmp/lifeboat-bench-rear';
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const hostRoot = (await execa('ci/fixtures/debian-root', ['host'])).stdout.trim();
const secondRoot = (await execa('ci/fixtures/debian-root', ['drill'])).stdout.trim();

// --- ReaR's host: the example host root with Debian's rear installed ---------------------------
const fixtureKey = hostRoot.split('-').pop();
const rearImage = `lifeboat-bench/rear-host:${fixtureKey}`;
const haveImage =
  (await execa('docker', ['image', 'inspect', rearImage], { reject: false })).exitCode === 0;
if (!haveImage) {
  console.error(`bench: making ${rearImage} (the example host root, then apt-get install rear)...`);
  const rootImage = `lifeboat-bench/host-root:${fixtureKey}`;
  // docker import of the root as it is: the same files lifeboat's capture reads.
  const tar = execa('tar', ['-C', hostRoot, '--numeric-owner', '-c', '.'], { buffer: false });
  await execa('docker', ['import', '-', rootImage], { stdin: tar.stdout });
  await tar;
  const context = join(work, 'rear-image');
  mkdirSync(context);
  // Recommends included, as `apt-get install rear` does by default (xorriso, isolinux...); file
  // and less are programs ReaR 2.7 requires without its package depending on them.
  writeFileSync(
    join(context, 'Dockerfile'),
    `FROM ${rootImage}\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y rear file less xorriso isolinux syslinux-common && apt-get clean\n`,
  );
  await execa('docker', ['build', '-q', '-t', rearImage, context]);
}
const kernelVersion = readdirSync(join(hostRoot, 'lib/modules'))[0];
const rearVersion = (
  await execa('docker', ['run', '--rm', rearImage, 'rear', '--version'])
).stdout.trim();

// ReaR's own configuration directory (-c): nothing of the machine's /etc/rear is touched.
const rearConfig = join(work, 'rear-config');
mkdirSync(rearConfig);
writeFileSync(
  join(rearConfig, 'local.conf'),
  [
    'OUTPUT=ISO',
    'OUTPUT_URL=null',
    'ISO_DIR=/out',
    'BACKUP=NETFS',
    'BACKUP_URL=file:///out/backup',
    // The container runs the machine's kernel; the rescue system is for the root's kernel.
    `KERNEL_VERSION=${kernelVersion}`,
    `KERNEL_FILE=/boot/vmlinuz-${kernelVersion}`,
    // What ReaR would detect on a real host: the root has GRUB; the container has no ttyS*.
    'BOOTLOADER=GRUB2',
    'USE_SERIAL_CONSOLE=no',
    '',
  ].join('\n'),
);

async function rearMkrescue(run) {
  const out = join(work, `rear-out-${run}`);
  mkdirSync(join(out, 'backup'), { recursive: true });
  const result = await execa(
    'docker',
    [
      'run',
      '--rm',
      '-v',
      `${rearConfig}:/etc/rear-bench:ro`,
      '-v',
      `${out}:/out`,
      rearImage,
      'rear',
      '-c',
      '/etc/rear-bench',
      'mkrescue',
    ],
    { all: true, reject: false },
  );
  if (result.exitCode !== 0) throw new Error(`rear mkrescue failed:\n${result.all}`);
  const iso = readdirSync(out).find((name) => name.endsWith('.iso'));
  if (!iso) throw new Error(`rear mkrescue wrote no ISO in ${out}:\n${result.all}`);
  return join(out, iso);
}

// --- lifeboat ----------------------------------------------------------------------------------
const sets = ['--set', `paths.logDir=${work}/log`, '--set', `paths.workDir=${work}/work`];
async function lifeboatMkrescue(root, name) {
  const out = join(work, name);
  rmSync(out, { recursive: true, force: true });
  const result = await execa(
    'node',
    ['dist/lifeboat.mjs', 'mkrescue', '--root', root, '--recipe', 'default', '--out', out, ...sets],
    { all: true, reject: false },
  );
  if (result.exitCode !== 0) throw new Error(`lifeboat mkrescue failed:\n${result.all}`);
  return { iso: join(out, 'lifeboat.iso'), log: result.all, out };
}

async function timed(fn) {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, value };
}
async function sha256(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

// The builder image and the base layer of the default recipe exist before the timed runs, as
// they do on any machine that has built once ("builder image present"); the base-layer cache is
// emptied before each cold run below, so that every run builds its base.
await lifeboatMkrescue(hostRoot, 'lifeboat-warmup');
await rearMkrescue('warmup');

const baseCache = join(work, 'work', 'cache', 'initrd-base');
const rear = [];
const lifeboat = [];
const second = [];
for (let run = 0; run < RUNS; run++) {
  const r = await timed(() => rearMkrescue(run));
  rear.push({ seconds: r.seconds, bytes: statSync(r.value).size, sha: await sha256(r.value) });
  rmSync(baseCache, { recursive: true, force: true });
  const l = await timed(() => lifeboatMkrescue(hostRoot, `lifeboat-${run}`));
  lifeboat.push({
    seconds: l.seconds,
    bytes: statSync(l.value.iso).size,
    sha: await sha256(l.value.iso),
  });
  // A second host with the same recipe: the base layer the first one made is reused.
  const s = await timed(() => lifeboatMkrescue(secondRoot, `second-${run}`));
  const manifest = JSON.parse(readFileSync(join(s.value.out, 'manifest.json'), 'utf8'));
  const firstManifest = JSON.parse(readFileSync(join(l.value.out, 'manifest.json'), 'utf8'));
  const base = (m) => m.initrdLayers?.find((layer) => layer.name === 'base')?.sha256;
  second.push({
    seconds: s.seconds,
    reused: base(manifest) !== undefined && base(manifest) === base(firstManifest),
    logSaysReused: /initrd base layer from the cache/.test(s.value.log),
  });
}

const ratios = lifeboat.map((l, i) => l.seconds / rear[i].seconds);
const same = (runs) => (new Set(runs.map((r) => r.sha)).size === 1 ? 'yes' : 'no');
const rows = [
  [
    'mkrescue, cold (median)',
    `${median(rear.map((r) => r.seconds)).toFixed(1)} s`,
    `${median(lifeboat.map((r) => r.seconds)).toFixed(1)} s`,
    `lifeboat/ReaR ${median(ratios).toFixed(2)} (pairs: ${ratios.map((r) => r.toFixed(2)).join(', ')}); target ≤ 0.5`,
  ],
  [
    'ISO',
    mb(median(rear.map((r) => r.bytes))),
    mb(median(lifeboat.map((r) => r.bytes))),
    `lifeboat/ReaR ${(median(lifeboat.map((r) => r.bytes)) / median(rear.map((r) => r.bytes))).toFixed(2)}; target ≤ 0.75`,
  ],
  ['same ISO bytes in every run', same(rear), same(lifeboat), ''],
  [
    'a second host, same recipe (median)',
    '—',
    `${median(second.map((r) => r.seconds)).toFixed(1)} s`,
    `base layer reused: ${second.every((r) => r.reused) ? 'yes' : 'NO'} (manifest digests), log says so: ${second.every((r) => r.logSaysReused) ? 'yes' : 'no'}; target ≤ 3 s`,
  ],
];
console.log(
  `Machine: ${(await execa('nproc')).stdout} cores, Node ${process.version}. ${rearVersion}; ` +
    `lifeboat ${JSON.parse(readFileSync('package.json', 'utf8')).version}. ${RUNS} runs each, alternating.\n`,
);
console.log('| figure | ReaR | lifeboat | comparison |');
console.log('| --- | --- | --- | --- |');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);

// The ISOs and build areas of every run (about 1 GB): the table above is what stays.
rmSync(work, { recursive: true, force: true });
