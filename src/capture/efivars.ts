/**
 * Parsers for the UEFI boot variables as efivarfs shows them (one file per variable, named
 * NAME-VENDORGUID, its content 4 bytes of attributes then the value), so that the boot entries
 * the firmware holds can be recorded and recreated after a restore. Pure functions on bytes:
 * reading the files is the caller's business. Firmware writes what it likes into these
 * variables, so every length is checked and a malformed value throws EfiVarFormatError, which
 * the caller turns into a warning.
 */

/** EFI_GLOBAL_VARIABLE: the vendor GUID of BootOrder, BootCurrent and Boot####. */
export const EFI_GLOBAL_GUID = '8be4df61-93ca-11d2-aa0d-00e098032b8c';

/** EFI_LOAD_OPTION.Attributes bit: the entry takes part in booting. */
export const LOAD_OPTION_ACTIVE = 0x1;

const DEVICE_PATH_MEDIA = 0x04;
const MEDIA_FILEPATH = 0x04;
const DEVICE_PATH_END = 0x7f;
const END_ENTIRE = 0xff;
const END_INSTANCE = 0x01;

export class EfiVarFormatError extends Error {}

/** One decoded EFI_LOAD_OPTION (a Boot#### variable's value). */
export interface LoadOption {
  attributes: number;
  active: boolean;
  description: string;
  /** The file the entry starts (`\EFI\debian\shimx64.efi`), from its Media File Path node. */
  path: string | null;
}

/** The value of an efivarfs file: everything after its 4 bytes of attributes. */
export function efivarValue(file: Uint8Array): Buffer {
  if (file.length < 4) throw new EfiVarFormatError(`${file.length} bytes: no attribute header`);
  return Buffer.from(file.buffer, file.byteOffset + 4, file.length - 4);
}

/** A boot entry number as the firmware names it: Boot0001 → "0001" (4 upper-case hex digits). */
export function formatBootId(id: number): string {
  return id.toString(16).toUpperCase().padStart(4, '0');
}

/** BootCurrent: one UINT16. */
export function parseBootCurrent(value: Buffer): string {
  if (value.length !== 2)
    throw new EfiVarFormatError(`BootCurrent of ${value.length} bytes, not 2`);
  return formatBootId(value.readUInt16LE(0));
}

/** BootOrder: an array of UINT16, in boot order. */
export function parseBootOrder(value: Buffer): string[] {
  if (value.length % 2 !== 0)
    throw new EfiVarFormatError(`BootOrder of odd length ${value.length}`);
  const ids: string[] = [];
  for (let offset = 0; offset < value.length; offset += 2) {
    ids.push(formatBootId(value.readUInt16LE(offset)));
  }
  return ids;
}

/** UTF-16LE text up to its first NUL (or the end). */
function utf16z(bytes: Buffer): string {
  const text = bytes.subarray(0, bytes.length - (bytes.length % 2)).toString('utf16le');
  const nul = text.indexOf('\0');
  return nul === -1 ? text : text.slice(0, nul);
}

/**
 * The file path of the first device path instance in `list`: the Media File Path node (type 4,
 * subtype 4). null when the entry starts no file (network boot, a firmware application, a whole
 * disk whose removable-media path the firmware derives).
 */
export function devicePathFile(list: Buffer): string | null {
  let offset = 0;
  while (offset + 4 <= list.length) {
    const type = list[offset];
    const subtype = list[offset + 1];
    const length = list.readUInt16LE(offset + 2);
    if (length < 4 || offset + length > list.length) {
      throw new EfiVarFormatError(`device path node of length ${length} at offset ${offset}`);
    }
    if (type === DEVICE_PATH_END && (subtype === END_ENTIRE || subtype === END_INSTANCE)) break;
    if (type === DEVICE_PATH_MEDIA && subtype === MEDIA_FILEPATH) {
      return utf16z(list.subarray(offset + 4, offset + length));
    }
    offset += length;
  }
  return null;
}

/**
 * Decodes an EFI_LOAD_OPTION (UEFI spec 3.1.3): UINT32 Attributes, UINT16 FilePathListLength,
 * CHAR16 Description[] NUL-terminated, EFI_DEVICE_PATH_PROTOCOL FilePathList[], optional data.
 */
export function parseLoadOption(value: Uint8Array): LoadOption {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.length);
  if (bytes.length < 8) throw new EfiVarFormatError(`load option of ${bytes.length} bytes`);
  const attributes = bytes.readUInt32LE(0);
  const filePathListLength = bytes.readUInt16LE(4);
  let end = 6;
  while (end + 1 < bytes.length && bytes.readUInt16LE(end) !== 0) end += 2;
  if (end + 1 >= bytes.length) throw new EfiVarFormatError('description is not NUL-terminated');
  const description = bytes.subarray(6, end).toString('utf16le');
  const listStart = end + 2;
  if (listStart + filePathListLength > bytes.length) {
    throw new EfiVarFormatError(
      `file path list of ${filePathListLength} bytes overruns the ${bytes.length}-byte option`,
    );
  }
  const path = devicePathFile(bytes.subarray(listStart, listStart + filePathListLength));
  return {
    attributes,
    active: (attributes & LOAD_OPTION_ACTIVE) !== 0,
    description,
    path,
  };
}
