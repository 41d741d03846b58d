import type { Log } from '../log/log.js';

/**
 * Work to undo when lifeboat is interrupted (SIGINT, SIGTERM). The handler installed here is
 * lifeboat's only signal handler, and it exits the process, so `finally` blocks never run:
 * whatever they would have removed (a staged output directory, this run's containers) must be
 * registered here. Most cleanups are synchronous, as they run while the process is on its way
 * out; one that has to ask someone else (removing containers asks the engine) returns a promise,
 * and the handler waits for it, within a limit.
 */
type Cleanup = (log: Log | undefined) => void | Promise<void>;

const cleanups = new Set<Cleanup>();

/** Registers `fn`; the function returned unregisters it (call it when the work is finished). */
export function onInterruptCleanup(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/**
 * Runs every registered cleanup once, in the order registered; a failing one does not stop the
 * others. The synchronous ones are done when this returns, the others when its promise settles.
 */
function runInterruptCleanups(log: Log | undefined): Promise<void> {
  const pending: Promise<void>[] = [];
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try {
      const result = fn(log);
      if (result !== undefined) pending.push(result.catch(() => undefined));
    } catch {
      // On the way out there is nobody left to tell; the next cleanup still runs.
    }
  }
  return Promise.all(pending).then(() => undefined);
}

let installed: ((signal: NodeJS.Signals) => void) | undefined;

interface InterruptCleanupOptions {
  log?: Log;
  /** For tests; process.exit otherwise. */
  exit?: (code: number) => void;
  /**
   * Give up on the cleanups still running after this long and exit anyway. The default is long
   * enough for the engine to remove a busy build container with its rescue root: that took up to
   * 22 s on a loaded two-core machine, and exiting earlier left the container and the build area.
   */
  timeoutMs?: number;
}

/**
 * On the first SIGINT or SIGTERM: run the registered cleanups, wait for the asynchronous ones,
 * then exit 130 or 143 (the shell's 128 + signal number). Installing twice is a no-op. The
 * handlers are dropped as soon as one fires, so a second Ctrl-C while a cleanup is slow (the
 * engine, say) kills lifeboat the default way. Returns a function that uninstalls the handlers.
 */
export function installInterruptCleanup(options: InterruptCleanupOptions = {}): () => void {
  if (installed === undefined) {
    const exit = options.exit ?? ((code: number) => process.exit(code));
    const timeoutMs = options.timeoutMs ?? 60_000;
    const handler = (signal: NodeJS.Signals) => {
      uninstall();
      // Said at once, log or not: a user who sees nothing presses Ctrl-C again, which stops
      // lifeboat without its cleanup.
      if (options.log) options.log.warn(`${signal}: cleaning up before exiting`);
      else
        process.stderr.write(
          `lifeboat: ${signal}: cleaning up before exiting (again to stop at once)\n`,
        );
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      Promise.race([runInterruptCleanups(options.log), giveUp]).finally(() => {
        clearTimeout(timer);
        exit(signal === 'SIGINT' ? 130 : 143);
      });
    };
    installed = handler;
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  }
  return uninstall;
}

function uninstall(): void {
  if (installed === undefined) return;
  process.removeListener('SIGINT', installed);
  process.removeListener('SIGTERM', installed);
  installed = undefined;
}
