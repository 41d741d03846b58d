import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { RootView } from './fs-root.js';
import { findKernelImage } from './identity.js';
import { loadKernelModules } from './kmod.js';
import type { KernelSection } from './manifest.js';
import type { ModuleHints } from './module-hints.js';
import { selectModules } from './modules.js';

/**
 * The kernel of the rescue system is the host's own: its image, the modules the policy chooses
 * with their closure, and the firmware those modules declare. The depmod inputs come along so
 * the builder can index just the chosen modules.
 */
export interface KernelCapture {
  section: KernelSection | null;
  paths: string[];
  warnings: string[];
}

/** Files depmod reads besides the modules themselves (modules.order, built-in lists). */
const DEPMOD_INPUTS = ['modules.order', 'modules.builtin', 'modules.builtin.modinfo'];

const absolute = (path: string) => (path.startsWith('/') ? path : `/${path}`);

export async function captureKernel(
  view: RootView,
  options: {
    version: string | null;
    live: boolean;
    policy: 'needed' | 'loaded' | 'all';
    hints: ModuleHints;
    extra: readonly string[];
    exclude: readonly string[];
    /** Kernel drivers of the host's network interfaces. */
    nicDrivers: readonly string[];
  },
): Promise<KernelCapture> {
  if (options.version === null) {
    return {
      section: null,
      paths: [],
      warnings: [
        'no kernel found in the root: the rescue media need kernel.file and kernel.version',
      ],
    };
  }
  if (options.policy === 'loaded' && !options.live) {
    throw new UsageError(
      'rescue.modules=loaded needs a running host (--root /): a root has no loaded modules',
      {
        hint: 'Use rescue.modules=needed or all for a root that is not running.',
      },
    );
  }
  const version = options.version;
  const image = await findKernelImage(view, version);
  if (
    !(await view.lookup(`/lib/modules/${version}`)) &&
    !(await view.lookup(`/usr/lib/modules/${version}`))
  ) {
    // A kernel with everything built in (or whose modules were never installed): nothing to add.
    return {
      section: {
        version,
        image,
        modules: [],
        builtin: [],
        notFound: [],
        firmware: { found: [], missing: [] },
      },
      paths: image ? [image] : [],
      warnings: [
        `kernel ${version} has no module directory in the root (/lib/modules/${version}): no modules captured`,
        ...(image ? [] : [`kernel ${version}: no image found in /boot or /lib/modules/${version}`]),
      ],
    };
  }
  const kernel = await loadKernelModules(view, version);
  const selection = await selectModules(kernel, {
    policy: options.policy,
    procModules: options.policy === 'loaded' ? await readFile('/proc/modules', 'utf8') : '',
    modaliases: options.hints.modaliases,
    filesystems: options.hints.filesystems,
    storage: options.hints.storage,
    extra: [...options.extra, ...options.nicDrivers],
  });
  const excluded = new Set(options.exclude.map((name) => name.replace(/-/g, '_')));
  const modules = selection.modules.filter((m) => !excluded.has(m.name));
  const kept = new Set(modules.map((m) => m.name));
  const firmware = {
    found: selection.firmware.found
      .map((f) => ({
        name: f.name,
        path: absolute(f.path),
        modules: [...f.modules].filter((m) => kept.has(m)).sort(),
      }))
      .filter((f) => f.modules.length > 0),
    missing: selection.firmware.missing
      .map((f) => ({ name: f.name, modules: [...f.modules].filter((m) => kept.has(m)).sort() }))
      .filter((f) => f.modules.length > 0),
  };

  const moduleDir = absolute(kernel.dir);
  const depmodInputs: string[] = [];
  for (const name of DEPMOD_INPUTS) {
    if (await view.lookup(`${moduleDir}/${name}`)) depmodInputs.push(`${moduleDir}/${name}`);
  }
  const warnings = [
    ...(image ? [] : [`kernel ${version}: no image found in /boot or ${moduleDir}`]),
    // Base-set drivers a kernel lacks are normal (a cloud kernel has no USB); only what the
    // host or the configuration asked for is worth a warning.
    ...selection.notFound
      .filter((n) => n.requestedBy.some((by) => by !== 'base'))
      .map(
        (n) =>
          `module ${n.name} is not in kernel ${version} (asked for by ${n.requestedBy.join(', ')})`,
      ),
    ...firmware.missing.map(
      (f) => `firmware ${f.name} (declared by ${f.modules.join(', ')}) is not in the root`,
    ),
  ];
  return {
    section: {
      version,
      image,
      modules: modules
        .map((m) => ({
          name: m.name,
          path: absolute(m.path),
          requestedBy: [...m.requestedBy].sort(),
        }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      builtin: selection.builtin.map((b) => b.name).sort(),
      notFound: selection.notFound.map((n) => ({
        name: n.name,
        requestedBy: [...n.requestedBy].sort(),
      })),
      firmware,
    },
    paths: [
      ...(image ? [image] : []),
      ...modules.map((m) => absolute(m.path)),
      ...depmodInputs,
      ...firmware.found.map((f) => f.path),
    ],
    warnings,
  };
}
