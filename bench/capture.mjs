#!/usr/bin/env node
// Capture figures (issue: capture): time to capture the example root with the `needed` module
// policy, files and bytes captured per module policy, and lifeboat's library closure against
// ReaR's way of finding libraries (`chroot ROOT ldd PROGRAM` for each program), side by side on
// the same root and programs.
//
// usage: npm run bench:capture   (needs the Debian fixture root: ci/fixtures/debian-root host)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';

const RUNS = 5;
const PROGRAMS = [
  'bash',
  'lvm',
  'mdadm',
  'cryptsetup',
  'mkfs.ext4',
  'sfdisk',
  'ip',
  'ssh',
  'sshd',
  'curl',
  'tar',
  'zstd',
  'rsync',
];
const root = (await execa('ci/fixtures/debian-root', ['host'])).stdout.trim();
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
const cli = (args) =>
  execa('node', ['dist/lifeboat.mjs', ...args, '--quiet', '--set', `paths.logDir=${work}/log`]);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}
const captureArgs = (policy, out) => [
  'capture',
  '--out',
  out,
  '--root',
  root,
  '--set',
  `rescue.requiredPrograms=[${PROGRAMS.join(',')}]`,
  '--set',
  `rescue.modules=${policy}`,
];

// 1. Whole capture (CLI start-up included), `needed` policy.
const captureMs = [];
for (let i = 0; i < RUNS; i++)
  captureMs.push(await timed(() => cli(captureArgs('needed', join(work, `needed-${i}`)))));

// 2. Files and bytes per module policy.
const policies = [];
for (const policy of ['needed', 'all']) {
  const out = join(work, `policy-${policy}`);
  const ms = await timed(() => cli(captureArgs(policy, out)));
  const manifest = JSON.parse(readFileSync(join(out, 'capture.json'), 'utf8'));
  const files = manifest.files.filter((f) => f.type === 'file');
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  policies.push({
    policy,
    ms,
    modules: manifest.kernel.modules.length,
    files: files.length,
    bytes,
  });
}

// 3. Library closure: ReaR's method (ldd per program, in the root) against lifeboat's ELF reader.
const lddMs = [];
for (let i = 0; i < RUNS; i++) {
  lddMs.push(
    await timed(async () => {
      for (const program of PROGRAMS)
        await execa('chroot', [
          root,
          'ldd',
          (await execa('chroot', [root, 'sh', '-c', `command -v ${program}`])).stdout.trim(),
        ]);
    }),
  );
}
// The closure alone, bundled here so that ordinary builds don't pay for the bench.
await build({
  entryPoints: ['src/capture/libraries.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: join(work, 'libraries.mjs'),
  logLevel: 'warning',
});
const { libraryClosure } = await import(join(work, 'libraries.mjs'));
const closureMs = [];
for (let i = 0; i < RUNS; i++) closureMs.push(await timed(() => libraryClosure(root, PROGRAMS)));

const mib = (b) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const lines = [
  `# Capture figures`,
  '',
  `Machine: ${(await execa('nproc')).stdout} cores, Node ${process.version}. Root: Debian bookworm fixture (${root.split('/').at(-1)}), ${PROGRAMS.length} required programs. Median of ${RUNS} runs.`,
  '',
  '| what | figure |',
  '| --- | --- |',
  `| \`lifeboat capture\` with \`needed\` modules (whole command) | ${(median(captureMs) / 1000).toFixed(2)} s (target: under 5 s) |`,
  ...policies.map(
    (p) =>
      `| module policy \`${p.policy}\` | ${p.modules} modules, ${p.files} files, ${mib(p.bytes)}, ${(p.ms / 1000).toFixed(2)} s |`,
  ),
  `| library closure, ReaR's way: \`chroot ROOT ldd\` per program | ${median(lddMs).toFixed(0)} ms |`,
  `| library closure, lifeboat's ELF reader (same programs, in-process) | ${median(closureMs).toFixed(0)} ms |`,
  `| ratio ldd / lifeboat | ${(median(lddMs) / median(closureMs)).toFixed(1)}× |`,
  '',
];
process.stdout.write(lines.join('\n'));
rmSync(work, { recursive: true, force: true });
