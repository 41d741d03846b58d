/**
 * The test files that boot QEMU guests (the boot and drill tiers). Under TCG a guest keeps a core
 * busy for each of its virtual CPUs, so vitest.config.ts runs these one file at a time in a
 * project of their own: more guests than cores starve each other past their timeouts. Within a
 * file, tests marked concurrent run two at a time, their guests on one virtual CPU each
 * (SIDE_BY_SIDE_CPUS in src/boot/qemu.ts). test/support/guest-files.test.ts checks this list
 * against the files that declare the boot or drill tier.
 */
export const GUEST_FILES = [
  'test/drill/drill.test.ts',
  'test/layout/layout-recreate.test.ts',
  'test/build/iso.test.ts',
  'test/build/media-boot.test.ts',
  'test/build/network-mode.test.ts',
  'test/build/recipe-packages-boot.test.ts',
  'test/build/rootfs-boot.test.ts',
  'test/recover/destinations.test.ts',
  'test/outputs/obdr.test.ts',
  'test/outputs/pxe-boot.test.ts',
  'test/outputs/rawdisk-boot.test.ts',
  'test/outputs/usb.test.ts',
  'test/backup/methods-rescue.test.ts',
  'test/backup/tape.test.ts',
  'test/backup/restic-rescue.test.ts',
];
