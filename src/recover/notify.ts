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

/**
 * fetch refuses a URL with a user or password in it; the usual meaning of one
 * (https://user:password@host/hook) is HTTP basic authentication, so that is what it becomes.
 */
export function basicAuthOf(url: string): { target: string; authorization?: string } {
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return { target: url };
  const login = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return {
    target: parsed.toString(),
    authorization: `Basic ${Buffer.from(login).toString('base64')}`,
  };
}

export async function notify(
  url: string | undefined,
  result: RecoveryResult,
  log: Log,
): Promise<void> {
  if (url === undefined) return;
  try {
    const { target, authorization } = basicAuthOf(url);
    const response = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(authorization ? { authorization } : {}),
      },
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
