#!/bin/bash
# Makes the drill's protected-host disk (test/support/drill-host.ts), run inside the lifeboat
# rescue system in QEMU: the host kernel here has no device-mapper and no vfat, the
# rescue system's Debian kernel has both.
#
#   /dev/disk/by-id/virtio-drilldisk   the blank disk to make (about 3 GiB, sparse)
#   /dev/disk/by-id/virtio-drillroot   a tar of the drill root (ci/fixtures/debian-root drill)
#   /tmp/in/image/                     the drill's own files, laid over the root (agent, network,
#                                      GRUB defaults)
#
# The result: GPT with a BIOS boot partition, an ESP and an LVM PV; VG drillvg with LVs root
# (ext4) and swap; fstab by UUID; an initramfs that finds root on LVM; GRUB for BIOS and UEFI.
set -euo pipefail
set -x

disk=$(readlink -f /dev/disk/by-id/virtio-drilldisk)
root_tar=/dev/disk/by-id/virtio-drillroot
target=/mnt/drill

# Partitions. GRUB for BIOS on GPT keeps its core.img in a BIOS boot partition (EF02, 1 MiB is
# plenty); UEFI firmware reads the ESP (EF00, FAT32); the rest is one LVM PV.
sgdisk --zap-all "$disk"
sgdisk \
  --new=1:2048:+1M --typecode=1:EF02 --change-name=1:bios \
  --new=2:0:+100M --typecode=2:EF00 --change-name=2:esp \
  --new=3:0:0 --typecode=3:8E00 --change-name=3:lvm \
  "$disk"
# The kernel rereads the table; udev makes the partition nodes. udev is still probing the disk
# after sgdisk's change (the device is busy then): wait for it, and retry a busy reread.
udevadm settle
for try in 1 2 3 4 5; do
  blockdev --rereadpt "$disk" && break
  # Still busy after five: partx adds the partitions one by one, which a busy disk allows.
  if [ "$try" = 5 ]; then partx --update "$disk" && break; exit 1; fi
  sleep 1
  udevadm settle
done
udevadm settle

# LVM: root and swap in drillvg, with free space left in the VG as on a real server (and room
# for whatever the recovery does with it).
pvcreate --yes "${disk}3"
vgcreate drillvg "${disk}3"
lvcreate --yes --name root --size 2G drillvg
lvcreate --yes --name swap --size 256M drillvg
udevadm settle

# File systems, labelled so a person reading blkid sees what is what.
mkfs.vfat -F 32 -n ESP "${disk}2"
mkfs.ext4 -q -L root /dev/drillvg/root
mkswap --label swap /dev/drillvg/swap

# The root: the fixture's files, owners, modes and capabilities as debootstrap made them.
mkdir -p "$target"
mount /dev/drillvg/root "$target"
tar --extract --file "$root_tar" --directory "$target" --numeric-owner --preserve-permissions \
  --xattrs --xattrs-include='*'
mkdir -p "$target/boot/efi"
mount "${disk}2" "$target/boot/efi"

# The drill's own files: the agent and its unit, DHCP for the NIC, GRUB defaults, no resume.
cp -r /tmp/in/image/. "$target/"
chmod 0755 "$target/usr/local/sbin/drill-agent"

# fstab by UUID, as an installer writes it: the recovery must bring these ids back.
cat >"$target/etc/fstab" <<EOF
# /etc/fstab of the lifeboat drill host
UUID=$(blkid -s UUID -o value /dev/drillvg/root) / ext4 errors=remount-ro 0 1
UUID=$(blkid -s UUID -o value "${disk}2") /boot/efi vfat umask=0077 0 1
UUID=$(blkid -s UUID -o value /dev/drillvg/swap) none swap sw 0 0
EOF

# The chroot sees the real devices (grub-probe, grub-install), udev's data and LVM's run
# directory (so LVM names resolve), proc and sys.
for fs in dev dev/pts proc sys run; do
  mount --bind "/$fs" "$target/$fs"
done

# Quieter, steadier boots: no timers that fetch package lists, back up dpkg's database or trim
# at boot (a drill compares every file before and after; these would write some at random).
rm -f "$target"/etc/systemd/system/timers.target.wants/*.timer

# Networking and the agent at boot. `systemctl enable` works offline in a chroot.
chroot "$target" systemctl enable systemd-networkd.service drill-agent.service

# drill-host.ts left some module trees out of the root (hardware a VM never has): index the
# modules that are there, so modprobe and udev never look for the others.
for kernel in "$target"/usr/lib/modules/*; do
  chroot "$target" depmod "$(basename "$kernel")"
done

# LVM's metadata backup of drillvg, in the host's own /etc/lvm: an installer leaves one there,
# and without it the host's first boot writes /etc/lvm/backup and /etc/lvm/archive itself,
# so its files would differ from one boot to the next (the fixture test saw exactly that).
chroot "$target" vgcfgbackup drillvg

# The root's own initramfs stays: the fixture made it with lvm2 installed (whose hook always takes
# lvm and its udev rules in, and MODULES=most every storage driver), so it finds root on LVM.
# Making it again here, under QEMU TCG, took minutes of every cold test run.

# GRUB for both firmwares: core.img into the BIOS boot partition; for UEFI the removable
# path EFI/BOOT/BOOTX64.EFI, which OVMF boots without an NVRAM entry (there is none).
chroot "$target" grub-install --target=i386-pc "$disk"
chroot "$target" grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram
chroot "$target" update-grub

# Leave it clean: unmounted, the VG deactivated, everything on the disk.
for fs in run sys proc dev/pts dev boot/efi; do
  umount "$target/$fs"
done
umount "$target"
vgchange --activate n drillvg
sync
lsblk -o NAME,SIZE,TYPE,FSTYPE,UUID,LABEL "$disk" >layout.txt
