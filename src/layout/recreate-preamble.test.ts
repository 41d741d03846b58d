import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXT4_FEATURES,
  everything,
  gptExt4Swap,
  HOSTILE,
} from '../../test/support/layout-fixtures.js';
import { recreateScript } from './recreate.js';

describe('recreateScript: GPT with ext4 and swap', () => {
  const { script } = recreateScript(gptExt4Swap());

  it('wipes the first and last MiB of the disk with direct writes, seeking from its size', () => {
    expect(script).toMatch(/wipe_disk\(\) \{[^}]*bytes=\$\(blockdev --getsize64 "\$1"\)/);
    expect(script).toContain(
      'run dd if=/dev/zero of="$1" bs="$sector" count="$count" seek=$(( bytes / sector - count ))',
    );
    expect(script.match(/oflag=direct conv=notrunc/g)).toHaveLength(2);
  });
});

/**
 * Runs of the generated script against test doubles of the storage tools: each logs its
 * arguments and keeps just enough state (what it "created") to answer the guards the way the
 * real tool would. PATH holds only the doubles and a few harmless real programs, so a tool the
 * doubles miss fails the run instead of touching this machine.
 */
// A template literal: \${ and \\ in it are bash's ${ and \.
const STUB = `#!/bin/bash
set -u
tool=\${0##*/}
printf '%s\\0' "$#" "$tool" "$@" >>"$STUB_LOG"
PATH=$STUB_REAL_PATH
state=$STUB_STATE
key() { printf '%s' "\${1//\\//_}"; }
put() { mkdir -p "$state/$1"; printf '%s' "$3" >"$state/$1/$(key "$2")"; }
get() { cat "$state/$1/$(key "$2")" 2>/dev/null; }
has() { [[ -e $state/$1/$(key "$2") ]]; }
last=\${!#}
option() { # FLAG ARGS...: the value after FLAG (or of FLAG=)
  local flag=$1; shift
  while (( $# > 0 )); do
    case $1 in "$flag") printf '%s' "$2"; return ;; "$flag"=*) printf '%s' "\${1#*=}"; return ;; esac
    shift
  done
}
case $tool in
  blockdev)
    case $1 in
      --getss) echo 512 ;;
      --getsize64) has dev "$2" && echo 107374182400 || exit 1 ;;
    esac ;;
  sfdisk)
    if [[ $1 == --dump ]]; then id=$(get table "$2") || exit 1; printf 'label: gpt\\nlabel-id: %s\\n' "$id"; exit 0; fi
    input=$(cat)
    put table "$last" "$(sed -n 's/^label-id: //p' <<<"$input")"
    put sfdisk-input "$last" "$input"
    while read -r part _; do put dev "$part" 1; done < <(grep '^/dev/' <<<"$input") ;;
  blkid)
    case $3 in UUID) get uuid "$last" || exit 2 ;; TYPE) get type "$last" || exit 2 ;; esac ;;
  mkfs.ext4|mkfs.btrfs|mkswap) put uuid "$last" "$(option -U "$@")" ;;
  mkfs.xfs) uuid=$(option -m "$@"); uuid=\${uuid#uuid=}; put uuid "$last" "\${uuid%%,*}" ;;
  mkfs.vfat) id=$(option -i "$@"); put uuid "$last" "\${id:0:4}-\${id:4}" ;;
  pvs) get pv "$last" || exit 5 ;;
  pvcreate) put pv "$last" "  $(option --uuid "$@")" ;;
  vgs) has vg "$1" || exit 5 ;;
  vgcreate) put vg "$3" 1 ;;
  lvs) has lv "$1" || exit 5 ;;
  lvcreate)
    name=$(option --name "$@"); [[ -n $name ]] || name=$(option --thinpool "$@")
    put lv "$last/$name" 1; put dev "/dev/$last/$name" 1 ;;
  mdadm)
    case $1 in
      --detail) uuid=$(get md "$3") || exit 1; echo "MD_LEVEL=raid1"; echo "MD_UUID=$uuid" ;;
      --create) put md "$2" "$(option --uuid "$@")"; put dev "$2" 1 ;;
    esac ;;
  cryptsetup)
    case $1 in
      isLuks) has luks "$2" || exit 1 ;;
      luksUUID) get luks "$2" || exit 1 ;;
      luksFormat) put luks "$last" "$(option --uuid "$@")" ;;
      status) has mapping "$2" || exit 4 ;;
      open) put mapping "$last" 1; put dev "/dev/mapper/$last" 1 ;;
    esac ;;
  btrfs)
    case "$1 $2" in
      'subvolume show') has subvol "\${3#*/lifeboat-btrfs.*/}" || exit 1 ;;
      'subvolume create') put subvol "\${3#*/lifeboat-btrfs.*/}" 1 ;;
      'inspect-internal rootid') echo 256 ;;
    esac ;;
  wipefs) rm -f "$state/uuid/$(key "$last")" "$state/luks/$(key "$last")" "$state/pv/$(key "$last")" ;;
  dd|partprobe|udevadm|mount|umount|mkdir|lvchange) ;;
  *) echo "stub: no double for $tool" >&2; exit 99 ;;
esac
exit 0
`;

