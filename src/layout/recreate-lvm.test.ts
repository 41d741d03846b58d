import { describe, expect, it } from 'vitest';
import { blockOf, GIB, linear, linesOf, lvmOnGpt } from '../../test/support/layout-fixtures.js';
import { recreateScript } from './recreate.js';

describe('recreateScript: LVM on GPT', () => {
  const { script, order } = recreateScript(lvmOnGpt());

  it('orders PVs before the VG before its LVs, a thin volume after its pool', () => {
    const at = (id: string) => order.indexOf(id);
    for (const pv of ['pv:/dev/vda1', 'pv:/dev/vdb1']) {
      expect(at(pv)).toBeGreaterThan(at(pv.replace('pv:', 'part:')));
      expect(at('vg:vg0')).toBeGreaterThan(at(pv));
    }
    for (const lv of ['root', 'home', 'data', 'pool', 'thin'])
      expect(at(`lv:vg0/${lv}`)).toBeGreaterThan(at('vg:vg0'));
    expect(at('lv:vg0/thin')).toBeGreaterThan(at('lv:vg0/pool'));
    expect(at('fs:/dev/vg0/root')).toBeGreaterThan(at('lv:vg0/root'));
  });

  it('keeps PV UUIDs, guarded by pvs', () => {
    const lines = linesOf(blockOf(script, 'pv:/dev/vda1'));
    expect(lines[1]).toBe("if pv_uuid_is '/dev/vda1' 'PvUuid-aaaa-1111'; then");
    expect(lines).toContain("wipe_signatures '/dev/vda1'");
    expect(lines).toContain(
      "run pvcreate --yes --uuid 'PvUuid-aaaa-1111' --norestorefile '/dev/vda1'",
    );
    expect(lines.indexOf("wipe_signatures '/dev/vda1'")).toBeLessThan(
      lines.findIndex((l) => l.includes('pvcreate')),
    );
  });

  it('recreates the VG by name with its extent size, and says its UUID cannot be kept', () => {
    const block = blockOf(script, 'vg:vg0');
    expect(block).toContain("if vgs 'vg0' >/dev/null 2>&1; then");
    expect(block).toContain(
      "run vgcreate --physicalextentsize '4096k' 'vg0' '/dev/vda1' '/dev/vdb1'",
    );
    expect(block).toMatch(/# vgcreate cannot set a VG's UUID/);
  });

  it('creates each LV by name and size in bytes, by its segment type, guarded by lvs', () => {
    const root = blockOf(script, 'lv:vg0/root');
    expect(root).toContain("if lvs 'vg0/root' >/dev/null 2>&1; then");
    expect(root).toContain("run lvchange --activate y 'vg0/root'");
    expect(root).toContain(
      "run lvcreate --yes --wipesignatures y --name 'root' --size '10737418240b' 'vg0'",
    );
    expect(root).toContain("# lvcreate cannot set an LV's UUID (it was LVUUID-root)");
    expect(blockOf(script, 'lv:vg0/data')).toContain(
      "run lvcreate --yes --wipesignatures y --name 'data' --size '8589934592b' -i '2' -I '64k' 'vg0'",
    );
    expect(blockOf(script, 'lv:vg0/pool')).toContain(
      "run lvcreate --yes --size '6442450944b' --thinpool 'pool' 'vg0'",
    );
    expect(blockOf(script, 'lv:vg0/thin')).toContain(
      "run lvcreate --yes --type thin -V '21474836480b' --thinpool 'pool' --name 'thin' 'vg0'",
    );
  });

  it('counts RAID LV images as lvs reports them: mirror legs for -m, data stripes for -i', () => {
    const layout = lvmOnGpt();
    layout.volumeGroups[0]?.logicalVolumes.push(
      { ...linear('mirrored', GIB), segtype: 'raid1' },
      { ...linear('parity', 2 * GIB), segtype: 'raid5', stripes: 3, stripeSize: 65536 },
    );
    const { script } = recreateScript(layout);
    expect(blockOf(script, 'lv:vg0/mirrored')).toContain(
      "run lvcreate --yes --type raid1 -m '1' --wipesignatures y --name 'mirrored' --size '1073741824b' 'vg0'",
    );
    expect(blockOf(script, 'lv:vg0/parity')).toContain(
      "run lvcreate --yes --type 'raid5' -i '2' -I '64k' --wipesignatures y --name 'parity' --size '2147483648b' 'vg0'",
    );
  });

  it('refuses an LV type it cannot make, naming the LV', () => {
    const layout = lvmOnGpt();
    layout.volumeGroups[0]?.logicalVolumes.push({ ...linear('cached', GIB), segtype: 'cache' });
    expect(() => recreateScript(layout)).toThrow(/lv:vg0\/cached: LVs of segment type "cache"/);
    expect(recreateScript(layout, { exclude: ['lv:vg0/cached'] }).order).not.toContain(
      'lv:vg0/cached',
    );
  });
});
