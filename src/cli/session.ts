import { statSync } from 'node:fs';
import { join } from 'node:path';
import { type EffectiveConfig, loadConfig } from '../config/load.js';
import { errorMessage, UsageError } from '../errors.js';
import { RunLog, type Verbosity } from '../log/log.js';
import type { Progress } from '../steps/run.js';
import { openRunTemp, runTempParent } from '../util/run-temp.js';

/** Options every command understands (see `lifeboat --help`). */
export interface GlobalOptions {
  config?: string[];
  recipe?: string;
  set?: string[];
  root?: string;
  verbose?: boolean;
  quiet?: boolean;
}

/** What a command that does work gets: its configuration, its log and how to show progress. */
export interface Session {
  effective: EffectiveConfig;
  log: RunLog;
  progress: Progress;
  verbosity: Verbosity;
}

export async function loadSessionConfig(options: GlobalOptions): Promise<EffectiveConfig> {
  if (options.root !== undefined && options.root !== '/') checkRoot(options.root);
  return loadConfig({
    configFiles: options.config ?? [],
    sets: options.set ?? [],
    root: options.root ?? '/',
    ...(options.recipe === undefined ? {} : { recipe: options.recipe }),
  });
}

/** --root names a directory: a missing one or a file would read as a host with nothing on it. */
function checkRoot(root: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch {
    throw new UsageError(`--root ${root}: no such directory`, {
      hint: 'Name the directory the protected host is mounted at (or leave --root out for /).',
    });
  }
  if (!isDirectory)
    throw new UsageError(`--root ${root}: not a directory`, {
      hint: 'Name the directory the protected host is mounted at (or leave --root out for /).',
    });
}

function verbosityOf(options: GlobalOptions): Verbosity {
  if (options.quiet) return 'quiet';
  return options.verbose ? 'verbose' : 'normal';
}

/**
 * Live progress on a terminal; plain timestamped lines in CI logs and with --verbose (whose
 * detail lines would tear a live view apart); nothing with --quiet.
 */
function progressOf(verbosity: Verbosity, tty: boolean): Progress {
  if (verbosity === 'quiet') return 'silent';
  return tty && verbosity === 'normal' ? 'live' : 'plain';
}

function logFileName(command: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  return `lifeboat-${stamp}-${process.pid}-${command.replace(/\s+/g, '-')}.log`;
}

/**
 * This run's temporary directory in paths.workDir (src/util/run-temp.ts). A work directory that
 * can't be made is not fatal here: the commands that need it say so with their own sentence.
 */
function openRunTempOrWarn(workDir: string, log: RunLog): void {
  try {
    const { swept } = openRunTemp(workDir);
    if (swept.length > 0)
      log.info(
        `removed the temporary directories of killed runs in ${workDir}: ${swept.join(', ')}`,
      );
  } catch (error) {
    log.warn(
      `temporary files go to ${runTempParent()}: ${workDir} could not hold them (${errorMessage(error)}); set paths.workDir`,
    );
  }
}

let opened: Session | undefined;

/** The session this process opened, if any: main() prints its log file at the end and on failure. */
export function openedSession(): Session | undefined {
  return opened;
}

/** Loads the configuration and opens this run's log file (paths.logDir). */
export async function openSession(command: string, options: GlobalOptions): Promise<Session> {
  const effective = await loadSessionConfig(options);
  const verbosity = verbosityOf(options);
  const tty = Boolean(process.stdout.isTTY);
  const file = join(effective.config.paths.logDir, logFileName(command));
  let log: RunLog;
  try {
    log = new RunLog({ file, verbosity, timestamps: !tty });
  } catch (error) {
    log = new RunLog({ verbosity, timestamps: !tty });
    log.warn(
      `no log file for this run: ${file} could not be created (${errorMessage(error)}); set paths.logDir`,
    );
  }
  for (const secret of effective.secretValues) log.addSecret(secret);
  openRunTempOrWarn(effective.config.paths.workDir, log);
  log.detail(`lifeboat ${command}: ${process.argv.slice(2).join(' ')}`);
  for (const layer of effective.layers) log.detail(`config layer: ${layer.kind} ${layer.source}`);
  opened = { effective, log, progress: progressOf(verbosity, tty), verbosity };
  return opened;
}
