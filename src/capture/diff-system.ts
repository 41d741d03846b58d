import {
  type Change,
  type Detail,
  diffFields,
  diffKeyed,
  diffMembers,
  setDetail,
  valueDetail,
} from './diff-model.js';
import type { BootloaderSection, KernelSection, NetworkRoute, NetworkSection } from './manifest.js';

/** Kernel, network and bootloader compared between two captures. */

type Firmware = { name: string; found: { path: string } } | { name: string; missing: true };

/** No kernel compares as an empty one, so its modules show as added or removed. */
export function diffKernel(a: KernelSection | null, b: KernelSection | null): Change[] {
  return [
    ...diffFields('kernel field', [
      ['version', a?.version ?? null, b?.version ?? null],
      ['image', a?.image ?? null, b?.image ?? null],
    ]),
    ...diffKeyed(a?.modules ?? [], b?.modules ?? [], {
      item: 'module',
      key: (module) => module.name,
      subject: (name) => `module ${name}`,
      note: (module) => module.path,
      // Relative to the version's directory: a kernel upgrade moves every module's path, which the
      // version line already says; what is left is a module that moved (kernel/ → updates/dkms/).
      compare: (from, to) =>
        valueDetail('path', inVersionDir(from.path, a?.version), inVersionDir(to.path, b?.version)),
    }),
    ...diffMembers(a?.builtin ?? [], b?.builtin ?? [], 'module', (name) => `builtin ${name}`),
    ...diffKeyed(a?.notFound ?? [], b?.notFound ?? [], {
      item: 'module',
      key: (module) => module.name,
      subject: (name) => `module ${name} not found`,
      compare: () => [],
    }),
    ...diffKeyed(firmwareOf(a), firmwareOf(b), {
      item: 'firmware file',
      key: (firmware) => firmware.name,
      subject: (name) => `firmware ${name}`,
      note: (firmware) => ('found' in firmware ? firmware.found.path : 'missing'),
      compare: (from, to) => valueDetail('', firmwareStatus(from), firmwareStatus(to)),
    }),
  ];
}

function inVersionDir(path: string, version: string | undefined): string {
  const marker = `/lib/modules/${version}/`;
  const at = version === undefined ? -1 : path.indexOf(marker);
  return at === -1 ? path : path.slice(at + marker.length);
}

function firmwareOf(kernel: KernelSection | null): Firmware[] {
  if (kernel === null) return [];
  return [
    ...kernel.firmware.found.map((f): Firmware => ({ name: f.name, found: { path: f.path } })),
    ...kernel.firmware.missing.map((f): Firmware => ({ name: f.name, missing: true })),
  ];
}

function firmwareStatus(firmware: Firmware): string {
  return 'found' in firmware ? `found at ${firmware.found.path}` : 'missing';
}

// ---------------------------------------------------------------------------------------------

export function diffNetwork(a: NetworkSection, b: NetworkSection): Change[] {
  return [
    ...diffFields('network setting', [['source', a.source, b.source]]),
    ...diffMembers(a.configFiles, b.configFiles, 'network setting', (f) => `config file ${f}`),
    ...diffKeyed(a.interfaces, b.interfaces, {
      item: 'interface',
      key: (i) => i.name,
      subject: (name) => `interface ${name}`,
      note: (i) => [i.mac ?? 'mac unknown', i.dhcp ? 'dhcp' : 'static', ...i.addresses].join(', '),
      compare: (from, to) => [
        ...valueDetail('mac', from.mac, to.mac),
        ...setDetail('addresses', from.addresses, to.addresses),
        ...valueDetail('dhcp', from.dhcp, to.dhcp),
        ...valueDetail('mtu', from.mtu, to.mtu),
        ...valueDetail('driver', from.driver, to.driver),
      ],
    }),
    // A route is all key: a different gateway is another route.
    ...diffMembers(a.routes.map(routeText), b.routes.map(routeText), 'route', (r) => `route ${r}`),
    // Compared as sets, as every other list: any listed server answers, and a reordering alone
    // is not drift worth failing a check for.
    ...diffMembers(a.dns.servers, b.dns.servers, 'DNS entry', (s) => `dns server ${s}`),
    ...diffMembers(a.dns.search, b.dns.search, 'DNS entry', (s) => `dns search ${s}`),
  ];
}

function routeText(route: NetworkRoute): string {
  const via = route.gateway === null ? '' : ` via ${route.gateway}`;
  const dev = route.device === null ? '' : ` dev ${route.device}`;
  return `${route.destination}${via}${dev}`;
}

// ---------------------------------------------------------------------------------------------

type Grub = NonNullable<BootloaderSection['grub']>;
type Efi = NonNullable<BootloaderSection['efi']>;

/** grub, esp and efi are each one line (added, removed, or changed with its fields). */
export function diffBootloader(a: BootloaderSection, b: BootloaderSection): Change[] {
  return [
    ...optional('grub', a.grub, b.grub, grubNote, compareGrub),
    ...optional(
      'esp',
      a.esp,
      b.esp,
      (esp) => `${esp.mountPoint} on ${esp.device}`,
      (from, to) => [
        ...valueDetail('mountPoint', from.mountPoint, to.mountPoint),
        ...valueDetail('device', from.device, to.device),
      ],
    ),
    ...optional('efi', a.efi, b.efi, efiNote, (from, to) => [
      ...valueDetail('bootCurrent', from.bootCurrent, to.bootCurrent),
      // The boot order is the firmware's preference: here the order is the value.
      ...valueDetail('bootOrder', from.bootOrder.join(','), to.bootOrder.join(',')),
    ]),
    ...diffKeyed(a.efi?.entries ?? [], b.efi?.entries ?? [], {
      item: 'EFI entry',
      key: (entry) => entry.id,
      subject: (id) => `efi entry ${id}`,
      note: (entry) => [entry.description, entry.path].filter((p) => p !== null).join(', '),
      compare: (from, to) => [
        ...valueDetail('description', from.description, to.description),
        ...valueDetail('path', from.path, to.path),
        ...valueDetail('active', from.active, to.active),
      ],
    }),
  ];
}

/** A part that may be absent (null): added, removed, or compared field by field. */
function optional<T>(
  subject: string,
  from: T | null,
  to: T | null,
  note: (value: T) => string,
  compare: (from: T, to: T) => Detail[],
): Change[] {
  return diffKeyed(from === null ? [] : [from], to === null ? [] : [to], {
    item: 'bootloader setting',
    key: () => subject,
    note,
    compare,
  });
}

function grubNote(grub: Grub): string {
  const installed = grub.installedTargets.join(' ') || 'none';
  return `${grub.version ?? 'version unknown'}, installed ${installed}`;
}

function compareGrub(from: Grub, to: Grub): Detail[] {
  return [
    ...valueDetail('version', from.version, to.version),
    ...setDetail('installed', from.installedTargets, to.installedTargets),
    ...setDetail('available', from.availableTargets, to.availableTargets),
    ...valueDetail('configFile', from.configFile, to.configFile),
  ];
}

function efiNote(efi: Efi): string {
  return `boot order ${efi.bootOrder.join(',') || 'empty'}, current ${efi.bootCurrent ?? 'unknown'}`;
}
