import { describe, expect, it } from 'vitest';
import {
  devicePathFile,
  EfiVarFormatError,
  efivarValue,
  parseBootCurrent,
  parseBootOrder,
  parseLoadOption,
} from './efivars.js';

/** A device path node: type, subtype, UINT16 length (header included), data. */
function node(type: number, subtype: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt8(type, 0);
  header.writeUInt8(subtype, 1);
  header.writeUInt16LE(4 + data.length, 2);
  return Buffer.concat([header, data]);
}

function utf16z(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf16le');
}

/** A hard-drive media node (type 4, subtype 1): partition number, start, size, GPT signature. */
const HARD_DRIVE = node(4, 1, Buffer.alloc(38, 0x11));
const FILE = (path: string) => node(4, 4, utf16z(path));
const END = node(0x7f, 0xff);

function loadOption(
  attributes: number,
  description: string,
  nodes: Buffer[],
  extra = Buffer.alloc(0),
) {
  const list = Buffer.concat(nodes);
  const head = Buffer.alloc(6);
  head.writeUInt32LE(attributes, 0);
  head.writeUInt16LE(list.length, 4);
  return Buffer.concat([head, utf16z(description), list, extra]);
}

describe('parseLoadOption', () => {
  it('decodes an active entry with a file path', () => {
    const option = loadOption(1, 'debian', [HARD_DRIVE, FILE('\\EFI\\debian\\shimx64.efi'), END]);
    expect(parseLoadOption(option)).toEqual({
      attributes: 1,
      active: true,
      description: 'debian',
      path: '\\EFI\\debian\\shimx64.efi',
    });
  });

  it('decodes an inactive entry without a file (network boot) and ignores optional data', () => {
    const mac = node(3, 11, Buffer.alloc(33));
    const option = loadOption(
      0x100,
      'UEFI PXEv4 (MAC:525400AABBCC)',
      [mac, END],
      Buffer.from('WINDOWS'),
    );
    expect(parseLoadOption(option)).toEqual({
      attributes: 0x100,
      active: false,
      description: 'UEFI PXEv4 (MAC:525400AABBCC)',
      path: null,
    });
  });

  it('reads only the first device path instance', () => {
    const endInstance = node(0x7f, 0x01);
    const list = Buffer.concat([HARD_DRIVE, endInstance, FILE('\\second.efi'), END]);
    expect(devicePathFile(list)).toBeNull();
  });

  it('rejects malformed options', () => {
    expect(() => parseLoadOption(Buffer.alloc(3))).toThrow(EfiVarFormatError);
    // Description never terminated.
    const open = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0]), Buffer.from('abc', 'utf16le')]);
    expect(() => parseLoadOption(open)).toThrow(/NUL-terminated/);
    // FilePathListLength past the end.
    const long = loadOption(1, 'x', [END]);
    long.writeUInt16LE(200, 4);
    expect(() => parseLoadOption(long)).toThrow(/overruns/);
    // A node claiming a length smaller than its header would loop forever if trusted.
    const zero = loadOption(1, 'x', [Buffer.from([4, 4, 0, 0]), END]);
    expect(() => parseLoadOption(zero)).toThrow(/length 0/);
  });

  it('never fails on garbage with anything but EfiVarFormatError', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.alloc(random() % 80);
      for (let i = 0; i < bytes.length; i++) bytes[i] = random() % 256;
      // Some rounds keep a plausible header so the device path walk is exercised too.
      if (round % 2 === 0 && bytes.length >= 10) {
        bytes.writeUInt16LE(Math.max(0, bytes.length - 10), 4);
        bytes.writeUInt16LE(0, 6);
      }
      try {
        parseLoadOption(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(EfiVarFormatError);
      }
    }
  });
});

describe('efivarfs values', () => {
  const file = (value: number[]) => Buffer.from([0x07, 0, 0, 0, ...value]);

  it('strips the attribute header and decodes BootCurrent and BootOrder', () => {
    expect(parseBootCurrent(efivarValue(file([0x0a, 0x00])))).toBe('000A');
    expect(parseBootOrder(efivarValue(file([0x01, 0, 0x00, 0, 0x0b, 0x10])))).toEqual([
      '0001',
      '0000',
      '100B',
    ]);
    expect(() => efivarValue(Buffer.from([7, 0]))).toThrow(EfiVarFormatError);
    expect(() => parseBootCurrent(efivarValue(file([1])))).toThrow(EfiVarFormatError);
    expect(() => parseBootOrder(efivarValue(file([1, 0, 2])))).toThrow(EfiVarFormatError);
  });
});
