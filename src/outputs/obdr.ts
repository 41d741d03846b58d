import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeObdrHead } from '../backup/tape-obdr.js';
import type { Config } from '../config/schema.js';
import { ISO_FILE, isoOutput } from './iso.js';
import type { Output } from './output.js';

/**
 * OBDR (ReaR OUTPUT=OBDR): a One-Button Disaster Recovery tape. A drive switched into its CD-ROM
 * emulation boots the rescue ISO from the tape's first files; the rescue system then restores
 * the backup that follows the ISO on the same tape (docs/tape.md).
 *
 * make: the same hybrid ISO as the iso output (made once when both are asked for).
 * writeBeforeBackup: the tape is written by the backup, never by a build. mkbackup and
 * mkbackuponly write the label and this ISO (src/backup/tape-obdr.ts), then the backup after
 * them, in one run: the ISO on a tape always goes with the backup behind it, and a build on a
 * machine with no drive (lifeboat build) makes the ISO that a host's mkbackuponly writes later.
 */
function tapeProblems(config: Config): string[] {
  const url = config.backup.url;
  if (url?.startsWith('tape://') && config.backup.method === 'netfs') return [];
  return [
    `output obdr: the backup follows the ISO on the tape, so it needs backup.method netfs and backup.url tape:///dev/nstN (backup.url is ${url === undefined ? 'not set' : url.replace(/\/\/[^/@]*@/, '//')})`,
  ];
}

export const obdrOutput: Output = {
  name: 'obdr',
  summary:
    'a bootable tape: the rescue ISO at its start, the backup after it (written by mkbackup)',
  builderPrograms: isoOutput.builderPrograms,

  check(config) {
    return [...isoOutput.check(config), ...tapeProblems(config)].map((problem) =>
      problem.replace(/^output iso:/, 'output obdr:'),
    );
  },

  async make(rescue) {
    // The iso output, when asked for too, made these very bytes already.
    if (existsSync(join(rescue.dir, ISO_FILE))) return [ISO_FILE];
    return isoOutput.make(rescue);
  },

  writeBeforeBackup: ({ config, log }) => writeObdrHead({ config, iso: ISO_FILE, log }),

  // --boot-test boots the ISO as the drive's CD-ROM emulation would present it.
  bootMedium: (outDir) => isoOutput.bootMedium(outDir),
};
