import { isAbsolute, relative, resolve } from 'node:path';
import { methodHostFiles, methodHostPrograms } from '../backup/methods.js';
import type { Config } from '../config/schema.js';
import { JobError } from '../errors.js';
import { captureLayout } from '../layout/capture.js';
import { runHostTool } from '../layout/run-tool.js';
import type { Log } from '../log/log.js';
import { rootArchitecture } from './arch.js';
import { readBootloader } from './bootloader.js';
import { collectCopyAsIs } from './copy-as-is.js';
import { recordFiles } from './file-records.js';
import { findConfiguredFirmware } from './firmware.js';
import { RootView } from './fs-root.js';
import { readIdentity } from './identity.js';
import { captureKernel } from './kernel.js';
import { CAPTURE_SCHEMA, type CaptureManifest } from './manifest.js';
import { moduleHints } from './module-hints.js';
import { captureNetwork } from './network.js';
import { capturePrograms } from './programs.js';

/**
 * Capture: everything the rescue system needs to know and copy from the protected host, read
 * without changing anything there (ReaR's "analyse" stages). It never runs a program from the
 * root; on the live host it reads /proc and /sys and runs the host's own `ip`.
 *
 * The steps below are the order of the manifest: identity first (the kernel version and
 * architecture steer the rest), then what is fatal when missing (required programs), then what
 * is collected. Nothing is written here: writeBundle does that, atomically, afterwards.
 */
export interface CaptureOptions {
  /** The root to capture: `/` for this host. */
  root: string;
  config: Config;
  log: Log;
  /** The architecture of a live host (kernel name); a root's own is read from its programs. */
  hostArch: string;
}

/**
 * lifeboat's own output, work and log directories, as paths of the captured root when they are
 * inside it: never captured, as they are never backed up (the next rescue system would carry
 * the last one's ISO).
 */
export function lifeboatDirsIn(root: string, config: Config): string[] {
  return [config.output.dir, config.paths.workDir, config.paths.logDir].flatMap((dir) => {
    const inside = relative(root, resolve(dir));
    return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? [] : [`/${inside}`];
  });
}

export interface CaptureResult {
  manifest: CaptureManifest;
  /** sha256 → file on this machine, for the bundle's store. */
  contents: Map<string, string>;
}

export async function captureHost(options: CaptureOptions): Promise<CaptureResult> {
  const { config, log } = options;
  const live = resolve(options.root) === '/';
  const view = new RootView(resolve(options.root));
  const warnings: string[] = [];
  const step = async <T extends { warnings: string[] }>(
    what: string,
    work: () => Promise<T>,
  ): Promise<T> => {
    const started = Date.now();
    const result = await work();
    warnings.push(...result.warnings);
    log.debug(`capture: ${what} in ${Date.now() - started} ms`);
    return result;
  };

  const arch = live ? options.hostArch : ((await rootArchitecture(view)) ?? options.hostArch);
  const identity = await step('identity', () =>
    readIdentity(view, {
      live,
      arch,
      ...(config.kernel.version ? { kernelVersion: config.kernel.version } : {}),
    }),
  );

  const programs = await step('programs and libraries', () =>
    capturePrograms(view, {
      // The backup method's restore programs are the host's (external.restore...).
      required: [...config.rescue.requiredPrograms, ...methodHostPrograms(config)],
      optional: config.rescue.programs,
      libs: config.rescue.libs,
    }),
  );

  // With the backup method's client files (dsm.sys...), as ReaR's COPY_AS_IS of a method.
  const copyAsIsPaths = [...config.rescue.copyAsIs, ...methodHostFiles(config)];
  const copyAsIs = await step('files copied as they are', () =>
    collectCopyAsIs(view, copyAsIsPaths, [
      ...config.rescue.copyAsIsExclude,
      ...lifeboatDirsIn(view.root, config),
    ]),
  );

  const network = await step('network', () => captureNetwork(view, { live }));

  const kernel = await step('kernel, modules and firmware', async () =>
    captureKernel(view, {
      version: identity.section.kernelVersion,
      live,
      policy: config.rescue.modules,
      hints: await moduleHints(view, live),
      extra: config.rescue.extraModules,
      exclude: config.rescue.excludeModules,
      nicDrivers: network.section.interfaces.flatMap((i) => (i.driver ? [i.driver] : [])),
    }),
  );
  const firmware = await step('firmware from rescue.firmware', () =>
    findConfiguredFirmware(view, identity.section.kernelVersion, config.rescue.firmware),
  );
  const kernelImage = config.kernel.file ?? kernel.section?.image ?? null;
  if (config.kernel.file && !(await view.lookup(config.kernel.file))) {
    throw new JobError(`kernel.file ${config.kernel.file} does not exist in the root ${view.root}`);
  }

  const bootloader = await step('bootloader', () => readBootloader(view, { live }));

  const files = await step('file records', () =>
    recordFiles(
      view,
      [
        ...programs.paths,
        ...copyAsIs.paths,
        ...kernel.paths,
        ...firmware.paths,
        ...(kernelImage ? [kernelImage] : []),
      ],
      {
        log,
      },
    ),
  );

  // The disks of a live host only: a mounted root's disks are not this machine's.
  const layout = live
    ? await captureLayout({ run: runHostTool, root: '/', warn: (w) => warnings.push(w) })
    : null;

  const manifest: CaptureManifest = {
    schema: CAPTURE_SCHEMA,
    source: { live, modulePolicy: config.rescue.modules },
    identity: identity.section,
    programs: programs.programs,
    libraries: programs.libraries,
    copyAsIs: {
      include: copyAsIsPaths,
      exclude: [...config.rescue.copyAsIsExclude],
      missing: copyAsIs.missing,
    },
    kernel: kernel.section && { ...kernel.section, image: kernelImage },
    network: network.section,
    bootloader: bootloader.section,
    layout,
    files: files.records,
    warnings: [...new Set(warnings)].sort(),
  };
  return { manifest, contents: files.contents };
}
