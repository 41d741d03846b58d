import type { GuestDisk } from '../support/rescue-guest.js';

/**
 * Disk layout scenarios: each builds a layout on blank virtual disks inside the rescue system,
 * with the tools an administrator would use. The runner (layout-recreate.test.ts) then captures
 * it, zeroes the disks, recreates the layout from the capture, captures again and compares.
 *
 * To add a scenario: give it a name, its disks (serial and size; the serial is how the setup
 * finds them: $d1 is /dev/disk/by-id/virtio-d1 resolved, and so on), and a setup script that
 * leaves the file systems mounted under /mnt/t (so btrfs subvolumes and mounts are captured).
 * The setup runs with `set -euo pipefail`; /tmp/key holds a LUKS key when one is needed
 * (the runner gives the same file to the recreation).
 */
export interface LayoutScenario {
  name: string;
  disks: GuestDisk[];
  setup: string;
}

const GPT_LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const GPT_LVM = 'E6D6D379-F507-44C2-A23C-238F2A3DF928';
const GPT_SWAP = '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F';
const GPT_ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const GPT_BIOS = '21686148-6449-6E6F-744E-656564454649';
const GPT_RAID = 'A19D880F-05FC-4D3B-A006-743F0F84911E';

export const SCENARIOS: LayoutScenario[] = [
  {
    name: 'GPT + ext4 + swap',
    disks: [{ serial: 'd1', sizeMiB: 512 }],
    setup: `
sfdisk "$d1" <<EOF
label: gpt
size=1MiB, type=${GPT_BIOS}, name=bios
size=300MiB, type=${GPT_LINUX}, name=root
type=${GPT_SWAP}, name=swap
EOF
udevadm settle
mkfs.ext4 -q -L root -m 1 "\${d1}2"
mkswap -L swap "\${d1}3"
mkdir -p /mnt/t/root && mount "\${d1}2" /mnt/t/root`,
  },
  {
    name: 'MBR + ext4',
    disks: [{ serial: 'd1', sizeMiB: 256 }],
    setup: `
sfdisk "$d1" <<EOF
label: dos
size=128MiB, type=83, bootable
type=83
EOF
udevadm settle
mkfs.ext4 -q -L boot -O ^has_journal "\${d1}1"
mkfs.ext4 -q -L data -I 128 "\${d1}2"
mkdir -p /mnt/t/boot /mnt/t/data && mount "\${d1}1" /mnt/t/boot && mount "\${d1}2" /mnt/t/data`,
  },
  {
    name: 'LVM (root, home, swap) on GPT, with an ESP',
    disks: [{ serial: 'd1', sizeMiB: 1024 }],
    setup: `
sfdisk "$d1" <<EOF
label: gpt
size=64MiB, type=${GPT_ESP}, name=esp
type=${GPT_LVM}, name=lvm
EOF
udevadm settle
mkfs.vfat -F 32 -n ESP "\${d1}1"
pvcreate -q "\${d1}2" && vgcreate -q -s 8M vg0 "\${d1}2"
lvcreate -q -y -n root -L 400M vg0 && lvcreate -q -y -n home -L 320M vg0 && lvcreate -q -y -n swap -L 64M vg0
mkfs.ext4 -q -L root /dev/vg0/root && mkswap -L swap /dev/vg0/swap
# home as trixie's mkfs.xfs makes it: rmapbt and nrext64 on, which bookworm's leaves off.
mkfs.xfs -q -L home -m rmapbt=1 -i nrext64=1 /dev/vg0/home
mkdir -p /mnt/t/root /mnt/t/home /mnt/t/esp
mount /dev/vg0/root /mnt/t/root && mount /dev/vg0/home /mnt/t/home && mount "\${d1}1" /mnt/t/esp`,
  },
  {
    name: 'MD RAID1 over two disks, LUKS2 and LVM on top, btrfs with subvolumes',
    disks: [
      { serial: 'd1', sizeMiB: 512 },
      { serial: 'd2', sizeMiB: 512 },
    ],
    setup: `
for d in "$d1" "$d2"; do
sfdisk "$d" <<EOF
label: gpt
type=${GPT_RAID}, name=raid
EOF
done
udevadm settle
mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 --name=data "\${d1}1" "\${d2}1"
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --label cryptdata --key-file /tmp/key /dev/md0
cryptsetup open --key-file /tmp/key /dev/md0 cryptdata
pvcreate -q /dev/mapper/cryptdata && vgcreate -q vg1 /dev/mapper/cryptdata
lvcreate -q -y -n data -l 100%FREE vg1
mkfs.btrfs -q -L data /dev/vg1/data
mkdir -p /mnt/t/data && mount /dev/vg1/data /mnt/t/data
btrfs subvolume create /mnt/t/data/@ && btrfs subvolume create /mnt/t/data/@home
btrfs subvolume create /mnt/t/data/@/var
btrfs subvolume set-default "$(btrfs subvolume list /mnt/t/data | awk '$NF == "@" { print $2 }')" /mnt/t/data`,
  },
];
