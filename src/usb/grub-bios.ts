/**
 * GRUB's BIOS boot on a GPT stick, as grub-bios-setup --no-rs-codes writes it, done here so that
 * writing a stick needs no GRUB on this machine: the builder image made boot.img and core.img
 * (images/debian-bookworm/steps/make-usb); this fills in where they sit. A BIOS loads sector 0
 * (boot.img's code), which loads the first sector of core.img from `coreSector`, whose block list
 * names the sectors of the rest.
 *
 * Offsets are GRUB's (include/grub/i386/pc/boot.h, kernel.h); test/outputs/usb.test.ts boots the
 * result.
 */
const SECTOR = 512;
/** boot.img: the 64-bit sector number of core.img's first sector. */
const KERNEL_SECTOR = 0x5c;
/** boot.img: the BIOS drive to boot from; 0xff: the one the BIOS booted. */
const BOOT_DRIVE = 0x64;
/** boot.img: a jump over the check that works around BIOSes passing a floppy's drive number. */
const DRIVE_CHECK = 0x66;
/** The MBR's disk signature and partition table start here: boot code is what comes before. */
export const BOOT_CODE_BYTES = 440;
/** core.img: its first block list entry ends its first sector (start u64, length u16, segment u16). */
const BLOCKLIST = SECTOR - 12;
/** Where the BIOS loads the rest of core.img: GRUB_BOOT_I386_PC_KERNEL_SEG + one sector. */
const CORE_SEGMENT = 0x800 + (SECTOR >> 4);

/**
 * The boot code for sector 0 (its first 440 bytes): boot.img pointing at core.img's first
 * sector, on the drive the BIOS booted, with the drive-number workaround on (a hard disk, as a
 * stick is to a BIOS), and no BPB (a GPT disk has none: those bytes are zero).
 */
export function mbrBootCode(bootImg: Buffer, coreSector: number): Buffer {
  if (bootImg.length !== SECTOR) throw new Error(`boot.img is ${bootImg.length} bytes, not 512`);
  const code = Buffer.from(bootImg.subarray(0, BOOT_CODE_BYTES));
  code.fill(0, 3, 0x5a);
  code.writeBigUInt64LE(BigInt(coreSector), KERNEL_SECTOR);
  code[BOOT_DRIVE] = 0xff;
  code[DRIVE_CHECK] = 0x90; // nop
  code[DRIVE_CHECK + 1] = 0x90; // nop
  return code;
}

/**
 * core.img as it sits from `coreSector` on: padded to whole sectors, its block list naming the
 * sectors after the first (one contiguous run, loaded at CORE_SEGMENT).
 */
export function embeddedCore(coreImg: Buffer, coreSector: number): Buffer {
  const sectors = Math.ceil(coreImg.length / SECTOR);
  const core = Buffer.alloc(sectors * SECTOR);
  coreImg.copy(core);
  core.writeBigUInt64LE(BigInt(coreSector + 1), BLOCKLIST);
  core.writeUInt16LE(sectors - 1, BLOCKLIST + 8);
  core.writeUInt16LE(CORE_SEGMENT, BLOCKLIST + 10);
  // The entry before it ends the list.
  core.fill(0, BLOCKLIST - 12, BLOCKLIST);
  return core;
}
