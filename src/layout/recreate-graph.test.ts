import { describe, expect, it } from 'vitest';
import {
  expectBashSyntaxOk,
  gptExt4Swap,
  layoutOf,
  lvmOnGpt,
  raid1Lvm,
  xfsFs,
} from '../../test/support/layout-fixtures.js';
import { recreateScript } from './recreate.js';

describe('recreateScript: exclusion', () => {
  it('drops a component given by device path and everything built on it, and says why', async () => {
    const { script, order } = recreateScript(lvmOnGpt(), { exclude: ['/dev/vg0/home'] });
    await expectBashSyntaxOk(script);
    expect(order).not.toContain('lv:vg0/home');
    expect(order).not.toContain('fs:/dev/vg0/home');
    expect(order).toContain('lv:vg0/root');
    expect(script).toContain('#   lv:vg0/home: excluded as /dev/vg0/home');
    expect(script).toContain('#   fs:/dev/vg0/home: built on lv:vg0/home, which is excluded');
    expect(script).not.toContain("--name 'home'");
    expect(script).not.toContain("'/dev/vg0/home'");
  });

  it('follows the closure through every layer: a disk takes its array and all above it', async () => {
    const { script, order } = recreateScript(raid1Lvm(), { exclude: ['disk:/dev/vdb'] });
    await expectBashSyntaxOk(script);
    expect(order).toEqual(['disk:/dev/vda', 'disk:/dev/vdc', 'part:/dev/vda1', 'part:/dev/vdc1']);
    for (const id of [
      'part:/dev/vdb1',
      'raid:/dev/md0',
      'pv:/dev/md0',
      'vg:vg0',
      'lv:vg0/root',
      'fs:/dev/vg0/root',
    ]) {
      expect(script).toMatch(new RegExp(`#   ${id.replaceAll('/', '\\/')}: built on `));
    }
    expect(script).toContain('#   disk:/dev/vdb: excluded\n');
    // Nothing is written to the excluded disk.
    expect(script).not.toContain("'/dev/vdb");
    expect(script).not.toContain('/dev/vdb1 :');
  });

  it('refuses an entry that matches nothing, rather than recreate what it meant to keep', () => {
    expect(() => recreateScript(lvmOnGpt(), { exclude: ['/dev/vg0/hoem'] })).toThrow(
      /Exclude entry "\/dev\/vg0\/hoem" matches no component/,
    );
  });
});

describe('recreateScript: the graph', () => {
  it('refuses a dependency on a device no component provides, naming both', () => {
    const layout = gptExt4Swap();
    layout.filesystems.push(xfsFs('/dev/sdz1'));
    expect(() => recreateScript(layout)).toThrow(
      'fs:/dev/sdz1 needs /dev/sdz1, which no component of the layout provides',
    );
    expect(recreateScript(layout, { exclude: ['fs:/dev/sdz1'] }).order).not.toContain(
      'fs:/dev/sdz1',
    );
  });

  it('refuses a cycle, naming it', () => {
    const layout = layoutOf({
      raids: [
        {
          device: '/dev/md0',
          level: 'raid1',
          uuid: 'u',
          metadata: '1.2',
          devices: ['/dev/mapper/loop'],
          spares: [],
        },
      ],
      encrypted: [
        { device: '/dev/md0', mapping: 'loop', version: 2, uuid: 'u', cipher: 'c', keySize: 512 },
      ],
    });
    expect(() => recreateScript(layout)).toThrow(
      'Dependency cycle: luks:/dev/md0 → raid:/dev/md0 → luks:/dev/md0',
    );
  });

  it('refuses two components for one device', () => {
    const layout = gptExt4Swap();
    layout.filesystems.push(xfsFs('/dev/vda1'));
    expect(() => recreateScript(layout)).toThrow('The layout has fs:/dev/vda1 twice');
  });
});
