#!/usr/bin/env node
// Build figures (issue: build): a cold build of the example root's capture (builder image
// present, nothing built from these inputs yet), a warm rebuild with unchanged inputs (lifeboat
// finds the output current), initrd and ISO sizes, and the ISO's boot to the rescue system's
// ready line in QEMU (BIOS CD, TCG). ReaR 2.7's figures on this machine kind are in
// shared/RESEARCH.md (49 s, a 76 MB ISO that differs on every run); ReaR is not run here.
//
// usage: npm run bench:build   (needs the Debian fixture root and a Docker engine: ci/setup)
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

const RUNS = 3;
const root = (await execa('ci/fixtures/debian-root', ['host'])).stdout.trim();
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-build-'));
const sets = ['--set', `paths.logDir=${work}/log`, '--set', `paths.workDir=${work}/work`];
const cli = (args) => execa('node', ['dist/lifeboat.mjs', ...args, '--quiet', ...sets]);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const capture = join(work, 'capture');
await cli(['capture', '--root', root, '--out', capture]);
const out = join(work, 'out');
const build = (force) =>
  cli(['build', '--capture', capture, '--out', out, ...(force ? ['--force'] : [])]);

const cold = [];
const warm = [];
const isoHashes = new Set();
const readManifest = () => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
for (let i = 0; i < RUNS; i++) {
  cold.push(await timed(() => build(true)));
  isoHashes.add(readManifest().artifacts.find((a) => a.name === 'lifeboat.iso').sha256);
  warm.push(await timed(() => build(false)));
}
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

// The initrd alone (RAMDISK output), for its size.
const ramdisk = join(work, 'ramdisk');
await cli(['build', '--capture', capture, '--out', ramdisk, '--set', 'output.methods=[ramdisk]']);

// Boot to ready: the CLI's own --boot-test prints the time.
const booted = await execa(
  'node',
  ['dist/lifeboat.mjs', 'build', '--capture', capture, '--out', out, '--boot-test', ...sets],
  { all: true },
);
const ready = /ready in ([\d.]+) s;.*\(after ([\d.]+) s\)/.exec(booted.all)?.slice(1) ?? ['?', '?'];

const rows = [
  [
    'cold build (builder image present), median',
    `${median(cold).toFixed(1)} s (target: under 24.5 s, half of ReaR's 49 s)`,
  ],
  ['warm rebuild, unchanged inputs, median', `${median(warm).toFixed(2)} s (target: under 3 s)`],
  ['ISO', `${mib(statSync(join(out, 'lifeboat.iso')).size)} (ReaR: 76 MB, differs on every run)`],
  ['initrd (zstd -12)', mib(statSync(join(ramdisk, 'initrd.img')).size)],
  ['kernel', mib(statSync(join(ramdisk, 'vmlinuz')).size)],
  [
    'QEMU start to ready, BIOS CD (TCG)',
    `${ready[1]} s (rescue /init: ready ${ready[0]} s after the kernel started)`,
  ],
  [
    'ISO sha256 of the cold builds',
    `${[...isoHashes].map((h) => h.slice(0, 12)).join(', ')} (${isoHashes.size === 1 ? `the same in all ${RUNS}` : 'DIFFERENT'})`,
  ],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(
  `Machine: ${(await execa('nproc')).stdout} cores, Node ${process.version}. ${RUNS} runs each.\n`,
);
console.log(`| ${'what'.padEnd(width)} | figure |`);
console.log(`| ${'-'.repeat(width)} | ------ |`);
for (const [what, figure] of rows) console.log(`| ${what.padEnd(width)} | ${figure} |`);
rmSync(work, { recursive: true, force: true });
