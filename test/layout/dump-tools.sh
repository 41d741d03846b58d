#!/bin/bash
# Records what the standard storage tools say about the guest's disks, one file each, into
# $1 (default tools/): the unit tests of the layout parsers run on these real outputs.
# The LVM fields are src/layout/parse-lvm.ts LVM_REPORT_FIELDS; keep the two the same.
set -u
dir=${1:-tools}
mkdir -p "$dir"
udevadm settle
save() { local name=$1; shift; "$@" >"$dir/$name" 2>"$dir/$name.err" || echo "exit $?" >>"$dir/$name.err"; }
save lsblk.json lsblk --json --bytes --paths --output-all
for disk in $(lsblk --list --noheadings --paths --nodeps --output NAME,TYPE | awk '$2 == "disk" { print $1 }'); do
  save "sfdisk-${disk##*/}.json" sfdisk --json "$disk"
done
save pvs.json pvs --reportformat json --units b --nosuffix -o pv_name,pv_uuid,vg_name,pv_size,pe_start
save vgs.json vgs --reportformat json --units b --nosuffix -o vg_name,vg_uuid,vg_extent_size,vg_size
save lvs.json lvs --reportformat json --units b --nosuffix -a -o lv_name,vg_name,lv_uuid,lv_size,segtype,stripes,stripe_size,pool_lv,lv_layout,lv_dm_path,devices
for md in /dev/md[0-9]*; do
  [ -b "$md" ] || continue
  save "mdadm-detail-${md##*/}.txt" mdadm --detail "$md"
  save "mdadm-export-${md##*/}.txt" mdadm --detail --export "$md"
done
for dev in $(blkid -o device); do
  name=$(echo "$dev" | tr / _)
  save "blkid$name.txt" blkid -p -o export "$dev"
  case $(blkid -p -s TYPE -o value "$dev") in
    crypto_LUKS) save "luksdump$name.txt" cryptsetup luksDump "$dev"
      save "luksdump$name.json" cryptsetup luksDump --dump-json-metadata "$dev" ;;
    ext2 | ext3 | ext4) save "tune2fs$name.txt" tune2fs -l "$dev" ;;
    xfs) save "xfsdb$name.txt" xfs_db -r -c info "$dev" ;;
    vfat) save "fsck-fat$name.txt" fsck.fat -n -v "$dev" ;;
  esac
done
save findmnt.json findmnt --json --real --output SOURCE,TARGET,FSTYPE,OPTIONS
for mnt in $(findmnt --list --noheadings --types btrfs --output TARGET); do
  name=$(echo "$mnt" | tr / _)
  save "btrfs-list$name.txt" btrfs subvolume list -a "$mnt"
  save "btrfs-default$name.txt" btrfs subvolume get-default "$mnt"
done
save swaps.txt cat /proc/swaps
exit 0
