import type {
  BootloaderSection,
  CaptureManifest,
  CopyAsIsSection,
  Identity,
  KernelSection,
  LibrariesSection,
  NetworkInterface,
  NetworkRoute,
  NetworkSection,
  ProgramsSection,
} from './manifest.js';
import { fileStats, moduleBytes } from './show-files.js';
import { countOf, formatBytes } from './show-units.js';

/**
 * `lifeboat capture show DIR`: the manifest as an administrator reads it, one screen, one
 * section per concern. Every missing or unresolved item is on a line starting with "!", in the
 * section it belongs to (so its context is next to it), and the last line counts them, so a
 * glance at the left margin and the bottom says whether the capture is complete.
 */

export interface CaptureSummaryOptions {
  /** Size of the bundle on disk (manifest and content store), when the caller measured it. */
  bundleBytes?: number;
  /** Stored files that are missing or damaged (verifyBundle): a problem like any other. */
  damagedFiles?: number;
}

const LABEL_WIDTH = 17;
const WARNINGS_SHOWN = 20;

export function formatCaptureSummary(
  manifest: CaptureManifest,
  options: CaptureSummaryOptions = {},
): string {
  const sections = [
    header(manifest),
    host(manifest.identity),
    kernel(manifest),
    programs(manifest.programs),
    libraries(manifest),
    copyAsIs(manifest.copyAsIs),
    network(manifest.network),
    bootloader(manifest.bootloader),
    files(manifest, options.bundleBytes),
    warnings(manifest.warnings),
    [problemsLine(manifest, options.damagedFiles)],
  ];
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

// --- layout ----------------------------------------------------------------------------------

/** "  label            value", or "! label ..." for a problem. */
function field(label: string, value: string, problem = false): string {
  return `${problem ? '!' : ' '} ${label.padEnd(LABEL_WIDTH)} ${value}`.trimEnd();
}

/** One item a line under one label; "none" when there is nothing, which is never a problem. */
function listField(label: string, items: readonly string[], problem = false): string[] {
  if (items.length === 0) return [field(label, 'none')];
  return items.map((item, index) => field(index === 0 ? label : '', item, problem));
}

function orNone(value: string | null | undefined): string {
  return value === null || value === undefined || value === '' ? 'none' : value;
}

function joinedOrNone(values: readonly string[], separator = ', '): string {
  return values.length === 0 ? 'none' : values.join(separator);
}

// --- sections --------------------------------------------------------------------------------

function header(manifest: CaptureManifest): string[] {
  const what = manifest.source.live ? 'live host' : 'root filesystem';
  const name = manifest.identity.hostname === '' ? '(no hostname)' : manifest.identity.hostname;
  return [`Capture of ${name}: ${what}, module policy "${manifest.source.modulePolicy}"`];
}

function host(identity: Identity): string[] {
  const { os } = identity;
  const release = [os.id, os.versionId].filter((part) => part !== '').join(' ');
  const osName = os.prettyName !== '' ? os.prettyName : release;
  return [
    'Host',
    field('hostname', orNone(identity.hostname)),
    field('os', orNone(osName)),
    field('arch', orNone(identity.arch)),
    // A root filesystem does not say how it boots: only a live capture reads /sys/firmware/efi.
    field('boot mode', identity.bootMode ?? 'unknown (not a live capture)'),
  ];
}

function kernel(manifest: CaptureManifest): string[] {
  const section = manifest.kernel;
  if (section === null) return ['Kernel', field('version', 'none (no kernel in this root)')];
  const { firmware } = section;
  return [
    'Kernel',
    field('version', section.version),
    field('image', section.image ?? 'not found', section.image === null),
    field('modules', modulesSummary(section, manifest)),
    ...listField(
      'not found',
      section.notFound
        .filter((m) => !baseOnly(m))
        .map((m) => `${m.name}${requested(m.requestedBy)}`),
      true,
    ),
    // The base set names drivers for many machines; a kernel without some of them is normal.
    ...listField(
      'base absent',
      [
        section.notFound
          .filter(baseOnly)
          .map((m) => m.name)
          .join(' '),
      ].filter(Boolean),
      false,
    ),
    field('firmware', `${firmware.found.length} found, ${firmware.missing.length} missing`),
    ...listField(
      'firmware missing',
      firmware.missing.map((f) => `${f.name}${forModules(f.modules)}`),
      true,
    ),
  ];
}

function modulesSummary(section: KernelSection, manifest: CaptureManifest): string {
  const count = section.modules.length;
  const { bytes, counted } = moduleBytes(section, manifest.files);
  // The size is only as good as the file records; say so when some modules had none.
  const size =
    counted === 0
      ? ''
      : counted === count
        ? ` (${formatBytes(bytes)})`
        : ` (${formatBytes(bytes)} for ${counted} of them)`;
  return `${count}${size}, ${section.builtin.length} builtin, ${section.notFound.filter((m) => !baseOnly(m)).length} not found`;
}

function baseOnly(module: { requestedBy: readonly string[] }): boolean {
  return module.requestedBy.every((by) => by === 'base');
}

function requested(by: readonly string[]): string {
  return by.length === 0 ? '' : ` (requested by ${by.join(', ')})`;
}

function forModules(modules: readonly string[]): string {
  return modules.length === 0 ? '' : ` (for ${modules.join(', ')})`;
}

function programs(section: ProgramsSection): string[] {
  const required = section.found.filter((p) => p.required).length;
  const optional = section.found.length - required;
  return [
    'Programs',
    field('found', `${section.found.length} (${required} required, ${optional} optional)`),
    ...listField(
      'missing',
      section.missing.map((p) => `${p.name} (${p.required ? 'required' : 'optional'})`),
      true,
    ),
  ];
}

function libraries(manifest: CaptureManifest): string[] {
  const section: LibrariesSection = manifest.libraries;
  const extra = section.resolved.filter((l) => l.extra).length;
  return [
    'Libraries',
    field('resolved', `${section.resolved.length} (${extra} from the dlopen list)`),
    ...listField(
      'unresolved',
      section.unresolved.map((l) => `${l.name}, needed by ${neededBy(manifest, l.neededBy)}`),
      true,
    ),
    // Not a problem: the default dlopen list names libraries most hosts lack (NSS modules...).
    ...listField('dlopen no match', section.extrasNotFound),
  ];
}

/**
 * Who needs an unresolved library, in the programs' names: `neededBy` holds real paths of
 * programs and of libraries, and a library's users are the programs whose closure has it.
 */
function neededBy(manifest: CaptureManifest, paths: readonly string[]): string {
  const found = manifest.programs.found;
  const programNames = new Set<string>();
  const through: string[] = [];
  for (const path of paths) {
    const direct = found.filter((p) => p.realPath === path);
    if (direct.length > 0) {
      for (const p of direct) programNames.add(p.name);
      continue;
    }
    through.push(path);
    for (const p of found) if (p.libraries.includes(path)) programNames.add(p.name);
  }
  const names = [...programNames].sort();
  if (names.length === 0) return joinedOrNone(through);
  const via = through.length === 0 ? '' : ` (through ${through.join(', ')})`;
  return `${names.join(', ')}${via}`;
}

function copyAsIs(section: CopyAsIsSection): string[] {
  return [
    'Copied as is',
    field(
      'include',
      `${countOf(section.include.length, 'path')}, ${countOf(section.exclude.length, 'exclusion')}`,
    ),
    ...listField('missing', section.missing, true),
  ];
}

function network(section: NetworkSection): string[] {
  const defaults = section.routes.filter((r) => r.destination === 'default');
  const others = section.routes.filter((r) => r.destination !== 'default');
  const { servers, search } = section.dns;
  return [
    `Network (${section.source === 'live' ? 'live' : 'from the configuration files'})`,
    ...(section.interfaces.length === 0
      ? [field('interfaces', 'none')]
      : section.interfaces.map((i) => field(i.name, describeInterface(i)))),
    ...listField(
      'default route',
      defaults.map((r) => describeRoute(r, false)),
    ),
    ...listField(
      'other routes',
      others.map((r) => describeRoute(r, true)),
    ),
    field('dns', `${joinedOrNone(servers)}; search ${joinedOrNone(search, ' ')}`),
  ];
}

function describeInterface(i: NetworkInterface): string {
  const parts = [
    i.mac ?? 'mac unknown',
    i.dhcp ? 'dhcp' : 'static',
    i.addresses.length === 0 ? 'no address' : i.addresses.join(' '),
  ];
  if (i.mtu !== null) parts.push(`mtu ${i.mtu}`);
  if (i.driver !== null) parts.push(`driver ${i.driver}`);
  return parts.join(', ');
}

/** "via 192.0.2.1 dev eth0"; a default route is listed under its own label, without "default". */
function describeRoute(route: NetworkRoute, withDestination: boolean): string {
  const parts = withDestination ? [route.destination] : [];
  if (route.gateway !== null) parts.push(`via ${route.gateway}`);
  if (route.device !== null) parts.push(`dev ${route.device}`);
  return parts.length === 0 ? route.destination : parts.join(' ');
}

function bootloader(section: BootloaderSection): string[] {
  const { grub, esp, efi } = section;
  const grubLine =
    grub === null
      ? 'none'
      : `${grub.version ?? 'version unknown'}; installed ${joinedOrNone(grub.installedTargets, ' ')}` +
        `; available ${joinedOrNone(grub.availableTargets, ' ')}`;
  const lines = [
    'Bootloader',
    field('grub', grubLine),
    field('esp', esp === null ? 'none' : `${esp.mountPoint} (${esp.device})`),
  ];
  if (efi === null) return [...lines, field('efi', 'none')];
  // "*" marks the entry the host booted from, as efibootmgr does.
  const entries = efi.entries.map((e) => {
    const mark = e.id === efi.bootCurrent ? '*' : ' ';
    const path = e.path === null ? '' : ` ${e.path}`;
    return `${mark} ${e.id} ${e.description}${path}${e.active ? '' : ' (inactive)'}`;
  });
  return [
    ...lines,
    field('efi boot order', joinedOrNone(efi.bootOrder)),
    ...listField('efi entries', entries),
  ];
}

function files(manifest: CaptureManifest, bundleBytes: number | undefined): string[] {
  const stats = fileStats(manifest.files);
  const entries =
    `${manifest.files.length}: ${countOf(stats.files, 'file')}, ` +
    `${countOf(stats.symlinks, 'symlink')}, ${countOf(stats.dirs, 'directory')}`;
  const contents =
    `${formatBytes(stats.bytes)}, ${countOf(stats.uniqueContents, 'unique content')}` +
    ` (${formatBytes(stats.uniqueBytes)})`;
  return [
    'Files',
    field('entries', entries),
    field('regular files', contents),
    ...(bundleBytes === undefined ? [] : [field('bundle', formatBytes(bundleBytes))]),
  ];
}

function warnings(all: readonly string[]): string[] {
  const shown = all.slice(0, WARNINGS_SHOWN);
  const more = all.length - shown.length;
  return [
    `Warnings (${all.length})`,
    ...(all.length === 0 ? ['  none'] : shown.map((w) => `  ${w}`)),
    ...(more > 0 ? [`  … and ${more} more`] : []),
  ];
}

/** The last line: every "!" above, counted by kind. */
function problemsLine(manifest: CaptureManifest, damagedFiles = 0): string {
  const { programs, libraries, copyAsIs, kernel } = manifest;
  const requiredMissing = programs.missing.filter((p) => p.required).length;
  const counts: [number, string, string][] = [
    [requiredMissing, 'required program', 'missing'],
    [programs.missing.length - requiredMissing, 'optional program', 'missing'],
    [libraries.unresolved.length, 'library', 'unresolved'],
    [copyAsIs.missing.length, 'copy-as-is path', 'missing'],
    [kernel?.image === null ? 1 : 0, 'kernel image', 'missing'],
    [kernel?.notFound.filter((m) => !baseOnly(m)).length ?? 0, 'module', 'not found'],
    [kernel?.firmware.missing.length ?? 0, 'firmware file', 'missing'],
    [damagedFiles, 'stored file', 'missing or damaged'],
  ];
  const parts = counts
    .filter(([count]) => count > 0)
    .map(([count, noun, state]) => `${countOf(count, noun)} ${state}`);
  return parts.length === 0 ? 'Problems: none' : `Problems (lines marked !): ${parts.join(', ')}`;
}
