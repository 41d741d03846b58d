#!/usr/bin/env node
// Layout figures (issue: disk layout): for each scenario of test/layout/scenarios.ts, the time
// `lifeboat savelayout` takes to capture the layout and the time `lifeboat layoutonly
// --unattended` takes to recreate and mount it, both measured inside the rescue system under
// QEMU (TCG, so slower than on hardware) by the layout round-trip test; and the time to generate
// the recreate script for the largest scenario's layout, measured here on the host.
//
// usage: npm run bench:layout   (about 10 minutes: it runs test/layout/layout-recreate.test.ts)
//        node bench/layout.mjs --from DIR   the figures of a test run made earlier with
//                                           LIFEBOAT_BENCH_OUT=DIR (a whole suite run, say)
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';

const from = process.argv[2] === '--from' ? process.argv[3] : undefined;
const work = from ?? mkdtempSync(join(tmpdir(), 'lifeboat-bench-layout-'));
if (from === undefined) {
  const run = await execa(
    'npx',
    ['vitest', 'run', 'test/layout/layout-recreate.test.ts', '-t', 'capture, zero, recreate'],
    { env: { LIFEBOAT_BENCH_OUT: work }, reject: false, all: true },
  );
  if (
    run.exitCode !== 0 ||
    /[1-9]\d* skipped/.test(run.all ?? '') ||
    !existsSync(join(work, 'timings.jsonl'))
  ) {
    console.error(run.all?.slice(-4000));
    throw new Error('the layout round-trip test failed or was skipped: no figures');
  }
}
const timings = readFileSync(join(work, 'timings.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line));

// The largest scenario: the layout.json with the most components, i.e. the biggest file.
const layouts = readdirSync(work).filter((name) => name.endsWith('.json'));
const generator = mkdtempSync(join(tmpdir(), 'lifeboat-bench-layout-'));
const largest = layouts
  .map((name) => ({ name, size: statSync(join(work, name)).size }))
  .sort((a, b) => b.size - a.size)[0];
const layout = JSON.parse(readFileSync(join(work, largest.name), 'utf8'));

// recreateScript is TypeScript: bundle it for this process.
await build({
  entryPoints: ['src/layout/recreate.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: join(generator, 'recreate.mjs'),
  logLevel: 'warning',
});
const { recreateScript, mountScript } = await import(join(generator, 'recreate.mjs'));
const RUNS = 200;
const samples = [];
for (let i = 0; i < RUNS; i++) {
  const started = process.hrtime.bigint();
  recreateScript(layout, { exclude: [] });
  mountScript(layout, '/mnt/local');
  samples.push(Number(process.hrtime.bigint() - started) / 1e6);
}
samples.sort((a, b) => a - b);
const median = samples[Math.floor(RUNS / 2)];

const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
console.log(`Machine: ${(await execa('nproc')).stdout} cores, Node ${process.version}.\n`);
console.log('| scenario | savelayout (capture) | layoutonly (recreate + mount) |');
console.log('| --- | --- | --- |');
for (const t of timings) console.log(`| ${t.scenario} | ${s(t.savelayout)} | ${s(t.layoutonly)} |`);
console.log(
  `\nRecreate + mount script generation for the largest layout (${largest.name}): median ${median.toFixed(2)} ms of ${RUNS} runs.`,
);
rmSync(generator, { recursive: true, force: true });
if (from === undefined) rmSync(work, { recursive: true, force: true });
