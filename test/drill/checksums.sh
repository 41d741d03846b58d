# The drill's fingerprint of a host, for run.sh inside the drill host (test/support/drill-host.ts
# hands this file in as /run/drill/in/checksums.sh: `source /run/drill/in/checksums.sh`).
#
#   drill_checksums [MOUNTPOINT...]   sha256sum of every regular file on each file system
#                                     (default: / and /boot/efi), sorted by path, minus what
#                                     changes from one boot to the next; into checksums.txt
#   drill_layout_ids                  blkid, lsblk -J -O and the LVM ids; into blkid.txt,
#                                     lsblk.json, lvm.json
#
# Both write into the working directory (/run/drill/out when the agent runs run.sh).
#
# Left out, because an ordinary boot rewrites them and the drill compares two different boots
# (the original host's and the recovered host's):
#   /var/log          the journal, wtmp, lastlog, apt's and dpkg's logs
#   /var/lib/systemd  random-seed, timer stamps, the catalog, coredumps, backlight and rfkill state
#   /var/cache        ldconfig's aux-cache, man and debconf caches
#   /var/tmp /tmp     scratch (PrivateTmp leftovers)
# /run is a tmpfs and never on these file systems. /etc/machine-id stays in: the fixture's is
# written when the image is made and never by a boot, and a recovered host must keep its identity.
# DRILL_CHECKSUM_EXCLUDE (space-separated path prefixes) adds more, for a drill that decides
# something else legitimately changes (say, what its recovery rewrites on purpose).

drill_checksums() {
  local mounts=("$@")
  [ "${#mounts[@]}" -gt 0 ] || mounts=(/ /boot/efi)
  local excluded=(/var/log /var/lib/systemd /var/cache /var/tmp /tmp /run ${DRILL_CHECKSUM_EXCLUDE:-})
  local prune=() path mount
  for path in "${excluded[@]}"; do
    prune+=(-path "$path" -prune -o)
  done
  for mount in "${mounts[@]}"; do
    mountpoint -q "$mount" || continue
    # -xdev: each file system on its own, so /proc, /sys and /run never come in.
    find "$mount" -xdev "${prune[@]}" -type f -print0
  done | LC_ALL=C sort -z -u | xargs -0 -r sha256sum >checksums.txt
}

drill_layout_ids() {
  blkid -o export >blkid.txt
  lsblk -J -O >lsblk.json
  {
    echo '{'
    echo '"pvs":'; pvs --reportformat json -o pv_name,pv_uuid,vg_name
    echo ',"vgs":'; vgs --reportformat json -o vg_name,vg_uuid
    echo ',"lvs":'; lvs --reportformat json -o lv_name,lv_uuid,vg_name,lv_size --units b
    echo '}'
  } >lvm.json
}
