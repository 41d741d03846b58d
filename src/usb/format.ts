import { execa, execaSync } from 'execa';
import { lastLine } from '../backup/pipeline.js';
import { which } from '../capture/fs-root.js';
import { JobError, UsageError } from '../errors.js';
import type { ToolRunner } from '../layout/capture.js';
import type { Log } from '../log/log.js';
import { onInterruptCleanup } from '../util/exit-cleanup.js';
import {
  type FilesystemKind,
  type FormatMode,
  type FormatPlan,
  type PlannedPartition,
  planFormat,
} from './format-plan.js';
import { inspectDevice, refusalOf, type TargetDevice } from './target-device.js';

/**
 * `lifeboat format DEVICE` (ReaR `rear format`): a stick, a disk or an image file prepared as a
 * lifeboat rescue stick (src/usb/format-plan.ts says what goes where). Everything is decided and
 * checked before the first write: the device is whole, not mounted, not the running system's,
 * removable (or --force), large enough, the tools are there, and a person said yes (or --yes).
 *
 * The tools are this machine's: sfdisk writes the table; each file system is made through a loop
 * device over its partition's bytes (losetup --offset --sizelimit), which needs no partition
 * nodes and works the same on an image file.
 */
export interface FormatRequest {
  device: string;
  mode: FormatMode;
  label: string;
  filesystem: 'ext4' | 'xfs';
  efiSizeMiB: number;
  force: boolean;
  /** Asks the person at the terminal; resolves false when nobody said yes. */
  confirm: (question: string) => Promise<boolean>;
  /** --yes: no question. */
  yes: boolean;
  /** Whether a person can be asked (stdin is a terminal). */
  interactive: boolean;
  run: ToolRunner;
  log: Log;
}

export interface FormatResult {
  device: TargetDevice;
  plan: FormatPlan;
}

/** Each file system's mkfs, its package, and its arguments (forced: format decided already). */
const MKFS: Record<
  FilesystemKind,
  { program: string; package: string; args: (label: string, device: string) => string[] }
> = {
  // -I: the loop device covers exactly this partition; a table elsewhere on the device (or
  // partitions the kernel still remembers of an earlier loop device) is not ours.
  vfat: {
    program: 'mkfs.vfat',
    package: 'dosfstools',
    args: (label, device) => ['-I', '-F', '32', '-n', label, device],
  },
  ext4: {
    program: 'mkfs.ext4',
    package: 'e2fsprogs',
    args: (label, device) => ['-F', '-q', '-L', label, device],
  },
  xfs: {
    program: 'mkfs.xfs',
    package: 'xfsprogs',
    args: (label, device) => ['-f', '-q', '-L', label, device],
  },
};

export async function formatDevice(request: FormatRequest): Promise<FormatResult> {
  const { run, log } = request;
  // 1. What the device is, and whether it may be written.
  const device = await inspectDevice(request.device, run);
  const refusal = refusalOf(device, request.force);
  if (refusal) throw new UsageError(`format: ${refusal}`, { hint: 'nothing was written' });
  const plan = planFormat({
    deviceBytes: device.bytes,
    mode: request.mode,
    efiSizeMiB: request.efiSizeMiB,
    filesystem: request.filesystem,
    label: request.label,
  });
  if (typeof plan === 'string')
    throw new UsageError(`format: ${device.path} is too small: ${plan}`, {
      hint: 'use a larger stick, or a smaller usb.efiSizeMiB',
    });

  // 2. The tools, before the question.
  const programs = [
    { program: 'sfdisk', package: 'fdisk' },
    { program: 'losetup', package: 'mount' },
    ...plan.partitions.flatMap((p) => (p.filesystem ? [MKFS[p.filesystem.kind]] : [])),
  ];
  const missing: typeof programs = [];
  for (const tool of programs) if (!(await which('/', tool.program))) missing.push(tool);
  if (missing.length > 0)
    throw new JobError(
      `format needs ${missing.map((t) => t.program).join(', ')}, which this machine does not have`,
      { hint: `install ${[...new Set(missing.map((t) => t.package))].join(', ')}` },
    );

  // 3. A person says yes, or --yes did.
  if (!request.yes) {
    if (!request.interactive)
      throw new UsageError(
        `format would erase everything on ${device.path} (${device.description}) and there is no terminal to ask on`,
        { hint: 'give --yes to format without a question' },
      );
    const layout = plan.partitions
      .map((p) => `${p.name}${p.filesystem ? ` (${p.filesystem.kind} ${p.filesystem.label})` : ''}`)
      .join(', ');
    if (
      !(await request.confirm(
        `Erase everything on ${device.path} (${device.description}) and make it a lifeboat stick: ${layout}?`,
      ))
    )
      throw new UsageError('format: not confirmed; nothing was written');
  }

  // 4. The table, then each file system.
  log.info(`format: writing a GPT on ${device.path}`);
  const table = await sfdisk(
    [
      '--quiet',
      // Old signatures (a previous table, an ISO's, a file system's) go, so blkid sees only ours.
      '--wipe',
      'always',
      '--wipe-partitions',
      'always',
      // The kernel learns of the partitions below (partx), when it parses them at all.
      '--no-reread',
      '--no-tell-kernel',
      device.path,
    ],
    plan.sfdiskScript,
  );
  if (table.exitCode !== 0)
    throw new JobError(
      `format: sfdisk could not write the partition table on ${device.path}: ${lastLine(table.stderr)}`,
    );
  for (const partition of plan.partitions) {
    if (partition.filesystem) await makeFilesystem(device.path, partition, run, log);
  }
  // Best effort: a kernel that parses partition tables shows the new ones (and udev their labels).
  if (device.kind === 'block') await run('partx', ['--update', device.path]);
  await run('sync', []);
  return { device, plan };
}

async function makeFilesystem(
  device: string,
  partition: PlannedPartition,
  run: ToolRunner,
  log: Log,
): Promise<void> {
  const fs = partition.filesystem;
  if (!fs) return;
  const attached = await run('losetup', [
    '--find',
    '--show',
    '--offset',
    String(partition.startBytes),
    '--sizelimit',
    String(partition.sizeBytes),
    device,
  ]);
  const loop = attached.stdout.trim();
  if (attached.exitCode !== 0 || loop === '')
    throw new JobError(
      `format: no loop device for partition ${partition.number} of ${device}: ${lastLine(attached.stderr ?? '')}`,
      {
        hint: 'losetup needs root and a free loop device',
      },
    );
  // Ctrl-C exits without the finally below: the loop device is detached then too.
  const forget = onInterruptCleanup(() => {
    execaSync('losetup', ['--detach', loop], { reject: false });
  });
  try {
    log.info(
      `format: partition ${partition.number} (${partition.name}): ${fs.kind}, label ${fs.label}`,
    );
    const mkfs = MKFS[fs.kind];
    const made = await run(mkfs.program, mkfs.args(fs.label, loop));
    if (made.exitCode !== 0)
      throw new JobError(
        `format: ${mkfs.program} failed on partition ${partition.number} of ${device}: ${lastLine(made.stderr ?? '')}`,
      );
  } finally {
    await run('losetup', ['--detach', loop]);
    forget();
  }
}

/** sfdisk reads its script on stdin. */
async function sfdisk(args: string[], script: string) {
  const result = await execa('sfdisk', args, {
    input: script,
    reject: false,
    env: { LC_ALL: 'C' },
    timeout: 120_000,
  });
  return { exitCode: result.exitCode ?? 1, stderr: String(result.stderr) };
}
