/**
 * Work to undo when lifeboat is interrupted (SIGINT, SIGTERM): the interrupt handler exits the
 * process, so `finally` blocks never run, and whatever they would have removed (a staged output
 * directory, say) must be registered here. Cleanups are synchronous on purpose: they run while
 * the process is on its way out.
 */
const cleanups = new Set<() => void>();

/** Registers `fn`; the function returned unregisters it (call it when the work is finished). */
export function onInterruptCleanup(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs every registered cleanup once; a failing one does not stop the others. */
export function runInterruptCleanups(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      // On the way out there is nobody left to tell; the next cleanup still runs.
    }
  }
}
