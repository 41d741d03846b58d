import type { LuksVolume } from './model.js';
import { keyValueLines, numberOf, parseJson, ToolOutputError } from './parse-util.js';

/**
 * A LUKS header from `cryptsetup luksDump DEV` (version, UUID, label; LUKS1: cipher, key size,
 * hash) and, for LUKS2, `cryptsetup luksDump --dump-json-metadata DEV` (the segment's cipher,
 * the key size, the keyslot's PBKDF, the digest's hash). Keys are never read.
 */
export function parseLuksDump(
  device: string,
  mapping: string,
  dump: string,
  json?: string,
): LuksVolume {
  const text = keyValueLines(dump, /:\s*/);
  const version = numberOf(text.get('Version'));
  const uuid = text.get('UUID');
  if ((version !== 1 && version !== 2) || !uuid)
    throw new ToolOutputError('cryptsetup luksDump', `${device}: no LUKS version or UUID`);
  const label = text.get('Label');
  const base = {
    device,
    mapping,
    uuid,
    ...(label && label !== '(no label)' ? { label } : {}),
  };
  if (version === 1) {
    return {
      ...base,
      version: 1,
      cipher: `${text.get('Cipher name') ?? 'aes'}-${text.get('Cipher mode') ?? 'xts-plain64'}`,
      keySize: numberOf(text.get('MK bits')) ?? 256,
      hash: text.get('Hash spec'),
    };
  }
  if (json === undefined)
    throw new ToolOutputError('cryptsetup luksDump', `${device}: LUKS2 needs its JSON metadata`);
  const meta = parseJson('cryptsetup luksDump --dump-json-metadata', json) as {
    segments?: Record<string, { encryption?: string }>;
    keyslots?: Record<string, { key_size?: number; kdf?: { type?: string } }>;
    digests?: Record<string, { hash?: string }>;
  };
  const first = <T>(record: Record<string, T> | undefined): T | undefined =>
    record === undefined
      ? undefined
      : record[Object.keys(record).sort((a, b) => Number(a) - Number(b))[0] ?? ''];
  const keyslot = first(meta.keyslots);
  return {
    ...base,
    version: 2,
    cipher: first(meta.segments)?.encryption ?? 'aes-xts-plain64',
    keySize: (keyslot?.key_size ?? 64) * 8,
    ...(first(meta.digests)?.hash ? { hash: first(meta.digests)?.hash } : {}),
    ...(keyslot?.kdf?.type ? { pbkdf: keyslot.kdf.type } : {}),
  };
}
