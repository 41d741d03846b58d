import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ResultPromise } from 'execa';
import { OWNER_LABEL } from '../../src/engine/container.js';
import type { Engine } from '../../src/engine/engine.js';

/**
 * What an interrupted or killed lifeboat run may leave behind, looked up the way a user would
 * find it: containers by their owner label, processes and mounts by the paths on their command
 * line, files by name. For the interrupt tests.
 */

/** Containers (running or not) owned by the lifeboat process `pid` on this machine. */
export async function containersOfPid(engine: Engine, pid: number): Promise<string[]> {
  const all = await engine.docker.listContainers({
    all: true,
    filters: { label: [OWNER_LABEL] },
  });
  const prefix = `lifeboat-${hostname()}-${pid}-`;
  return all.filter((c) => c.Labels?.[OWNER_LABEL]?.startsWith(prefix)).map((c) => c.Id);
}

/** Command lines of the live processes that mention `text` (from /proc: no ps needed). */
export function processesMentioning(text: string): string[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid) && Number(pid) !== process.pid)
    .flatMap((pid) => {
      try {
        const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return line.includes(text) ? [`${pid}: ${line.trim()}`] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

/** Mount points at or under `dir` (this mount namespace's mountinfo). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
}

/** The entries of `dir`, none when it does not exist. */
export function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Paths under `dir` (relative) whose name marks a half-written file: `.partial-*`. */
export function partialsUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((rel) => (rel.split('/').at(-1) ?? '').includes('.partial-'))
    .sort();
}

/**
 * Resolves with the first line of the child's stdout that `pattern` matches, as it is printed;
 * rejects, with what the child printed, if it ends first or `timeoutMs` passes.
 */
export function untilLine(
  child: ResultPromise,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      fn();
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      // Whole lines only: a chunk can end in the middle of one.
      const line = text
        .split('\n')
        .slice(0, -1)
        .find((l) => pattern.test(l));
      if (line !== undefined) finish(() => resolve(line));
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${text}`)),
        ),
      timeoutMs,
    );
    child.stdout?.on('data', onData);
    child.then(
      (result) =>
        finish(() =>
          reject(
            new Error(
              `exited ${String(result.exitCode)} before ${pattern}:\n${String(result.all ?? text)}`,
            ),
          ),
        ),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
