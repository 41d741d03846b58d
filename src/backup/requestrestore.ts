import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Config } from '../config/schema.js';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { postJson } from '../recover/notify.js';
import type { BackupMethod, BackupRecord, RestoreRequest, RestoreResult } from './method.js';
import { treeSize } from './tree-size.js';

/**
 * requestrestore (ReaR BACKUP=REQUESTRESTORE): lifeboat recreates and mounts the disks, then
 * someone else restores the files: a person at the console, or another system. It makes no
 * backup and has none to verify.
 *
 * When the disks are ready it writes requestrestore.readyFile under the target and POSTs the same
 * JSON to requestrestore.readyUrl (beyond ReaR, whose users ask for such a signal), says
 * requestrestore.text, and then either runs requestrestore.command (a shell for a person: exit 0
 * means restored) or waits for requestrestore.finishedFile or requestrestore.abortFile to appear
 * under the target (ReaR's non-interactive mode). The files it waits for and the ready file are
 * removed when it ends; finalize then makes the restored system bootable as after any restore.
 */
interface ReadySignal {
  hostname: string;
  target: string;
  finishedFile: string;
  abortFile: string;
}

export const requestRestoreMethod: BackupMethod = {
  name: 'requestrestore',
  rescue: { programs: [], packages: [] },
  hostPrograms: (config) => {
    const program = config.requestrestore.command[0];
    return program === undefined ? [] : [program];
  },
  protectedDevices: () => [],
  configProblems: (_config, use) =>
    use === 'backup'
      ? [
          'backup.method requestrestore makes no backup: at recovery someone else restores the files (use lifeboat mkrescue)',
        ]
      : [],

  async check() {
    // Never reached: configProblems refuses a backup before any work.
    throw new JobError('backup.method requestrestore makes no backup');
  },
  async backup() {
    throw new JobError('backup.method requestrestore makes no backup');
  },

  async verify({ hostname }): Promise<BackupRecord> {
    return {
      id: 'requested',
      hostname,
      created: new Date().toISOString(),
      where: 'someone else (requestrestore)',
      summary: 'restored by someone else into the recreated disks',
      selinux: false,
      details: undefined,
    };
  },

  async restore(request: RestoreRequest): Promise<RestoreResult> {
    const { config, log, target } = request;
    const settings = config.requestrestore;
    const started = Date.now();
    const signal: ReadySignal = {
      hostname: request.backup.hostname,
      target,
      finishedFile: join(target, settings.finishedFile),
      abortFile: join(target, settings.abortFile),
    };
    const readyFile = join(target, settings.readyFile);
    // Files left by an earlier attempt would end this one at once.
    await rm(signal.finishedFile, { force: true });
    await rm(signal.abortFile, { force: true });
    await writeFile(readyFile, `${JSON.stringify(signal, null, 2)}\n`, { mode: 0o600 });
    try {
      // A URL that does not answer is a warning: the ready file is there either way.
      if (settings.readyUrl !== undefined)
        await postJson(settings.readyUrl, signal, 'requestrestore.readyUrl', log);
      log.info(
        settings.text
          .replaceAll('{target}', target)
          .replaceAll('{finished}', signal.finishedFile)
          .replaceAll('{abort}', signal.abortFile),
      );
      if (settings.command.length > 0) await runCommand(config, target, request.signal);
      else await waitForFiles(signal, config, log, request.signal);
    } finally {
      await rm(readyFile, { force: true });
      await rm(signal.finishedFile, { force: true });
    }
    const { entries, bytes } = await treeSize(target);
    return { entries, bytes, seconds: (Date.now() - started) / 1000 };
  },
};

/** Looks for the finished and abort files until one appears, the time is up, or Ctrl-C. */
async function waitForFiles(
  signal: ReadySignal,
  config: Config,
  log: Log,
  stop: AbortSignal | undefined,
): Promise<void> {
  const { pollSeconds, timeoutMinutes } = config.requestrestore;
  const deadline = timeoutMinutes > 0 ? Date.now() + timeoutMinutes * 60_000 : Infinity;
  log.debug(`waiting for ${signal.finishedFile} or ${signal.abortFile}, every ${pollSeconds} s`);
  for (;;) {
    if (existsSync(signal.abortFile)) {
      await rm(signal.abortFile, { force: true });
      throw new JobError(`the restore was given up: ${signal.abortFile} appeared`, {
        hint: 'the disks stay as they are; run lifeboat recover again to start over',
      });
    }
    if (existsSync(signal.finishedFile)) return;
    if (Date.now() >= deadline) {
      throw new JobError(
        `nobody restored the files in ${timeoutMinutes} minute(s): ${signal.finishedFile} did not appear (requestrestore.timeoutMinutes)`,
        { hint: 'the disks stay as they are; run lifeboat recover again to wait again' },
      );
    }
    await sleep(pollSeconds * 1000, undefined, stop ? { signal: stop } : {}).catch(() => {
      throw new JobError('the wait for the restore was interrupted');
    });
  }
}

/** requestrestore.command with the console: exit 0 is a finished restore. */
async function runCommand(
  config: Config,
  target: string,
  stop: AbortSignal | undefined,
): Promise<void> {
  const [program, ...args] = config.requestrestore.command as [string, ...string[]];
  const done = await execa(program, args, {
    cwd: target,
    env: { LIFEBOAT_TARGET: target },
    stdio: 'inherit',
    reject: false,
    ...(stop ? { cancelSignal: stop } : {}),
  });
  if (done.failed && done.exitCode === undefined && !done.isCanceled)
    throw new JobError(`requestrestore.command: ${program} could not be started`, {
      hint: 'check the program (it runs in the rescue system)',
    });
  if (done.exitCode !== 0)
    throw new JobError(
      `the restore was given up: requestrestore.command ${program} ${done.isCanceled ? 'was stopped' : `exited ${done.exitCode}`}`,
      { hint: 'the disks stay as they are; run lifeboat recover again to start over' },
    );
}
