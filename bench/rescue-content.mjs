#!/usr/bin/env node
// Where the rescue root's bytes are (issue: lean and fast): the rescue root built from the example
// host's capture, by Debian package and by directory, as lifeboat builds it by default and with
// every prune-rootfs group kept (rescue.keep: all of them, what the builder put in before it
// left anything out), side by side in one run, plus the initrd and its two layers.
//
// usage: npm run bench:content   (needs the Debian fixture root and a Docker engine: ci/setup)
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

const GROUPS = ['python', 'perl', 'packaging', 'hwdb', 'timezones', 'gconv', 'node-extras', 'icu'];
const root = (await execa('ci/fixtures/debian-root', ['host'])).stdout.trim();
const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-content-'));
const sets = ['--set', `paths.logDir=${work}/log`, '--set', `paths.workDir=${work}/work`];
const cli = (args) => execa('node', ['dist/lifeboat.mjs', ...args, '--quiet', ...sets]);
const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);

const capture = join(work, 'capture');
await cli(['capture', '--root', root, '--out', capture]);

/** Builds a RAMDISK and returns the rescue root's bytes by package and by directory. */
async function measure(name, extra) {
  const out = join(work, name);
  await cli([
    'build',
    '--capture',
    capture,
    '--out',
    out,
    '--set',
    'output.methods=[ramdisk]',
    ...extra,
  ]);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  const image = manifest.inputs.builderImage;
  // In the builder image: unpack every layer (zstd reads the concatenated frames, one cpio run
  // per archive), then sizes by directory and, from the rescue base's dpkg database, by
  // the package that owns each file.
  const script = String.raw`
    set -eu
    mkdir /r && cd /r
    # Each cpio stops at its archive's trailer, leaving stdin at the next layer's archive.
    zstd -dc /in/initrd.img >/tmp/all.cpio
    while cpio -idmu --quiet 2>/dev/null; do :; done </tmp/all.cpio
    echo "## dirs"
    du -x --bytes --max-depth=3 /r | sort -rn | head -n 25 | sed 's|/r||'
    echo "## packages"
    cd /opt/lifeboat/rescue-base/var/lib/dpkg/info
    for list in *.list; do
      pkg=$(basename "$list" .list | cut -d: -f1)
      # Regular files only (a directory or symlink costs nothing here), each counted once.
      total=$(sed 's|^|/r|' "$list" | xargs -r -d '\n' stat -c '%s %F' 2>/dev/null |
        awk '$2 == "regular" { t += $1 } END { print t + 0 }')
      echo "$total $pkg"
    done | sort -rn | head -n 25
  `;
  const run = await execa('docker', [
    'run',
    '--rm',
    '-v',
    `${out}:/in:ro`,
    '--entrypoint',
    'bash',
    image,
    '-c',
    script,
  ]);
  const [, dirs = '', packages = ''] = run.stdout.split(/^## (?:dirs|packages)$/m);
  const parse = (text) =>
    new Map(
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [bytes, ...name] = line.trim().split(/\s+/);
          return [name.join(' ') || '/', Number(bytes)];
        }),
    );
  return {
    initrd: statSync(join(out, 'initrd.img')).size,
    layers: manifest.initrdLayers ?? [],
    dirs: parse(dirs),
    packages: parse(packages),
  };
}

const before = await measure('all-kept', ['--set', `rescue.keep=[${GROUPS.join(', ')}]`]);
const after = await measure('default', []);

const table = (title, key) => {
  const names = [...new Set([...before[key].keys(), ...after[key].keys()])]
    .sort((a, b) => (before[key].get(b) ?? 0) - (before[key].get(a) ?? 0))
    .slice(0, 20);
  console.log(
    `\n| ${title} | everything kept, MiB | lifeboat's default, MiB |\n| --- | --- | --- |`,
  );
  for (const name of names)
    console.log(
      `| ${name} | ${mib(before[key].get(name) ?? 0)} | ${mib(after[key].get(name) ?? 0)} |`,
    );
};
console.log('| initrd | everything kept | default |\n| --- | --- | --- |');
console.log(`| file (zstd) | ${mib(before.initrd)} MiB | ${mib(after.initrd)} MiB |`);
for (const [i, layer] of after.layers.entries())
  console.log(
    `| ${layer.name} layer | ${mib(before.layers[i]?.bytes ?? 0)} MiB | ${mib(layer.bytes)} MiB |`,
  );
table('directory', 'dirs');
table('package', 'packages');
rmSync(work, { recursive: true, force: true });
