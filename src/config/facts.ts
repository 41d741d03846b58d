import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the configuration depends on about the machine being protected: its architecture and
 * OS. They choose the OS/arch profile layers (ReaR: $ARCH.conf, $OS.conf, $OS/$OS_VER.conf) and
 * the conditions of steps.
 */
export interface HostFacts {
  /** Kernel-style architecture name: x86_64, aarch64, ppc64le, s390x, i686. */
  arch: string;
  /** os-release ID (debian, ubuntu, rhel, fedora, sles, ...). */
  osId: string;
  /** os-release ID_LIKE, split. */
  osIdLike: string[];
  /** os-release VERSION_ID ('12', '22.04', '9.4'), or '' for rolling releases. */
  osVersion: string;
}

const NODE_TO_KERNEL_ARCH: Record<string, string> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  ppc64: 'ppc64le',
  s390x: 's390x',
  ia32: 'i686',
  riscv64: 'riscv64',
};

/** Parse os-release(5): KEY=value lines, values optionally quoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match?.[1]) continue;
    let value = match[2] ?? '';
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1).replace(/\\(["$`\\])/g, '$1');
    fields[match[1]] = value;
  }
  return fields;
}

/** Facts of the root at `root` (`/` for this host). Reads files only; runs nothing. */
export function readHostFacts(
  root = '/',
  arch = NODE_TO_KERNEL_ARCH[process.arch] ?? process.arch,
): HostFacts {
  let osRelease: Record<string, string> = {};
  for (const candidate of ['etc/os-release', 'usr/lib/os-release']) {
    try {
      osRelease = parseOsRelease(readFileSync(join(root, candidate), 'utf8'));
      break;
    } catch {
      // os-release(5): /etc/os-release first, /usr/lib/os-release as the fallback.
    }
  }
  return {
    arch,
    osId: osRelease.ID ?? 'linux',
    osIdLike: (osRelease.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
    osVersion: osRelease.VERSION_ID ?? '',
  };
}

/** The OS family: the os-release ID_LIKE's first well-known family, else the ID itself. */
export function osFamily(facts: HostFacts): string {
  const families = ['debian', 'rhel', 'fedora', 'suse', 'arch'];
  for (const id of [facts.osId, ...facts.osIdLike]) if (families.includes(id)) return id;
  return facts.osId;
}
