#!/usr/bin/env node
// Initrd compression figures (issue: lean-and-fast): for each candidate compressor setting, the
// compressed size, the compression wall time inside the builder container, and the time the
// kernel takes to unpack the initrd under QEMU TCG. The input is a built rescue ISO: its
// /boot/initrd.img is decompressed to the raw newc archive, which every candidate compresses
// again; its /boot/vmlinuz unpacks them.
//
// The unpack time is the kernel's own (printk timestamps): from "Trying to unpack rootfs image as
// initramfs..." to "Freeing initrd memory", the two lines the 6.1 kernel prints around
// populate_rootfs. rdinit names a file that does not exist, so the kernel panics right after the
// unpack (no root device) and panic=-1 with -no-reboot ends QEMU. Each candidate boots twice, the
// rounds alternating between candidates so that the machine's noise spreads over all of them.
//
// Multi-threaded zstd (-T0: as many workers as cores, -T4: more than the cores) is checked for
// bytes equal to -T1's; equal bytes unpack the same, so they are not booted again.
//
// usage: npm run bench:compression [-- ISO] [--no-ultra] [--parallel]
//        default ISO: /var/tmp/m2/lifeboat.iso (waited for if it is still being built); needs a
//        Docker engine with the builder image (lifeboat-builder/debian-bookworm) and QEMU.
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

const args = process.argv.slice(2);
const withUltra = !args.includes('--no-ultra');
// All candidates at once: on a machine shared with other work the CPU time is the figure that
// holds, and running them together ends sooner; the wall times then say little.
const parallel = args.includes('--parallel');
const iso = resolve(args.find((a) => !a.startsWith('--')) ?? '/var/tmp/m2/lifeboat.iso');
const BOOTS = 2;
const loadAtStart = loadavg()[0].toFixed(1);
// Long enough for an xz unpack under TCG on a loaded machine (about 40 s when it is idle).
const BOOT_TIMEOUT_S = 600;
const log = (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

// zstd: -T1 is today's setting (src/initrd/compress.ts); `same` names the -T1 setting whose bytes
// a multi-threaded run must equal.
const ZSTD_COMMON = ['--compress', '--format=zstd', '--check', '--no-content-size', '--stdout'];
const XZ_COMMON = ['--compress', '--stdout', '--format=xz', '--check=crc32', '--threads=1'];
const candidates = [
  { name: 'zstd -12 -T1 (today)', argv: ['zstd', ...ZSTD_COMMON, '-12', '-T1'] },
  {
    name: 'zstd -12 -T0',
    argv: ['zstd', ...ZSTD_COMMON, '-12', '-T0'],
    same: 'zstd -12 -T1 (today)',
  },
  {
    name: 'zstd -12 -T4',
    argv: ['zstd', ...ZSTD_COMMON, '-12', '-T4'],
    same: 'zstd -12 -T1 (today)',
  },
  { name: 'zstd -19 -T1', argv: ['zstd', ...ZSTD_COMMON, '-19', '-T1'] },
  { name: 'zstd -19 -T0', argv: ['zstd', ...ZSTD_COMMON, '-19', '-T0'], same: 'zstd -19 -T1' },
  { name: 'zstd -19 --long=27 -T1', argv: ['zstd', ...ZSTD_COMMON, '-19', '--long=27', '-T1'] },
  {
    name: 'xz preset=6,dict=1MiB (today\u2019s xz)',
    argv: ['xz', ...XZ_COMMON, '--lzma2=preset=6,dict=1MiB', '--no-adjust'],
  },
  { name: 'xz preset=9e,dict=1MiB', argv: ['xz', ...XZ_COMMON, '--lzma2=preset=9e,dict=1MiB'] },
];

// The slowest by far; compressed and booted after the table of the others is printed.
const ultra = {
  name: 'zstd --ultra -22 --long=27 -T1',
  argv: ['zstd', ...ZSTD_COMMON, '--ultra', '-22', '--long=27', '-T1'],
};

// The ISO is renamed into place when its build ends; wait for it, then for its size to settle.
if (!existsSync(iso)) log(`waiting for ${iso}`);
for (let last = -1; ; await sleep(5000)) {
  const size = existsSync(iso) ? statSync(iso).size : -1;
  if (size > 0 && size === last) break;
  last = size;
}

const tags = (
  await execa('docker', ['images', 'lifeboat-builder/debian-bookworm', '--format', '{{.Tag}}'])
).stdout
  .split('\n')
  .filter(Boolean);
if (tags.length === 0)
  throw new Error('no builder image lifeboat-builder/debian-bookworm: run a build first');
const image = `lifeboat-builder/debian-bookworm:${tags[0]}`; // the newest (docker lists by creation)
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-compression-'));
// The container sees the work directory as /w and the ISO's directory (read-only) as /in.
const inContainer = (argv, options = {}) =>
  execa(
    'docker',
    [
      'run',
      '--rm',
      '-e',
      'XZ_DEFAULTS=',
      '-e',
      'XZ_OPT=',
      '-v',
      `${work}:/w`,
      '-v',
      `${dirname(iso)}:/in:ro`,
      image,
      ...argv,
    ],
    options,
  );

log(`extracting /boot/initrd.img and /boot/vmlinuz from ${iso} (image ${image})`);
await inContainer([
  'xorriso',
  '-osirrox',
  'on',
  '-indev',
  `/in/${basename(iso)}`,
  '-extract',
  '/boot/initrd.img',
  '/w/initrd.img',
  '-extract',
  '/boot/vmlinuz',
  '/w/vmlinuz',
]);
// A fixed script; the program and its arguments come in as positional parameters.
const TO_FILE = 'out=$1; shift; "$@" > "$out"';
const magic = Buffer.alloc(6);
const initrdFd = openSync(join(work, 'initrd.img'), 'r');
readSync(initrdFd, magic, 0, magic.length, 0);
closeSync(initrdFd);
const decompressor = magic.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))
  ? ['zstd', '-d', '-c', '-q']
  : magic.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
    ? ['xz', '-d', '-c']
    : magic.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))
      ? ['gzip', '-d', '-c']
      : ['cat'];
