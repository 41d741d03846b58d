import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { IsoFile } from './iso9660.js';

/**
 * The regular files of a newc cpio file (an uncompressed initrd) and where their bytes are,
 * read from the headers. An initrd may be several archives one after another (the kernel
 * unpacks each): GNU cpio stops at the first trailer, this goes on to the end.
 */
export function newcMembers(file: string): IsoFile[] {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(110);
    const members: IsoFile[] = [];
    let at = 0;
    const align = (n: number) => (n + 3) & ~3;
    while (at + 110 <= size) {
      readSync(fd, header, 0, 110, at);
      // Zeros between archives (padding to a block): skip to the next header.
      if (header[0] === 0) {
        at += 4;
        continue;
      }
      const magic = header.toString('latin1', 0, 6);
      if (magic !== '070701' && magic !== '070702')
        throw new Error(`${file}: no newc header at byte ${at}`);
      const field = (index: number) =>
        Number.parseInt(header.toString('latin1', 6 + index * 8, 14 + index * 8), 16);
      const mode = field(1);
      const fileSize = field(6);
      const nameSize = field(11);
      const name = Buffer.alloc(nameSize - 1);
      readSync(fd, name, 0, nameSize - 1, at + 110);
      const data = align(at + 110 + nameSize);
      const path = `/${name.toString('latin1').replace(/^\.?\//, '')}`;
      if ((mode & 0o170000) === 0o100000 && fileSize > 0)
        members.push({ path, offset: data, size: fileSize });
      at = align(data + fileSize);
    }
    return members;
  } finally {
    closeSync(fd);
  }
}
