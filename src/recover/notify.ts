import type { Log } from '../log/log.js';

/**
 * recovery.notifyUrl: a small JSON result POSTed when a recovery ends, well or not. A short
 * timeout, and a failure only warned about: a monitoring endpoint that is down must not turn a
 * finished recovery into a failed one.
 */
export interface RecoveryResult {
  workflow: string;
  hostname: string;
  result: 'succeeded' | 'failed';
  /** The failure's message. */
  reason?: string;
  backupId?: string;
  seconds: number;
}

export async function notify(
  url: string | undefined,
  result: RecoveryResult,
  log: Log,
): Promise<void> {
  if (url === undefined) return;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(result),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok)
      log.warn(`recovery.notifyUrl answered ${response.status}; the result was not taken`);
    else log.debug(`recovery.notifyUrl: ${response.status}`);
  } catch (error) {
    log.warn(`recovery.notifyUrl could not be reached (${(error as Error).message})`);
  }
}
