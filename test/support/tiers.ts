import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { describe, it } from 'vitest';
import { CLI } from './cli.js';

/**
 * Test tiers (docs/architecture.md): unit tests live beside the code in src/ and use no tier; the
 * tests under test/ declare one: engine (a real Docker engine), fixture (a Debian root made by
 * ci/fixtures), boot (QEMU), drill, host (the built CLI, or this machine's live state).
 *
 * A tier that cannot run here says so loudly. Under CI=true a tier that cannot run is a failure,
 * not a skip: CI must run every tier.
 */
export type Tier = 'engine' | 'boot' | 'drill' | 'fixture' | 'host';

/** `describe` for a tier: runs when `missing` is undefined, else skips loudly (fails under CI). */
export function describeTier(tier: Tier, missing: string | undefined) {
  if (missing === undefined) return describe;
  if (process.env.CI === 'true') {
    return (name: string, _fn: () => void) =>
      describe(name, () => {
        it(`the ${tier} tier runs in CI`, () => {
          throw new Error(`the ${tier} tier cannot run on this machine: ${missing}`);
        });
      });
  }
  process.stderr.write(
    `\n*** ${tier.toUpperCase()} TIER SKIPPED: ${missing}. Run ci/setup to make it runnable. ***\n\n`,
  );
  return describe.skip;
}

let engineProbe: Promise<string | undefined> | undefined;

/** Why the engine tier can't run here, or undefined when a Docker engine answers. */
export function engineMissing(): Promise<string | undefined> {
  engineProbe ??= execa('docker', ['version', '--format', '{{.Server.Version}}'], {
    reject: false,
    timeout: 15_000,
  }).then((r) =>
    r.exitCode === 0 ? undefined : 'no Docker engine answers (docker version failed)',
  );
  return engineProbe;
}

/** Why the boot tier can't run here, or undefined when QEMU and OVMF are installed. */
export function qemuMissing(): string | undefined {
  if (!existsSync('/usr/bin/qemu-system-x86_64')) return 'qemu-system-x86_64 is not installed';
  if (!existsSync('/usr/share/ovmf/OVMF.fd'))
    return 'OVMF (/usr/share/ovmf/OVMF.fd) is not installed';
  return undefined;
}

/** Why the host tier can't run here, or undefined when the CLI bundle (made by the global setup) exists. */
export function hostMissing(): string | undefined {
  if (!existsSync(CLI)) return `the CLI bundle ${CLI} is missing (node ci/build.mjs makes it)`;
  return undefined;
}
