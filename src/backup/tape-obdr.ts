import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { sha256OfFile } from '../media/build-manifest.js';
import { openDestination, tapeFilesBefore } from './destination.js';
import { TapeDestination } from './destination-tape.js';
import { TapeDrive } from './tape-drive.js';

/**
 * The head of an OBDR tape (ReaR OUTPUT=OBDR): what a drive in CD-ROM emulation boots, before
 * the backup that the rescue system then restores from the same tape.
 *
 *   file 0     the label (tape.label, 20 blocks of 512 bytes)
 *   file 1     the rescue ISO, in tape.isoBlockSize blocks (2048: a CD-ROM's sectors)
 *   file 2…    empty files: tape.isoFileMarks - 1 more file marks (ReaR writes one with mt eof)
 *   then       the backup (destination-tape.ts, which positions after these)
 *
 * The ISO is the one the obdr output made, in output.dir beside its manifest.json: this run's
 * (mkbackup) or a build's copied there (mkbackuponly on a host with no container engine). Its
 * bytes are checked against manifest.json before the tape is touched.
 */
export interface ObdrHeadRequest {
  config: Config;
  /** The ISO's file name in output.dir (lifeboat.iso). */
  iso: string;
  log: Log;
}

/** Writes the label and the ISO onto backup.url's tape; returns what it wrote, for the log. */
export async function writeObdrHead({ config, iso, log }: ObdrHeadRequest): Promise<string> {
  const path = join(config.output.dir, iso);
  await checkIso(config.output.dir, iso);
  const tape = openDestination(config, log);
  if (!(tape instanceof TapeDestination)) {
    throw new UsageError(`output obdr: backup.url ${tape.display} is not a tape:// URL`, {
      hint: 'an OBDR tape holds the backup after the ISO: set backup.url to tape:///dev/nst0',
    });
  }
  const device = tape.spec.device;
  const drive = new TapeDrive(device, `${tape.key} ${tape.display}`, log);
  await drive.check('write');
  await drive.writeLabel(config.tape.label);
  await drive.writeFile(createReadStream(path), config.tape.isoBlockSize);
  await drive.writeFileMarks(config.tape.isoFileMarks - 1);
  return `${device}: label ${config.tape.label}, ${iso} in ${config.tape.isoBlockSize}-byte blocks; the backup follows at tape file ${tapeFilesBefore(config)}`;
}

/** The ISO is the one manifest.json in the same directory describes, byte for byte. */
async function checkIso(dir: string, iso: string): Promise<void> {
  const hint = `make it with lifeboat mkbackup (or lifeboat build with output obdr, its output copied to ${dir})`;
  const manifestText = await readFile(join(dir, 'manifest.json'), 'utf8').catch(() => undefined);
  if (manifestText === undefined) {
    throw new JobError(`output obdr: ${dir} holds no rescue media (no manifest.json)`, { hint });
  }
  let recorded: { name: string; sha256: string } | undefined;
  try {
    const manifest = JSON.parse(manifestText) as { artifacts?: { name: string; sha256: string }[] };
    recorded = manifest.artifacts?.find((a) => a.name === iso);
  } catch {
    throw new JobError(`output obdr: ${dir}/manifest.json is not JSON`, { hint });
  }
  if (recorded === undefined) {
    throw new JobError(`output obdr: ${dir}/manifest.json names no ${iso}`, { hint });
  }
  const actual = await sha256OfFile(join(dir, iso)).catch(() => undefined);
  if (actual !== recorded.sha256) {
    throw new JobError(
      `output obdr: ${join(dir, iso)} ${actual === undefined ? 'is not there' : 'is not the ISO its manifest.json describes'}`,
      { hint },
    );
  }
}
