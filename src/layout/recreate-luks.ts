/**
 * LUKS volumes, formatted again with their UUID, version, cipher, key size, hash, PBKDF and
 * label (so crypttab's UUID= lines still match), then opened under their captured mapping name
 * so what is built inside appears where the layout says. The passphrase is never in the layout:
 * it comes from the file LIFEBOAT_LUKS_KEY_FILE names, which the script checks before it starts.
 */
import type { LuksVolume } from './model.js';
import type { Component } from './recreate-graph.js';
import {
  checkDevicePath,
  checkPathSegment,
  checkPositiveInteger,
  RecreateError,
  shellQuote,
} from './recreate-shell.js';

/** The expansion of the key file variable: a reference to the environment, not layout text. */
const KEY_FILE = '"$LIFEBOAT_LUKS_KEY_FILE"';

export function luksComponent(luks: LuksVolume): Component {
  const device = checkDevicePath(luks.device, `luks:${luks.device}`);
  const id = `luks:${device}`;
  const mapping = checkPathSegment(luks.mapping, `${id} (its mapping)`);
  if (luks.version !== 1 && luks.version !== 2) {
    throw new RecreateError(`${id}: LUKS version ${JSON.stringify(luks.version)} is not 1 or 2`);
  }
  const mapped = checkDevicePath(`/dev/mapper/${mapping}`, id);
  return {
    id,
    provides: [mapped],
    needs: [device],
    tools: ['cryptsetup', 'wipefs'],
    render: () => renderLuks(luks, id, mapping, mapped),
  };
}

function renderLuks(luks: LuksVolume, id: string, mapping: string, mapped: string): string[] {
  const device = shellQuote(luks.device);
  const format = [
    '--batch-mode',
    `--type ${shellQuote(`luks${luks.version}`)}`,
    `--uuid ${shellQuote(luks.uuid)}`,
    `--cipher ${shellQuote(luks.cipher)}`,
    `--key-size ${shellQuote(checkPositiveInteger(luks.keySize, 'key size', id))}`,
  ];
  if (luks.hash !== undefined) format.push(`--hash ${shellQuote(luks.hash)}`);
  // LUKS1 always derives its key with PBKDF2 and has no label: cryptsetup refuses the others.
  if (luks.pbkdf !== undefined && (luks.version === 2 || luks.pbkdf === 'pbkdf2')) {
    format.push(`--pbkdf ${shellQuote(luks.pbkdf)}`);
  }
  if (luks.label !== undefined && luks.label !== '' && luks.version === 2) {
    format.push(`--label ${shellQuote(luks.label)}`);
  }
  format.push(`--key-file ${KEY_FILE}`);
  return [
    `# ${id}: LUKS${luks.version} volume, opened as ${mapped}`,
    `if luks_uuid_is ${device} ${shellQuote(luks.uuid)}; then`,
    `  say ${shellQuote(`LUKS volume on ${luks.device} exists, skipped`)}`,
    'else',
    `  say ${shellQuote(`creating LUKS${luks.version} volume on ${luks.device}`)}`,
    `  wipe_signatures ${device}`,
    `  run cryptsetup luksFormat ${format.join(' ')} ${device}`,
    'fi',
    `if ! cryptsetup status ${shellQuote(mapping)} >/dev/null 2>&1; then`,
    `  run cryptsetup open --type luks --key-file ${KEY_FILE} ${device} ${shellQuote(mapping)}`,
    `  wait_for_device ${shellQuote(mapped)}`,
    'fi',
  ];
}
