import { readFileSync } from 'node:fs';

/**
 * The tape files on a virtual cartridge, read from tgt's backing file (its ssc format) on this
 * machine, so a test checks what a guest wrote to the tape without the drive: the bytes as they
 * are on the cartridge, not as lifeboat reads them back.
 *
 * The file is a chain of blocks, each with a 48-byte big-endian header: checksum, size on disk,
 * block size, type, block number, and the offsets of the previous, this and the next header. The
 * first block is the beginning of tape (with the cartridge's MAM data), the last the end of data;
 * between them data blocks (the block's bytes follow its header) and file marks.
 */
const HEADER = 48;
const BOT = 0x10;
const EOD = 0x20;
const FILEMARK = 0x40;

/** Each tape file's bytes, in tape order; the data after the last file mark, if any, last. */
export function cartridgeFiles(cartridge: string): Buffer[] {
  const bytes = readFileSync(cartridge);
  const files: Buffer[] = [];
  let blocks: Buffer[] = [];
  let at = 0;
  for (let seen = 0; ; seen += 1) {
    if (at + HEADER > bytes.length) throw new Error(`${cartridge}: the chain ends at ${at}`);
    const type = bytes.readUInt32BE(at + 12);
    const next = Number(bytes.readBigUInt64BE(at + 40));
    if (type === EOD) break;
    if (type === FILEMARK) {
      files.push(Buffer.concat(blocks));
      blocks = [];
    } else if (type !== BOT) {
      const blockSize = bytes.readUInt32BE(at + 8);
      blocks.push(bytes.subarray(at + HEADER, at + HEADER + blockSize));
    }
    if (next <= at) throw new Error(`${cartridge}: block ${seen} at ${at} points back to ${next}`);
    at = next;
  }
  if (blocks.length > 0) files.push(Buffer.concat(blocks));
  return files;
}
