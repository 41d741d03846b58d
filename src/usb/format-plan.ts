/**
 * What `lifeboat format` writes on a stick, as numbers: a GPT whose partitions start on 8 MiB
 * boundaries (flash erase blocks; ReaR aligns the same), decided before anything is written.
 *
 *   hybrid (default)   1 MiB  BIOS boot (GRUB's core image)    from 1 MiB
 *                      EFI System, vfat, LIFEBOATEFI           from 8 MiB, usb.efiSizeMiB
 *                      data, ext4 or xfs, usb.label            the rest, less 1 MiB at the end
 *   efi                EFI System and data
 *   bios               BIOS boot and data
 */
export type FormatMode = 'hybrid' | 'efi' | 'bios';
export type FilesystemKind = 'vfat' | 'ext4' | 'xfs';

export interface PlannedPartition {
  /** 1-based, as the partition table numbers it. */
  number: number;
  name: string;
  /** GPT partition type GUID. */
  type: string;
  startBytes: number;
  sizeBytes: number;
  /** The file system made on it (none on the BIOS boot partition), with its label. */
  filesystem?: { kind: FilesystemKind; label: string };
}

export interface FormatPlan {
  partitions: PlannedPartition[];
  /** sfdisk's input for the table. */
  sfdiskScript: string;
}

const MiB = 1024 * 1024;
const ALIGN = 8 * MiB;
/** The smallest data partition worth a stick: one rescue system and a small backup. */
export const MIN_DATA_BYTES = 128 * MiB;
/** The FAT label of the EFI System Partition (11 characters at most). */
export const EFI_LABEL = 'LIFEBOATEFI';

/** The GPT partition types lifeboat format gives, upper case as sfdisk prints them. */
export const PARTITION_TYPES = {
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
  efiSystem: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  linuxData: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
};

export interface PlanRequest {
  deviceBytes: number;
  mode: FormatMode;
  efiSizeMiB: number;
  filesystem: 'ext4' | 'xfs';
  label: string;
}

/** The partitions, or a sentence saying why the device is too small for them. */
export function planFormat(request: PlanRequest): FormatPlan | string {
  const { deviceBytes, mode } = request;
  const partitions: PlannedPartition[] = [];
  let next = ALIGN;
  if (mode !== 'efi') {
    partitions.push({
      number: 0,
      name: 'BIOS boot',
      type: PARTITION_TYPES.biosBoot,
      startBytes: MiB,
      sizeBytes: MiB,
    });
  }
  if (mode !== 'bios') {
    const size = Math.ceil((request.efiSizeMiB * MiB) / ALIGN) * ALIGN;
    partitions.push({
      number: 0,
      name: 'EFI System',
      type: PARTITION_TYPES.efiSystem,
      startBytes: next,
      sizeBytes: size,
      filesystem: { kind: 'vfat', label: EFI_LABEL },
    });
    next += size;
  }
  // The last MiB holds the backup GPT; the data partition ends on an 8 MiB boundary before it.
  const end = Math.floor((deviceBytes - MiB) / ALIGN) * ALIGN;
  if (end - next < MIN_DATA_BYTES) {
    const needed = Math.ceil((next + MIN_DATA_BYTES + MiB) / MiB);
    return `it holds ${Math.floor(deviceBytes / MiB)} MiB; this layout needs at least ${needed} MiB`;
  }
  partitions.push({
    number: 0,
    name: 'lifeboat data',
    type: PARTITION_TYPES.linuxData,
    startBytes: next,
    sizeBytes: end - next,
    filesystem: { kind: request.filesystem, label: request.label },
  });
  partitions.forEach((p, index) => {
    p.number = index + 1;
  });
  const lines = [
    'label: gpt',
    ...partitions.map(
      (p) =>
        `start=${p.startBytes / 512}, size=${p.sizeBytes / 512}, type=${p.type}, name="${p.name}"`,
    ),
  ];
  return { partitions, sfdiskScript: `${lines.join('\n')}\n` };
}
