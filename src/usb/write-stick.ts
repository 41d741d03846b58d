import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MountDestination } from '../backup/destination-mount.js';
import { streamText } from '../backup/streams.js';
import type { Config } from '../config/schema.js';
import { errorMessage, JobError } from '../errors.js';
import type { ToolRunner } from '../layout/capture.js';
import type { Log } from '../log/log.js';
import { embeddedCore, mbrBootCode } from './grub-bios.js';
import { findStick, type Stick, tooSmall } from './stick.js';
import { newestFirst, nextRunName, RUN_NAME, type StickRun, stickMenu } from './stick-menu.js';

/**
 * The usb output's write half: the tree its make half left (src/outputs/usb.ts) put on a stick
 * that `lifeboat format` made. In order, after every check (src/usb/stick.ts) and before any
 * boot area is touched:
 *
 *   1. the data partition is mounted (a loop device over its bytes: a stick or an image file);
 *   2. the rescue system goes to lifeboat/HOST/RUN/ (RUN: the time, UTC), run.json last, so a run
 *      without one is an interrupted write;
 *   3. the host's runs beyond usb.retain are removed, oldest first, and interrupted ones with them;
 *   4. lifeboat/grub.cfg is written again from every run.json on the stick, newest first;
 *   5. the BIOS boot code (sector 0, the BIOS boot partition) and the EFI System partition's file
 *      system are written where they differ: the same bytes at every write (one GRUB for every
 *      host on the stick), so only a stick's first write (or a new lifeboat's) changes them.
 *
 * Only lifeboat/HOST/RUN directories are ever removed: usb:// backups beside them
 * (lifeboat/HOST/<backup id>/) keep their own retention (backup.keep).
 */
export interface StickWriteRequest {
  config: Config;
  /** output.url: usb:///dev/disk/by-label/LABEL, usb:///dev/sdX or usb:///path/stick.img. */
  url: string;
  /** The usb output's tree in the build's output directory. */
  tree: string;
  run: ToolRunner;
  log: Log;
  /** When the run was written: its directory's name. */
  now?: Date;
}

export interface StickWriteResult {
  stick: Stick;
  /** lifeboat/HOST/RUN, the directory written. */
  written: string;
  /** The run directories removed (retention, interrupted writes). */
  removed: string[];
  /** Every run on the stick after the write, as the menu lists them (newest first). */
  menu: StickRun[];
}

/** The usb output's tree: what the make half leaves, what this reads. */
export const TREE = {
  bootImg: 'boot/boot.img',
  coreImg: 'boot/core.img',
  espImg: 'boot/esp.img',
  rescue: ['vmlinuz', 'initrd.img'].map((name) => ({ local: `rescue/${name}`, name })),
  runJson: 'run.json',
} as const;

/** Where the runs go on the data partition. */
export const STICK_DIR = 'lifeboat';
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;

export async function writeStick(request: StickWriteRequest): Promise<StickWriteResult> {
  const { config, url, tree, log } = request;
  const template = JSON.parse(await readFile(join(tree, TREE.runJson), 'utf8')) as Omit<
    StickRun,
    'run'
  >;
  if (!HOST_NAME.test(template.host))
    throw new JobError(`output usb: the host name "${template.host}" cannot be a directory name`);
  const bootImg = await readFile(join(tree, TREE.bootImg));
  const coreImg = await readFile(join(tree, TREE.coreImg));
  const espImg = await readFile(join(tree, TREE.espImg));

  // Every check before the first byte is written.
  const stick = await findStick(url, config.usb.label, request.run);
  const core = stick.biosBoot && embeddedCore(coreImg, stick.biosBoot.startBytes / 512);
  if (stick.biosBoot && core && core.length > stick.biosBoot.sizeBytes)
    throw tooSmall('BIOS boot partition', core.length, stick.biosBoot.sizeBytes);
  if (stick.efiSystem && espImg.length > stick.efiSystem.sizeBytes)
    throw tooSmall('EFI System partition', espImg.length, stick.efiSystem.sizeBytes);
  log.info(
    `output usb: writing ${template.host}'s rescue system to ${stick.path} (PTUUID ${stick.ptuuid})`,
  );

  const data = new MountDestination(
    url,
    {
      source: stick.path,
      type: stick.data.filesystem,
      options: `loop,offset=${stick.data.startBytes},sizelimit=${stick.data.sizeBytes}`,
      path: STICK_DIR,
    },
    log,
    'output.url',
  );
  let written: string;
  let removed: string[];
  let menu: StickRun[];
  try {
    await data.open('write');
    const existing = await data.list(template.host).catch(() => []);
    const name = nextRunName(request.now ?? new Date(), existing);
    written = `${template.host}/${name}`;
    const run: StickRun = { ...template, run: name };
    for (const file of TREE.rescue)
      await data.write(`${written}/${file.name}`, createReadStream(join(tree, file.local)));
    // Last: a run with a run.json is complete.
    await data.write(
      `${written}/${TREE.runJson}`,
      Readable.from([`${JSON.stringify(run, null, 2)}\n`]),
    );
    removed = await removeOldRuns(data, template.host, name, config.usb.retain);
    menu = await stickRuns(data);
    await data.write('grub.cfg', Readable.from([stickMenu(menu, run, stick.ptuuid)]));
  } finally {
    await data.close();
  }
  await writeBootAreas(stick, bootImg, core, espImg);
  for (const dir of removed) log.info(`output usb: removed ${STICK_DIR}/${dir} (usb.retain)`);
  return { stick, written: `${STICK_DIR}/${written}`, removed, menu };
}

