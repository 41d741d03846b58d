/**
 * The fixed bash the generated scripts start with: strict mode, the `say`/`run` helpers, and the
 * guards and wipes the component blocks call. Written once here so every block reads as a few
 * plain commands, and so a reader checks the careful parts (what counts as "exists", what gets
 * zeroed) in one place.
 */
import { shellQuote } from './recreate-shell.js';

/** say, die and run, with the prefix every line the script prints starts with. */
export function commonHelpers(prefix: string): string[] {
  return [
    `say() { printf '%s %s\\n' ${shellQuote(`${prefix}:`)} "$*"; }`,
    `die() { printf '%s ERROR: %s\\n' ${shellQuote(`${prefix}:`)} "$*" >&2; exit 1; }`,
    '# Every command that changes something is echoed, quoted so it can be copied, before it runs.',
    `run() { printf '+'; printf ' %q' "$@"; printf '\\n'; "$@"; }`,
  ];
}

/** Stop before anything is touched when a program a block needs is missing from this system. */
export function requireTools(tools: string[]): string[] {
  if (tools.length === 0) return [];
  return [
    `for tool in ${tools.map(shellQuote).join(' ')}; do`,
    '  command -v "$tool" >/dev/null || die "$tool is needed but not installed"',
    'done',
  ];
}

/**
 * The recreate script's guards and wipes. A guard answers "is this component already there, with
 * its captured id?"; on any doubt it answers no, and the block recreates the component.
 */
export const RECREATE_HELPERS = `
# A device the kernel knows and can size (a stale node in a static /dev cannot be opened).
have_device() { blockdev --getsize64 "$1" >/dev/null 2>&1; }

settle() { if command -v udevadm >/dev/null; then udevadm settle || true; fi; }

# New partitions, arrays and mappings take udev a moment to appear.
wait_for_device() {
  local try
  for (( try = 0; try < 20; try++ )); do
    settle
    have_device "$1" && return 0
    sleep 0.5
  done
  die "$1 did not appear"
}

# Positions are in the layout's sectors: the new disk must use the same size, and be big enough.
check_disk() { # DISK SECTOR_BYTES MIN_BYTES
  have_device "$1" || die "disk $1 not found"
  local sector bytes
  sector=$(blockdev --getss "$1")
  [[ $sector == "$2" ]] || die "disk $1 has $sector-byte sectors, the layout $2-byte ones"
  bytes=$(blockdev --getsize64 "$1")
  (( bytes >= $3 )) || die "disk $1 has $bytes bytes, the layout needs at least $3"
}

table_id_is() { # DISK LABEL_ID
  local id
  id=$(sfdisk --dump "$1" 2>/dev/null | sed -n 's/^label-id: *//p') || true
  [[ -n $id && \${id,,} == "\${2,,}" ]]
}

fs_uuid_is() { # DEVICE UUID
  local uuid
  uuid=$(blkid -p -s UUID -o value "$1" 2>/dev/null) || true
  [[ -n $uuid && \${uuid,,} == "\${2,,}" ]]
}

fs_type_is() { # DEVICE TYPE
  local type
  type=$(blkid -p -s TYPE -o value "$1" 2>/dev/null) || true
  [[ $type == "$2" ]]
}

luks_uuid_is() { # DEVICE UUID
  local uuid
  cryptsetup isLuks "$1" 2>/dev/null || return 1
  uuid=$(cryptsetup luksUUID "$1" 2>/dev/null) || return 1
  [[ \${uuid,,} == "\${2,,}" ]]
}

# LVM UUIDs are case-sensitive.
pv_uuid_is() { # DEVICE UUID
  local uuid
  uuid=$(pvs --noheadings -o pv_uuid "$1" 2>/dev/null) || true
  uuid=\${uuid//[[:space:]]/}
  [[ -n $uuid && $uuid == "$2" ]]
}

# Read all of mdadm's answer before matching it: grep -q closing the pipe early would make
# mdadm die of SIGPIPE, and pipefail would turn a match into a failure.
md_uuid_is() { # ARRAY UUID
  local detail
  detail=$(mdadm --detail --export "$1" 2>/dev/null) || return 1
  grep -qixF "MD_UUID=$2" <<<"$detail"
}

wipe_signatures() { run wipefs --all --force "$1"; }

# Signatures, then the first and the last MiB: what wipefs misses of an old partition table,
# RAID superblock or LVM label. In whole sectors, as O_DIRECT writes must be.
wipe_disk() { # DISK
  local sector bytes count
  sector=$(blockdev --getss "$1")
  bytes=$(blockdev --getsize64 "$1")
  count=$(( 1048576 / sector ))
  wipe_signatures "$1"
  run dd if=/dev/zero of="$1" bs="$sector" count="$count" oflag=direct conv=notrunc status=none
  run dd if=/dev/zero of="$1" bs="$sector" count="$count" seek=$(( bytes / sector - count )) \\
    oflag=direct conv=notrunc status=none
}

reread_partitions() { # DISK
  if command -v partprobe >/dev/null; then run partprobe "$1"; else run blockdev --rereadpt "$1"; fi
  settle
}

# The LUKS passphrase comes from a file, never from a prompt, so the script runs unattended
# (LIFEBOAT_UNATTENDED=1) the same way it runs at a console.
need_luks_key_file() {
  [[ -n \${LIFEBOAT_LUKS_KEY_FILE:-} ]] ||
    die "this layout has LUKS volumes: set LIFEBOAT_LUKS_KEY_FILE to a file holding their passphrase (it is never prompted for)"
  [[ -r $LIFEBOAT_LUKS_KEY_FILE ]] || die "LIFEBOAT_LUKS_KEY_FILE=$LIFEBOAT_LUKS_KEY_FILE cannot be read"
}

# A btrfs mounted to create its subvolumes is unmounted even when a command fails.
btrfs_tmp=''
cleanup() {
  if [[ -n $btrfs_tmp ]]; then
    umount "$btrfs_tmp" 2>/dev/null || true
    rmdir "$btrfs_tmp" 2>/dev/null || true
  fi
}
trap cleanup EXIT
`
  .trim()
  .split('\n');

/** The programs the helpers themselves run. */
export const RECREATE_HELPER_TOOLS = ['blockdev', 'sed', 'grep', 'sleep'];
