/**
 * MD RAID arrays, created again with their UUID, name, superblock version, level, chunk and
 * layout, so mdadm.conf and the initramfs find them unchanged.
 */
import type { RaidArray } from './model.js';
import type { Component } from './recreate-graph.js';
import {
  checkDevicePath,
  checkPositiveInteger,
  RecreateError,
  shellQuote,
} from './recreate-shell.js';

/** Levels where a chunk size means nothing to mdadm (it refuses --chunk for raid1). */
const NO_CHUNK_LEVELS = new Set(['raid1', '1', 'mirror', 'linear']);
/**
 * Levels where --assume-clean is harmless: mirrors whose legs differ only where nothing was
 * written yet. Parity levels resync instead: writes that read old parity must find it right.
 */
const ASSUME_CLEAN_LEVELS = new Set(['raid1', '1', 'mirror', 'raid10', '10']);

export function raidComponent(raid: RaidArray): Component {
  const device = checkDevicePath(raid.device, `raid:${raid.device}`);
  const id = `raid:${device}`;
  const members = raid.devices.map((member) => checkDevicePath(member, id));
  const spares = raid.spares.map((spare) => checkDevicePath(spare, id));
  if (members.length === 0) throw new RecreateError(`${id} has no member devices`);
  return {
    id,
    provides: [device],
    needs: [...members, ...spares],
    tools: ['mdadm', 'wipefs'],
    render: () => renderRaid(raid, id, members, spares),
  };
}

function renderRaid(raid: RaidArray, id: string, members: string[], spares: string[]): string[] {
  const device = shellQuote(raid.device);
  const level = raid.level.toLowerCase();
  const options = [
    `--uuid=${shellQuote(raid.uuid)}`,
    `--metadata=${shellQuote(raid.metadata)}`,
    `--level=${shellQuote(raid.level)}`,
  ];
  if (raid.chunkKiB !== undefined && !NO_CHUNK_LEVELS.has(level)) {
    options.push(`--chunk=${shellQuote(checkPositiveInteger(raid.chunkKiB, 'chunk', id))}`);
  }
  if (raid.layout !== undefined && raid.layout !== '') {
    options.push(`--layout=${shellQuote(raid.layout)}`);
  }
  options.push(`--raid-devices=${shellQuote(members.length)}`);
  if (spares.length > 0) options.push(`--spare-devices=${shellQuote(spares.length)}`);
  // 0.90 superblocks have no name field.
  if (raid.name !== undefined && raid.name !== '' && raid.metadata !== '0.90') {
    options.push(`--name=${shellQuote(raid.name)}`);
  }
  if (ASSUME_CLEAN_LEVELS.has(level)) options.push('--assume-clean');

  const lines = [
    `# ${id}: ${commentLevel(raid.level)} of ${members.join(' ')}${spares.length > 0 ? ` (spares ${spares.join(' ')})` : ''}`,
    '# An array that exists but is not assembled is created anew: assemble it first to keep it.',
    `if md_uuid_is ${device} ${shellQuote(raid.uuid)}; then`,
    `  say ${shellQuote(`RAID array ${raid.device} exists, skipped`)}`,
    'else',
    `  say ${shellQuote(`creating RAID array ${raid.device}`)}`,
  ];
  for (const member of [...members, ...spares])
    lines.push(`  wipe_signatures ${shellQuote(member)}`);
  lines.push(
    // --run: never ask "continue creating array?" about what the members held before.
    `  run mdadm --create ${device} --run ${options.join(' ')} \\`,
    `    ${[...members, ...spares].map(shellQuote).join(' ')}`,
    `  wait_for_device ${device}`,
    '  # The members sit where the old ones did: wipe what the old array left inside.',
    `  wipe_signatures ${device}`,
    'fi',
  );
  return lines;
}

/** The level is free text from the layout: only letters and digits go into a comment. */
function commentLevel(level: string): string {
  return /^[A-Za-z0-9]+$/.test(level) ? level : 'RAID';
}
