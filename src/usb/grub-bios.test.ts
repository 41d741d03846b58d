import { expect, it } from 'vitest';
import { BOOT_CODE_BYTES, embeddedCore, mbrBootCode } from './grub-bios.js';

// Stand-ins for GRUB's boot.img and core.img (the builder image has the real ones; the usb
// output's boot test boots them): what matters here is which bytes the writer changes.
const bootImg = Buffer.alloc(512, 0xaa);
const coreImg = Buffer.alloc(1000, 0xbb);

it('boot code: 440 bytes of boot.img, pointing at core.img, with the BPB cleared', () => {
  const code = mbrBootCode(bootImg, 2048);
  // Only the boot code: the disk signature and the partition table stay the stick's.
  expect(code.length).toBe(BOOT_CODE_BYTES);
  expect(code.readBigUInt64LE(0x5c)).toBe(2048n);
  expect(code[0x64]).toBe(0xff);
  expect([code[0x66], code[0x67]]).toEqual([0x90, 0x90]);
  expect(code.subarray(3, 0x5a).every((b) => b === 0)).toBe(true);
  expect(code.subarray(0x68).every((b) => b === 0xaa)).toBe(true);
  expect(() => mbrBootCode(Buffer.alloc(100), 2048)).toThrow(/not 512/);
});

it('core image: whole sectors, its block list naming the sectors after its first', () => {
  const core = embeddedCore(coreImg, 2048);
  expect(core.length).toBe(1024);
  expect(core.readBigUInt64LE(500)).toBe(2049n);
  expect(core.readUInt16LE(508)).toBe(1);
  expect(core.readUInt16LE(510)).toBe(0x820);
  expect(core.subarray(488, 500).every((b) => b === 0)).toBe(true);
  expect(core.subarray(512, 1000).every((b) => b === 0xbb)).toBe(true);
  expect(core.subarray(1000).every((b) => b === 0)).toBe(true);
});
