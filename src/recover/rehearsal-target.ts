import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Where `recover --into DIR` (the rehearsal) may restore: a directory of its own, never the
 * running system. The path is resolved through every symlink first (a link to / is /), then it
 * must not be, or contain, a mount point of this system, and it must be empty, or the directory
 * an earlier rehearsal restored into, or the user said --into-nonempty.
 */
export interface RehearsalTargetOptions {
  /** The mount points of the running system (/proc/self/mounts). */
  mounts: ReadonlySet<string>;
  /** The target of the last rehearsal this rescue system ran (its recover state), if any. */
  earlierRehearsal?: string;
  /** --into-nonempty: files lifeboat did not put there may be overwritten. */
  intoNonEmpty: boolean;
}

export function checkRehearsalTarget(target: string, options: RehearsalTargetOptions): string {
  const real = realTarget(resolve(target));
  const named = real === resolve(target) ? real : `${target} (which is ${real})`;
  const refuse = (why: string): never => {
    throw new UsageError(`--into ${named}: ${why}`, {
      hint: 'Name a new, empty directory, such as /var/tmp/rehearsal.',
    });
  };
  if (real === '/')
    refuse('that is the running system; a rehearsal restores into a directory of its own');
  if (options.mounts.has(real))
    refuse('is a mount point of this system; a rehearsal restores into a directory of its own');
  const inside = [...options.mounts].filter((m) => m.startsWith(`${real}/`)).sort();
  if (inside.length > 0)
    refuse(`holds the mount point ${inside[0]} of this system; a rehearsal must not reach into it`);
  if (!existsSync(real)) return `rehearsal into ${named}: no disk is touched`;
  if (!statSync(real).isDirectory()) refuse('not a directory');
  const entries = readdirSync(real).length;
  if (entries === 0) return `rehearsal into ${named}: no disk is touched`;
  const earlier =
    options.earlierRehearsal !== undefined && realTarget(options.earlierRehearsal) === real;
  if (!earlier && !options.intoNonEmpty)
    throw new UsageError(
      `--into ${named} holds ${entries} entries lifeboat did not restore there; a rehearsal restores into an empty directory or an earlier rehearsal's`,
      {
        hint: 'Name a new, empty directory, or add --into-nonempty to overwrite what is there.',
      },
    );
  return `rehearsal into ${named} (${entries} entries there are overwritten where the backup has them)`;
}

/** The path with every symlink resolved, as far as it exists (the rest is appended as named). */
function realTarget(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const parent = dirname(path);
  return parent === path ? path : join(realTarget(parent), basename(path));
}
