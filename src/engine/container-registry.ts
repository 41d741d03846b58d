import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { errorMessage, JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { onInterruptCleanup } from '../util/exit-cleanup.js';
import { processAlive } from '../util/stale.js';
import { type Engine, engineError, statusCode } from './engine.js';

/**
 * Work runs in short-lived containers that must never outlive lifeboat: every container carries
 * this process's owner label and sits in a registry until it is removed, so a failure, a throw or
 * Ctrl-C removes it, and a leak test (or `lifeboat doctor`) can find any that escaped.
 */

export const OWNER_LABEL = 'org.lifeboat.owner';

/**
 * Unique to this process: machine, pid and a random part (pid alone repeats across machines and
 * reboots). A later run on this machine finds the containers of a killed one by it.
 */
export const RUN_ID = `lifeboat-${hostname()}-${process.pid}-${randomBytes(6).toString('hex')}`;
const RUN_ID_FORM = /^lifeboat-(.+)-(\d+)-[0-9a-f]{12}$/;

export interface Tracked {
  engine: Engine;
  container: Docker.Container;
}

/** The containers this process made and has not removed yet. */
const tracked = new Map<string, Tracked>();
/** Engines this process made containers on: swept by label when interrupted. */
const enginesUsed = new Set<Engine>();
/** Set once an interrupt starts cleaning up: a container created after that is removed at once. */
let interrupted = false;
let sweepRegistered = false;

/**
 * Registers the container that `create` makes on `engine`. The engine is noted before the create
 * is sent, so that an interrupt sweeps it by label even if the engine's answer never comes.
 */
export async function track(
  engine: Engine,
  create: () => Promise<Docker.Container>,
  log: Log,
): Promise<Tracked> {
  if (!sweepRegistered) {
    sweepRegistered = true;
    onInterruptCleanup(sweepOnInterrupt);
  }
  if (!enginesUsed.has(engine)) await sweepKilledRuns(engine, log);
  enginesUsed.add(engine);
  const container = await create();
  const entry = { engine, container };
  tracked.set(container.id, entry);
  if (interrupted) {
    await removeQuietly(entry, log);
    throw new JobError('Interrupted.');
  }
  return entry;
}

/**
 * Force-removes every container this process still has registered. Never throws (it runs in
 * finally blocks, where an error would hide the one that matters): failures go to `log` and the
 * container stays registered for a later attempt.
 */
export async function removeTrackedContainers(log?: Log): Promise<void> {
  await Promise.all([...tracked.values()].map((entry) => removeQuietly(entry, log)));
}

/** Containers carrying `owner` as their owner label (this process's by default), running or not. */
export async function listContainersByLabel(
  engine: Engine,
  owner: string = RUN_ID,
): Promise<Docker.ContainerInfo[]> {
  try {
    return await engine.docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL}=${owner}`] },
    });
  } catch (error) {
    throw engineError(engine, error, 'to list containers');
  }
}

/** The registry, and then anything labelled ours: a create whose answer never came is found too. */
async function sweepOnInterrupt(log: Log | undefined): Promise<void> {
  interrupted = true;
  await removeTrackedContainers(log);
  await Promise.all(
    [...enginesUsed].map(async (engine) => {
      try {
        const left = await listContainersByLabel(engine);
        await Promise.all(
          left.map((info) =>
            removeQuietly({ engine, container: engine.docker.getContainer(info.Id) }, log),
          ),
        );
      } catch (error) {
        log?.warn(`could not list leftover containers: ${errorMessage(error)}`);
      }
    }),
  );
}

/**
 * Containers of lifeboat runs on this machine whose process is gone (a SIGKILL: no cleanup ran),
 * removed the first time this process uses an engine. Another machine's are never touched: its
 * pids mean nothing here. Returns how many went.
 */
export async function sweepKilledRuns(engine: Engine, log: Log): Promise<number> {
  let removed = 0;
  try {
    const ours = await engine.docker.listContainers({
      all: true,
      filters: { label: [OWNER_LABEL] },
    });
    for (const info of ours) {
      const match = RUN_ID_FORM.exec(info.Labels?.[OWNER_LABEL] ?? '');
      if (!match || match[1] !== hostname()) continue;
      const pid = Number(match[2]);
      if (pid === process.pid || processAlive(pid)) continue;
      await removeContainer({ engine, container: engine.docker.getContainer(info.Id) });
      removed += 1;
    }
  } catch (error) {
    // A sweep is housekeeping: the work at hand goes on, the log says what was left.
    log.debug(`could not sweep the containers of killed runs: ${errorMessage(error)}`);
  }
  if (removed > 0) log.info(`removed ${removed} container(s) a killed lifeboat run left`);
  return removed;
}

/** removeContainer for finally blocks: a failure goes to `log`, never hiding the error at hand. */
export async function removeQuietly(entry: Tracked, log: Log | undefined): Promise<void> {
  try {
    await removeContainer(entry);
  } catch (error) {
    const id = entry.container.id.slice(0, 12);
    log?.warn(
      `could not remove container ${id}: ${errorMessage(error)} (remove it with: docker rm -f ${id})`,
    );
  }
}

/** Force-removes the container with its anonymous volumes; safe to call twice. */
export async function removeContainer({ engine, container }: Tracked): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    // 404: already gone. 409: a removal is already under way (another cleanup path got there).
    const code = statusCode(error);
    if (code !== 404 && code !== 409) throw engineError(engine, error, 'to remove a container');
  }
  tracked.delete(container.id);
}
