import { closeSync, openSync, readSync } from 'node:fs';

/**
 * The files of an ISO 9660 image, read from its directory records (no Rock Ridge, no Joliet:
 * names as the plain ISO 9660 tree has them, lower-cased, without ";1"). This machine's kernel
 * has no iso9660 driver to mount one with, and the tests need only where each file's bytes are.
 */
export interface IsoFile {
  path: string;
  /** Byte offset of the file's extent in the image. */
  offset: number;
  size: number;
}

const SECTOR = 2048;

export function isIso(head: Buffer): boolean {
  return head.length >= 0x8006 && head.toString('latin1', 0x8001, 0x8006) === 'CD001';
}

export function isoFiles(image: string): IsoFile[] {
  const fd = openSync(image, 'r');
  try {
    const read = (offset: number, length: number) => {
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, offset);
      return buffer;
    };
    const pvd = read(16 * SECTOR, SECTOR);
    if (pvd.toString('latin1', 1, 6) !== 'CD001')
      throw new Error(`${image} is not an ISO 9660 image`);
    const files: IsoFile[] = [];
    const walk = (extent: number, size: number, dir: string, depth: number) => {
      if (depth > 16) throw new Error(`${image}: directories nested deeper than 16`);
      const records = read(extent * SECTOR, size);
      let at = 0;
      while (at < records.length) {
        const length = records[at] ?? 0;
        // A record never spans sectors: the rest of a sector after a zero length is padding.
        if (length === 0) {
          at = (Math.floor(at / SECTOR) + 1) * SECTOR;
          continue;
        }
        const record = records.subarray(at, at + length);
        at += length;
        const nameLength = record[32] ?? 0;
        const name = record.subarray(33, 33 + nameLength);
        // "." and "..": one byte, 0 and 1.
        if (nameLength === 1 && (name[0] === 0 || name[0] === 1)) continue;
        const path = `${dir}/${name.toString('latin1').replace(/;\d+$/, '').replace(/\.$/, '').toLowerCase()}`;
        const childExtent = record.readUInt32LE(2);
        const childSize = record.readUInt32LE(10);
        if ((record[25] ?? 0) & 2) walk(childExtent, childSize, path, depth + 1);
        else files.push({ path, offset: childExtent * SECTOR, size: childSize });
      }
    };
    walk(pvd.readUInt32LE(156 + 2), pvd.readUInt32LE(156 + 10), '', 0);
    return files;
  } finally {
    closeSync(fd);
  }
}