const STUBBED = [
  'blockdev',
  'sfdisk',
  'blkid',
  'mkfs.ext4',
  'mkfs.btrfs',
  'mkfs.xfs',
  'mkfs.vfat',
  'mkswap',
  'pvs',
  'pvcreate',
  'vgs',
  'vgcreate',
  'lvs',
  'lvcreate',
  'lvchange',
  'mdadm',
  'cryptsetup',
  'btrfs',
  'wipefs',
  'dd',
  'partprobe',
  'udevadm',
  'mount',
  'umount',
  'mkdir',
];
/** Real programs the script may run: they only read, wait or touch its own temporary directory. */
const REAL = ['sed', 'grep', 'cat', 'mktemp', 'rmdir', 'sleep'];

/** Where a program is on this machine's PATH. */
function findProgram(name: string): string {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new Error(`${name} is not on PATH`);
}

interface Call {
  tool: string;
  args: string[];
}

interface Run {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  calls: Call[];
}

describe('the script run against test doubles of the storage tools', () => {
  let dir = '';
  let bin = '';
  let state = '';
  let runNumber = 0;
  const layout = everything();
  const { script } = recreateScript(layout);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-recreate-'));
    bin = join(dir, 'bin');
    state = join(dir, 'state');
    await mkdir(bin);
    await writeFile(join(bin, 'stub'), STUB);
    await chmod(join(bin, 'stub'), 0o755);
    for (const tool of STUBBED) await symlink('stub', join(bin, tool));
    for (const tool of REAL) await symlink(findProgram(tool), join(bin, tool));
    // The disks are there before the first run; everything else appears as it is created.
    await mkdir(join(state, 'dev'), { recursive: true });
    for (const disk of layout.disks)
      await writeFile(join(state, 'dev', disk.device.replaceAll('/', '_')), '1');
    await writeFile(join(dir, 'key'), 'passphrase');
    await writeFile(join(dir, 'recreate.sh'), script);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runScript(env: Record<string, string>): Promise<Run> {
    runNumber += 1;
    const log = join(dir, `calls-${runNumber}`);
    await writeFile(log, '');
    const result = await execa(findProgram('bash'), [join(dir, 'recreate.sh')], {
      reject: false,
      stdin: 'ignore',
      extendEnv: false,
      env: {
        PATH: bin,
        TMPDIR: dir,
        STUB_LOG: log,
        STUB_STATE: state,
        STUB_REAL_PATH: process.env.PATH ?? '',
        ...env,
      },
    });
    return {
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      calls: parseCalls(await readFile(log, 'utf8')),
    };
  }

  function parseCalls(text: string): Call[] {
    const fields = text.split('\0');
    const calls: Call[] = [];
    for (let at = 0; at + 1 < fields.length; ) {
      const count = Number(fields[at]);
      calls.push({ tool: fields[at + 1] ?? '', args: fields.slice(at + 2, at + 2 + count) });
      at += 2 + count;
    }
    return calls;
  }

  const withKey = () => ({ LIFEBOAT_LUKS_KEY_FILE: join(dir, 'key'), LIFEBOAT_UNATTENDED: '1' });
  const isWrite = (call: Call) =>
    ['wipefs', 'dd', 'pvcreate', 'vgcreate', 'lvcreate', 'mkswap'].includes(call.tool) ||
    call.tool.startsWith('mkfs.') ||
    (call.tool === 'sfdisk' && call.args[0] !== '--dump') ||
    (call.tool === 'mdadm' && call.args[0] === '--create') ||
    (call.tool === 'cryptsetup' && ['luksFormat', 'open'].includes(call.args[0] ?? '')) ||
    (call.tool === 'btrfs' && call.args.slice(0, 2).join(' ') === 'subvolume create');

  it('stops before touching anything when there is no LUKS key file', async () => {
    const run = await runScript({ LIFEBOAT_UNATTENDED: '1' });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('set LIFEBOAT_LUKS_KEY_FILE to a file holding their passphrase');
    expect(run.calls).toEqual([]);
  });

  // The two runs share the doubles' state: the second sees what the first created.
  let first: Run;

  it('creates everything, in order, with the hostile label passed as one argument', async () => {
    first = await runScript(withKey());
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    expect(first.stdout.trimEnd().endsWith('lifeboat-recreate: done')).toBe(true);

    const ext4 = first.calls.find((call) => call.tool === 'mkfs.ext4');
    expect(ext4?.args).toEqual([
      '-F',
      '-U',
      '88888888-0000-4000-8000-000000000001',
      '-L',
      HOSTILE,
      '-O',
      `none,${EXT4_FEATURES.join(',')}`,
      '-I',
      '256',
      '-b',
      '4096',
      '-m',
      '5',
      '/dev/vg0/root',
    ]);
    const table = await readFile(join(state, 'sfdisk-input', '_dev_vda'), 'utf8');
    expect(table).toContain('name="$(touch /tmp/lifeboat-pwned)"');

    const firstIndex = (test: (call: Call) => boolean) => first.calls.findIndex(test);
    const steps = [
      firstIndex((c) => c.tool === 'sfdisk' && c.args[0] === '/dev/vda'),
      firstIndex((c) => c.tool === 'mdadm' && c.args[0] === '--create'),
      firstIndex((c) => c.tool === 'pvcreate'),
      firstIndex((c) => c.tool === 'vgcreate'),
      firstIndex((c) => c.tool === 'lvcreate'),
      firstIndex((c) => c.tool === 'mkfs.ext4'),
    ];
    expect(steps.every((step) => step >= 0)).toBe(true);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(firstIndex((c) => c.tool === 'mkfs.xfs')).toBeGreaterThan(
      firstIndex((c) => c.tool === 'cryptsetup' && c.args[0] === 'open'),
    );
    expect(first.stdout).toContain(
      "+ mkfs.ext4 -F -U 88888888-0000-4000-8000-000000000001 -L a\\'b\\ \\$\\(rm\\ -rf\\ /\\)",
    );
  });

  it('wiped each device right before making something on it, and wrote to no other device', () => {
    const layoutDevices = new Set([
      ...layout.disks.flatMap((disk) => [
        disk.device,
        ...(disk.table?.partitions.map((p) => p.device) ?? []),
      ]),
      '/dev/md0',
      '/dev/vg0/root',
      '/dev/vg0/swap',
      '/dev/vg0/system',
      '/dev/mapper/secret',
      '/dev/zero',
    ]);
    const written = first.calls
      .filter(isWrite)
      .flatMap((call) => call.args.flatMap((arg) => /(?:^|=)(\/dev\/\S*)/.exec(arg)?.[1] ?? []));
    expect(written.length).toBeGreaterThan(20);
    expect(written.filter((device) => !layoutDevices.has(device))).toEqual([]);

    for (const [tool, device] of [
      ['mkfs.vfat', '/dev/vda1'],
      ['mkfs.ext4', '/dev/vg0/root'],
      ['mkswap', '/dev/vg0/swap'],
      ['pvcreate', '/dev/md0'],
      ['cryptsetup', '/dev/vda3'],
    ]) {
      const made = first.calls.findIndex(
        (call) =>
          call.tool === tool &&
          call.args.at(-1) === device &&
          (tool !== 'cryptsetup' || call.args[0] === 'luksFormat'),
      );
      expect(made, `${tool} ${device}`).toBeGreaterThan(0);
      // The call just before making it wiped that very device.
      expect(first.calls[made - 1], `wipefs ${device} before ${tool}`).toEqual({
        tool: 'wipefs',
        args: ['--all', '--force', device],
      });
    }
  });

  it('on a rerun finds everything and changes nothing', async () => {
    const rerun = await runScript(withKey());
    expect(rerun.stderr).toBe('');
    expect(rerun.exitCode).toBe(0);
    expect(rerun.calls.filter(isWrite)).toEqual([]);
    const skipped = rerun.stdout
      .split('\n')
      .filter((line) => /^lifeboat-recreate: .* exists, skipped$/.test(line));
    // 2 tables, 1 array, 1 PV, 1 VG, 3 LVs, 1 LUKS volume, 4 file systems, 1 swap area.
    expect(skipped, rerun.stdout).toHaveLength(14);
    expect(rerun.stdout, rerun.stdout).not.toContain('lifeboat-recreate: creating');
  });

  it('on a rerun remakes only the file system whose UUID differs', async () => {
    await writeFile(join(state, 'uuid', '_dev_vda1'), 'DEAD-BEEF');
    const rerun = await runScript(withKey());
    expect(rerun.exitCode).toBe(0);
    expect(rerun.calls.filter(isWrite)).toEqual([
      { tool: 'wipefs', args: ['--all', '--force', '/dev/vda1'] },
      { tool: 'mkfs.vfat', args: ['-i', 'ABCD12EF', '-n', 'EFI', '-F', '32', '/dev/vda1'] },
    ]);
    expect(rerun.stdout).toContain('lifeboat-recreate: creating vfat file system on /dev/vda1');
  });
});
