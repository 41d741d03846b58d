import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { CaptureManifest } from '../capture/manifest.js';
import { configDir } from '../paths.js';

/**
 * What the rescue medium knows about the host it was made for: the capture manifest the build
 * put at /etc/lifeboat/capture.json. Undefined outside a rescue system (a rehearsal on a host).
 */
export function mediumCapture(): CaptureManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(configDir(), 'capture.json'), 'utf8')) as CaptureManifest;
  } catch {
    return undefined;
  }
}

/** The host name backups are filed under: the captured host's, else this machine's. */
export function backupHostname(capture: CaptureManifest | undefined): string {
  const name = capture?.identity.hostname;
  return name !== undefined && name !== '' ? name : hostname();
}
