import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { ROOT } from './cli.js';

/**
 * The Debian root that stands for a protected host in tests (ci/fixtures/debian-root: bookworm
 * with a kernel, lvm2, openssh, curl...; cached in /var/cache/lifeboat). The global setup makes
 * it once; here each test file just asks for its path.
 */
export type Fixture = { root: string } | { missing: string };

/** Why the fixture can't be made on this machine, or undefined when it can. */
export function fixturePrerequisitesMissing(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'making the Debian fixture root needs root (debootstrap, chroot)';
  if (!existsSync('/usr/sbin/debootstrap'))
    return 'debootstrap is not installed (ci/setup installs it)';
  return undefined;
}

const made = new Map<string, Promise<Fixture>>();

export function debianFixture(name: 'host' | 'drill' = 'host'): Promise<Fixture> {
  const already = made.get(name);
  if (already) return already;
  const making = (async (): Promise<Fixture> => {
    const missing = fixturePrerequisitesMissing();
    if (missing) return { missing };
    const result = await execa(`${ROOT}ci/fixtures/debian-root`, [name], {
      reject: false,
      timeout: 20 * 60_000,
    });
    const root = result.stdout.trim().split('\n').at(-1) ?? '';
    if (result.exitCode !== 0 || root === '' || !existsSync(root)) {
      return {
        missing: `ci/fixtures/debian-root ${name} failed (exit ${result.exitCode}): ${result.stderr.trim().slice(-300) || 'no output'}`,
      };
    }
    return { root };
  })();
  made.set(name, making);
  return making;
}

/** The fixture root's path, for tests already in a tier that makes it: a failure to make it throws. */
export async function debianRoot(): Promise<string> {
  const fixture = await debianFixture();
  if ('missing' in fixture) throw new Error(fixture.missing);
  return fixture.root;
}