await inContainer(['sh', '-c', TO_FILE, 'sh', '/w/initrd.cpio', ...decompressor, '/w/initrd.img']);
const cpioBytes = statSync(join(work, 'initrd.cpio')).size;
log(`raw newc archive: ${(cpioBytes / 2 ** 20).toFixed(1)} MiB (ISO's initrd: ${decompressor[0]})`);

// Compression: timed inside the container, the archive piped in as the builder pipes it. Wall
// time moves with whatever else the cores run; `times` adds the CPU time of the compressor (and
// of cat, a fraction of a second), which moves much less.
const TIMED =
  'out=$1; shift; s=$(date +%s%N); cat /w/initrd.cpio | "$@" > "$out" || exit 1; e=$(date +%s%N); echo $((e - s)); times';
async function sha256(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}
let compressed = 0;
async function compress(c) {
  c.file = `c${compressed++}.img`;
  const { stdout } = await inContainer(['sh', '-c', TIMED, 'sh', `/w/${c.file}`, ...c.argv]);
  const lines = stdout.trim().split('\n');
  c.compressS = Number(lines[0]) / 1e9;
  // The last line of `times`: the children's user and system time, as 0m1.760000s 0m0.280000s.
  const [, um, us, sm, ss] = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines.at(-1)).map(Number);
  c.cpuS = um * 60 + us + sm * 60 + ss;
  c.bytes = statSync(join(work, c.file)).size;
  c.sha256 = await sha256(join(work, c.file));
  log(
    `${c.name}: ${c.bytes} bytes in ${c.compressS.toFixed(1)} s (CPU ${c.cpuS.toFixed(1)} s), sha256 ${c.sha256.slice(0, 12)}`,
  );
}
const shipped = await sha256(join(work, 'initrd.img'));
if (parallel) await Promise.all([...candidates, ...(withUltra ? [ultra] : [])].map(compress));
else for (const c of candidates) await compress(c);
const byName = new Map(candidates.map((c) => [c.name, c]));
for (const c of candidates) {
  if (!c.same) continue;
  c.identical = c.sha256 === byName.get(c.same).sha256;
  if (c.identical) c.bootAs = c.same;
}

