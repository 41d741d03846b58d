import { EM, readExecutableFile } from './elf.js';
import type { RootView } from './fs-root.js';

/**
 * The architecture of a root, from the machine of its own programs: a root mounted on this
 * machine may be of another architecture than the machine (an aarch64 image on an x86_64
 * builder). Names are the kernel's (`uname -m`).
 */
const KERNEL_ARCH: Record<number, (elfClass: 32 | 64, endian: 'little' | 'big') => string> = {
  [EM.X86_64]: () => 'x86_64',
  [EM.I386]: () => 'i686',
  [EM.AARCH64]: () => 'aarch64',
  [EM.ARM]: () => 'armv7l',
  [EM.PPC64]: (_, endian) => (endian === 'little' ? 'ppc64le' : 'ppc64'),
  [EM.S390]: (elfClass) => (elfClass === 64 ? 's390x' : 's390'),
  [EM.RISCV]: (elfClass) => `riscv${elfClass}`,
  [EM.LOONGARCH]: () => 'loongarch64',
};

/** Programs every Linux root has; the first one that is ELF tells the architecture. */
const PROBES = ['/bin/sh', '/usr/bin/env', '/sbin/init', '/usr/lib/systemd/systemd'];

export async function rootArchitecture(view: RootView): Promise<string | undefined> {
  for (const probe of PROBES) {
    const entry = await view.lookup(probe);
    if (!entry?.stats.isFile()) continue;
    try {
      const info = readExecutableFile(view.hostPath(entry.realPath));
      if (info.kind !== 'elf') continue;
      return KERNEL_ARCH[info.machine]?.(info.elfClass, info.endian);
    } catch {
      // Not ELF (a script or a stub): try the next probe.
    }
  }
  return undefined;
}