/**
 * Removes the host's runs beyond the `retain` newest complete ones, and every interrupted run
 * (no run.json) but the one just written. Returns HOST/RUN of each.
 */
async function removeOldRuns(
  data: MountDestination,
  host: string,
  current: string,
  retain: number,
): Promise<string[]> {
  const runs = (await data.list(host))
    .filter((n) => RUN_NAME.test(n))
    .sort()
    .reverse();
  const complete: string[] = [];
  const doomed: string[] = [];
  for (const run of runs) {
    const files = await data.list(`${host}/${run}`);
    if (run !== current && !files.includes(TREE.runJson)) doomed.push(run);
    else if (complete.push(run) > retain) doomed.push(run);
  }
  for (const run of doomed) await data.remove(`${host}/${run}`);
  return doomed.map((run) => `${host}/${run}`);
}

/** Every complete run on the stick, every host's. */
async function stickRuns(data: MountDestination): Promise<StickRun[]> {
  const runs: StickRun[] = [];
  for (const host of (await data.list('')).filter((n) => HOST_NAME.test(n))) {
    for (const name of (await data.list(host).catch(() => [])).filter((n) => RUN_NAME.test(n))) {
      const files = await data.list(`${host}/${name}`);
      if (!files.includes(TREE.runJson)) continue;
      const text = await streamText(await data.read(`${host}/${name}/${TREE.runJson}`));
      runs.push({ ...(JSON.parse(text) as StickRun), host, run: name });
    }
  }
  return newestFirst(runs);
}

/** The boot code, GRUB's core image and the EFI System partition's file system. */
async function writeBootAreas(
  stick: Stick,
  bootImg: Buffer,
  core: Buffer | undefined,
  espImg: Buffer,
): Promise<void> {
  const handle = await open(stick.path, 'r+').catch((error: unknown) => {
    throw new JobError(`output.url: cannot open ${stick.path} to write (${errorMessage(error)})`, {
      cause: error,
    });
  });
  // Each area is written only when it holds other bytes: after the first write they are the
  // same, and a later write (or its interruption) never touches what boots the stick.
  const writeIfChanged = async (bytes: Buffer, offset: number) => {
    const current = Buffer.alloc(bytes.length);
    await handle.read(current, 0, bytes.length, offset);
    if (!current.equals(bytes)) await handle.write(bytes, 0, bytes.length, offset);
  };
  try {
    if (stick.biosBoot && core) {
      await writeIfChanged(mbrBootCode(bootImg, stick.biosBoot.startBytes / 512), 0);
      await writeIfChanged(core, stick.biosBoot.startBytes);
    }
    if (stick.efiSystem) await writeIfChanged(espImg, stick.efiSystem.startBytes);
    await handle.sync();
  } catch (error) {
    throw new JobError(`output.url: writing ${stick.path} failed (${errorMessage(error)})`, {
      cause: error,
    });
  } finally {
    await handle.close();
  }
}
