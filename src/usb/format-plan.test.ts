import { describe, expect, it } from 'vitest';
import { planFormat } from './format-plan.js';

const MiB = 1024 * 1024;
const request = {
  deviceBytes: 16_000_000_000,
  mode: 'hybrid' as const,
  efiSizeMiB: 256,
  filesystem: 'ext4' as const,
  label: 'LIFEBOAT-000',
};

describe('planFormat: the stick layout, decided before any write', () => {
  it('aligns the EFI System and data partitions to 8 MiB and leaves the last MiB for the backup GPT', () => {
    const plan = planFormat({ ...request, efiSizeMiB: 100 });
    if (typeof plan === 'string') throw new Error(plan);
    const [bios, efi, data] = plan.partitions;
    expect(bios).toMatchObject({ number: 1, startBytes: MiB, sizeBytes: MiB });
    // 100 MiB is rounded up to 104 (13 erase blocks of 8 MiB).
    expect(efi).toMatchObject({ number: 2, startBytes: 8 * MiB, sizeBytes: 104 * MiB });
    expect(data?.startBytes).toBe(112 * MiB);
    const end = (data?.startBytes ?? 0) + (data?.sizeBytes ?? 0);
    expect(end % (8 * MiB)).toBe(0);
    expect(end).toBeLessThanOrEqual(request.deviceBytes - MiB);
    expect(plan.sfdiskScript).toContain('label: gpt\nstart=2048, size=2048, type=21686148');
    expect(plan.sfdiskScript).toContain('name="lifeboat data"');
  });

  it('says how large the device must be when it is too small', () => {
    expect(planFormat({ ...request, deviceBytes: 300 * MiB })).toBe(
      'it holds 300 MiB; this layout needs at least 393 MiB',
    );
  });

  it('--bios has no EFI System Partition; --efi no BIOS boot partition', () => {
    const bios = planFormat({ ...request, mode: 'bios' });
    const efi = planFormat({ ...request, mode: 'efi' });
    if (typeof bios === 'string' || typeof efi === 'string') throw new Error('too small');
    expect(bios.partitions.map((p) => p.name)).toEqual(['BIOS boot', 'lifeboat data']);
    expect(efi.partitions.map((p) => p.name)).toEqual(['EFI System', 'lifeboat data']);
    expect(efi.partitions[0]?.startBytes).toBe(8 * MiB);
  });
});
