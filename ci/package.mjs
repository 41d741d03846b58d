#!/usr/bin/env node
// `npm run package`: lifeboat as a Debian package, dist/lifeboat_<version>_all.deb (or the path
// given), the same bytes from the same commit. What it installs:
//
//   /usr/bin/lifeboat                         runs the bundle with Debian's nodejs
//   /usr/lib/lifeboat/lifeboat.mjs            the self-contained bundle (every npm dependency in
//                                             it, for Node.js 18 and later: bookworm's and
//                                             trixie's nodejs), laid out as in the rescue system
//   /usr/lib/lifeboat/{images,skel,recipes,schema}/   what builds read beside it
//   /usr/lib/lifeboat/dist/rescue/lifeboat.mjs the same bundle, where builds take it from for the
//                                             rescue system they make
//   /etc/lifeboat/local.yaml.example          a commented configuration to start from
//   /usr/share/man/man1/lifeboat.1.gz         made from the CLI's own --help
//   /usr/share/doc/lifeboat/                  copyright, the README
//
// Every invocation is spelled out; each reproducibility setting says why. The build runs after
// ci/build.mjs (the bundle must be current).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version, description } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const bundle = join(root, 'dist', 'rescue', 'lifeboat.mjs');
// Where it goes: the first argument, else dist/.
const out = process.argv[2] ?? join(root, 'dist', `lifeboat_${version}_all.deb`);

// One time for every file and for the man page's date: SOURCE_DATE_EPOCH when the caller sets
// it, else the commit's time (the same in every clone of it).
const epoch = Number(
  process.env.SOURCE_DATE_EPOCH ??
    execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' }).trim(),
);
if (!Number.isInteger(epoch) || epoch <= 0) throw new Error('package: no SOURCE_DATE_EPOCH');

const EXAMPLE = `# /etc/lifeboat/local.yaml: this host's settings. Copy this file to local.yaml and edit.
# Every key: /usr/lib/lifeboat/schema/lifeboat.schema.json; lifeboat dump shows the result.
#
# backup:
#   method: netfs
#   url: nfs://backup.example.org/exports/lifeboat   # or sftp://, cifs://, usb://, file://
#   keep: 3
# output:
#   methods: [iso]
#   url: file:///var/lib/lifeboat/media
# rescue:
#   programs+: [curl, jq]                             # append, as ReaR's PROGS+=(curl jq)
# recovery:
#   afterUnattended: reboot
`;

const COPYRIGHT = `Upstream-Name: lifeboat

Files: *
License: GPL-3.0-or-later
 On Debian systems, the full text of the GNU General Public License version 3
 can be found in /usr/share/common-licenses/GPL-3.
`;

