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
  await postJson(url, result, 'recovery.notifyUrl', log, 'the result was not taken');
}

/**
 * POSTs `body` as JSON to `url` (the configuration key `key`), with a short timeout. A URL that
 * does not answer, or answers with an error, is only a warning: a report must never fail a run.
 */
export async function postJson(
  url: string,
  body: unknown,
  key: string,
  log: Log,
  unanswered = 'it was not taken',
): Promise<void> {
  try {
    const { target, authorization } = basicAuthOf(url);
    const response = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(authorization ? { authorization } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) log.warn(`${key} answered ${response.status}; ${unanswered}`);
    else log.debug(`${key}: ${response.status}`);
  } catch (error) {
    log.warn(`${key} could not be reached (${(error as Error).message})`);
  }
}