// Unpack: the kernel's printk timestamps around populate_rootfs.
const stamp = (text, pattern) => {
  const line = text.split('\n').find((l) => pattern.test(l));
  const m = line && /^\[\s*([\d.]+)\]/.exec(line);
  return m ? Number(m[1]) : undefined;
};
async function boot(c) {
  const run = await execa(
    'timeout',
    [
      String(BOOT_TIMEOUT_S),
      'qemu-system-x86_64',
      '-accel',
      'tcg',
      '-m',
      '2048',
      '-nographic',
      '-no-reboot',
      '-kernel',
      join(work, 'vmlinuz'),
      '-initrd',
      join(work, c.file),
      '-append',
      'console=ttyS0 rdinit=/lifeboat-no-such-init panic=-1 printk.time=1',
    ],
    { reject: false, stdin: 'ignore', all: true, stripFinalNewline: false },
  );
  const text = run.all.replaceAll('\r', '');
  const start = stamp(text, /Trying to unpack rootfs image as initramfs/);
  const end = stamp(text, /Freeing initrd memory/);
  const failed =
    /Initramfs unpacking failed: (.*)/.exec(text)?.[1] ??
    /(ZSTD|XZ)[^\n]*error[^\n]*/i.exec(text)?.[0];
  if (failed || start === undefined || end === undefined) {
    return {
      error:
        failed ??
        `no unpack lines (exit ${run.exitCode}${run.exitCode === 124 ? ', timed out' : ''})`,
    };
  }
  return { seconds: end - start };
}
async function bootRounds(list) {
  for (let round = 1; round <= BOOTS; round++) {
    for (const c of round % 2 ? list : [...list].reverse()) {
      const result = await boot(c);
      c.boots = [...(c.boots ?? []), result];
      log(
        `boot ${round} ${c.name}: ${result.error ?? `unpack ${result.seconds.toFixed(2)} s`} (load ${loadavg()[0].toFixed(1)})`,
      );
    }
  }
}
await bootRounds(candidates.filter((c) => !c.bootAs));

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
};
const today = candidates[0];
const unpack = (c) => {
  if (c.bootAs) return `= ${c.bootAs.replace(' (today)', '')} (same bytes)`;
  const errors = c.boots.filter((b) => b.error).map((b) => b.error);
  if (errors.length) return `**kernel refused**: ${errors[0]}`;
  const s = c.boots.map((b) => b.seconds);
  return `${median(s).toFixed(2)} (${s.map((x) => x.toFixed(2)).join(', ')})`;
};
const zstdVersion = (await inContainer(['zstd', '--version'])).stdout.match(/v[\d.]+/)?.[0];
const xzVersion = (await inContainer(['xz', '--version'])).stdout.split('\n')[0];
const cores = (await execa('nproc')).stdout;
function printTable() {
  const rows = candidates.map((c) => [
    c.name,
    (c.bytes / 2 ** 20).toFixed(2),
    (c.bytes / today.bytes).toFixed(3),
    `${c.compressS.toFixed(1)} (CPU ${c.cpuS.toFixed(1)})`,
    unpack(c),
    c.same ? (c.identical ? `yes (= ${c.same.replace(' (today)', '')})` : '**NO**') : '',
  ]);
  const head = [
    'setting',
    'MiB',
    'ratio vs today',
    'compress s, wall (CPU)',
    'unpack s (TCG), median (runs)',
    'identical across thread counts',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  console.log(
    `Machine: ${cores} cores (1-minute load average ${loadAtStart} at the start), Node ${process.version}, zstd ${zstdVersion}, ${xzVersion}, ` +
      `builder image ${image}. Input: ${basename(iso)}'s initrd, ${(cpioBytes / 2 ** 20).toFixed(1)} MiB of newc; ` +
      `${BOOTS} boots per distinct output; compressions ${parallel ? 'all at once' : 'one at a time'}. ` +
      `The ISO's own initrd ${shipped === today.sha256 ? 'is' : 'is NOT'} byte for byte the first row's.\n`,
  );
  console.log(line(head));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
}
printTable();
if (withUltra) {
  if (!parallel) await compress(ultra);
  candidates.push(ultra);
  await bootRounds([ultra]);
  console.log('');
  printTable();
}
rmSync(work, { recursive: true, force: true });