const stage = mkdtempSync(join(tmpdir(), 'lifeboat-deb-'));
try {
  const put = (path, content, mode = 0o644) => {
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    writeFileSync(join(stage, path), content);
    chmodSync(join(stage, path), mode);
  };
  const lib = 'usr/lib/lifeboat';
  put(`${lib}/lifeboat.mjs`, readFileSync(bundle));
  put(`${lib}/dist/rescue/lifeboat.mjs`, readFileSync(bundle));
  for (const dir of ['images', 'skel', 'recipes', 'schema'])
    cpSync(join(root, dir), join(stage, lib, dir), { recursive: true, verbatimSymlinks: true });
  put(
    'usr/bin/lifeboat',
    '#!/bin/sh\n# lifeboat: the bundled CLI on Debian\'s Node.js.\nexec /usr/bin/node /usr/lib/lifeboat/lifeboat.mjs "$@"\n',
    0o755,
  );
  put('etc/lifeboat/local.yaml.example', EXAMPLE);
  put('usr/share/doc/lifeboat/README.md', readFileSync(join(root, 'README.md')));
  put('usr/share/doc/lifeboat/copyright', COPYRIGHT);
  // gzip without a name or a time in its header (level 9, as Debian's man pages).
  put('usr/share/man/man1/lifeboat.1.gz', gzipSync(manPage(), { level: 9 }));

  // Modes: directories 0755, files 0644 unless executable (git keeps only the executable bit);
  // then one mtime. dpkg-deb records what the tree says.
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) {
        chmodSync(path, 0o755);
        walk(path);
      } else if (stat.isFile()) {
        chmodSync(path, stat.mode & 0o111 ? 0o755 : 0o644);
        files.push(relative(stage, path));
      }
      // A symlink (skel's /etc/mtab) keeps its target; its own time, never the target's.
      lutimesSync(path, epoch, epoch);
    }
  };
  chmodSync(stage, 0o755);
  walk(stage);
  const installedKiB = Math.ceil(
    files.reduce((sum, f) => sum + statSync(join(stage, f)).size, 0) / 1024,
  );

  put(
    'DEBIAN/control',
    [
      'Package: lifeboat',
      `Version: ${version}`,
      'Architecture: all',
      'Maintainer: lifeboat developers <lifeboat@localhost>',
      `Installed-Size: ${installedKiB}`,
      // The bundle's own floor (ci/build.mjs targets node18): bookworm has 18, trixie 20.
      'Depends: nodejs (>= 18)',
      'Recommends: zstd, kmod, attr',
      'Section: admin',
      'Priority: optional',
      `Description: ${description}`,
      ' lifeboat captures a host into a diffable bundle, builds reproducible rescue media',
      ' from it in a container engine, backs the host up and recovers it, unattended if',
      ' asked. This package is what runs on the hosts it protects.',
      '',
    ].join('\n'),
  );
  put(
    'DEBIAN/md5sums',
    files
      .sort()
      .map(
        (f) =>
          `${createHash('md5')
            .update(readFileSync(join(stage, f)))
            .digest('hex')}  ${f}\n`,
      )
      .join(''),
  );
  put('DEBIAN/conffiles', '/etc/lifeboat/local.yaml.example\n');
  for (const f of ['DEBIAN', 'DEBIAN/control', 'DEBIAN/md5sums', 'DEBIAN/conffiles'])
    utimesSync(join(stage, f), epoch, epoch);

  mkdirSync(dirname(out), { recursive: true });
  const partial = `${out}.partial`;
  execFileSync(
    'dpkg-deb',
    [
      // root:root for every file, whoever builds it.
      '--root-owner-group',
      // xz at a fixed level, one thread: its output then depends only on the input.
      '-Zxz',
      '-z9',
      '--threads-max=1',
      '--build',
      stage,
      partial,
    ],
    // dpkg-deb clamps the members' times and the ar header to SOURCE_DATE_EPOCH.
    {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  renameSync(partial, out);
  console.log(out);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** The man page: the CLI's --help and each command's, as its own sections. */
function manPage() {
  const help = (args) =>
    execFileSync('node', [bundle, ...args, '--help'], {
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '78', NO_COLOR: '1' },
    });
  const top = help([]);
  const commands = [...top.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
    .map((m) => m[1])
    .filter((c) => c !== 'help');
  const date = new Date(epoch * 1000).toISOString().slice(0, 10);
  const roff = (text) => text.replaceAll('\\', '\\e').replace(/^([.'])/gm, '\\&$1');
  const block = (text) => ['.nf', roff(text.trimEnd()), '.fi'];
  return [
    `.TH LIFEBOAT 1 "${date}" "lifeboat ${version}" "lifeboat"`,
    '.SH NAME',
    `lifeboat \\- ${description.charAt(0).toLowerCase()}${description.slice(1)}`,
    '.SH SYNOPSIS',
    '.B lifeboat',
    '.I command',
    '[options]',
    '.SH DESCRIPTION',
    ...block(top),
    '.SH COMMANDS',
    ...commands.flatMap((c) => [`.SS ${c}`, ...block(help([c]))]),
    '.SH FILES',
    '.TP',
    '.I /etc/lifeboat/',
    'site.yaml and local.yaml (local.yaml.example shows the keys most hosts set)',
    '.TP',
    '.I /usr/share/doc/lifeboat/README.md',
    'what lifeboat does and how to start',
    '',
  ].join('\n');
}
