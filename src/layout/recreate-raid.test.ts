import { describe, expect, it } from 'vitest';
import { blockOf, linesOf, raid1Lvm } from '../../test/support/layout-fixtures.js';
import { recreateScript } from './recreate.js';

describe('recreateScript: RAID1 with LVM on top', () => {
  const { script, order } = recreateScript(raid1Lvm());

  it('orders members, array, PV, VG, LV, file system', () => {
    const chain = [
      'part:/dev/vda1',
      'part:/dev/vdb1',
      'part:/dev/vdc1',
      'raid:/dev/md0',
      'pv:/dev/md0',
      'vg:vg0',
      'lv:vg0/root',
      'fs:/dev/vg0/root',
    ];
    const positions = chain.map((id) => order.indexOf(id));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('creates the array with its UUID, name, metadata, level and spare, wiping the members first', () => {
    const lines = linesOf(blockOf(script, 'raid:/dev/md0'));
    expect(lines).toContain("if md_uuid_is '/dev/md0' 'a1b2c3d4:e5f60718:293a4b5c:6d7e8f90'; then");
    const create = lines.findIndex((line) => line.startsWith('run mdadm --create'));
    expect(lines[create]).toBe(
      "run mdadm --create '/dev/md0' --run --uuid='a1b2c3d4:e5f60718:293a4b5c:6d7e8f90' --metadata='1.2' --level='raid1' --raid-devices='2' --spare-devices='1' --name='host:0' --assume-clean \\",
    );
    expect(lines[create + 1]).toBe("'/dev/vda1' '/dev/vdb1' '/dev/vdc1'");
    for (const member of ['/dev/vda1', '/dev/vdb1', '/dev/vdc1']) {
      expect(lines.indexOf(`wipe_signatures '${member}'`)).toBeGreaterThan(-1);
      expect(lines.indexOf(`wipe_signatures '${member}'`)).toBeLessThan(create);
    }
    // raid1 has no chunk: mdadm refuses one.
    expect(lines[create]).not.toContain('--chunk');
  });

  it('gives a parity array its chunk and layout, and lets it resync', () => {
    const layout = raid1Lvm();
    const raid = layout.raids[0];
    if (raid === undefined) throw new Error('fixture has an array');
    Object.assign(raid, {
      level: 'raid5',
      layout: 'left-symmetric',
      devices: ['/dev/vda1', '/dev/vdb1', '/dev/vdc1'],
      spares: [],
    });
    const block = blockOf(recreateScript(layout).script, 'raid:/dev/md0');
    expect(block).toContain(
      "--level='raid5' --chunk='512' --layout='left-symmetric' --raid-devices='3'",
    );
    expect(block).not.toContain('--assume-clean');
    expect(block).not.toContain('--spare-devices');
  });

  it('puts the PV on the array', () => {
    expect(blockOf(script, 'pv:/dev/md0')).toContain(
      "run pvcreate --yes --uuid 'PvUuid-md0' --norestorefile '/dev/md0'",
    );
  });
});
