import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from '../log/log.js';

/**
 * The rescue system's /init prints its ready line as soon as a shell is usable and goes on
 * starting in the background (the captured host's modules, the network, sshd); this file exists
 * until it is done (skel/default/init, section 5). Recovery needs all of it: the RAID, LUKS and
 * file-system modules, and the network to reach the backup.
 */
export const STARTING_MARKER = '/run/lifeboat/starting';

export interface RescueStartWait {
  marker?: string;
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Waits while the rescue system is still starting. Returns the seconds waited, 0 when it had
 * already ended (or this is no rescue system). After the timeout it warns and returns: a start
 * that hangs (a DHCP server that never answers keeps dhclient trying) must not stop a recovery
 * that may not need the network.
 */
export async function waitForRescueStart(log: Log, options: RescueStartWait = {}): Promise<number> {
  const marker = options.marker ?? STARTING_MARKER;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const pollMs = options.pollMs ?? 250;
  if (!existsSync(marker)) return 0;
  log.info(
    'waiting for the rescue system to finish starting (the captured modules, network, sshd)...',
  );
  const started = Date.now();
  while (existsSync(marker)) {
    if (Date.now() - started >= timeoutMs) {
      log.warn(
        `the rescue system is still starting after ${timeoutMs / 1000} s ` +
          `(${marker} exists; the console says why); going on without waiting for it`,
      );
      break;
    }
    await sleep(pollMs);
  }
  return (Date.now() - started) / 1000;
}
