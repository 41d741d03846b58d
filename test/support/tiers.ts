import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { describe, it } from 'vitest';

/**
 * Test tiers (see DESIGN.md): unit, engine (a real Docker engine), boot (QEMU), drill.
 *
 * A tier that cannot run here says so loudly. Under CI=true a tier that cannot run is a failure,
 * not a skip: CI must run every tier.
 */
export type Tier = 'engine' | 'boot' | 'drill' | 'fixture';

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
