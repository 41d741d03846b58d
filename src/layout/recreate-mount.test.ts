import { describe, expect, it } from 'vitest';
import { btrfsLayout, espLayout } from '../../test/support/layout-fixtures.js';
import { mountScript } from './recreate.js';

describe('mountScript', () => {
  it('mounts parents first under TARGET, making each directory, guarded by mountpoint', () => {
    const script = mountScript(espLayout(), '/mnt/local/');
    const mounts = script.split('\n').filter((line) => line.includes('run mount '));
    expect(mounts).toEqual([
      "  run mount -t 'ext4' -o 'relatime,errors=remount-ro' '/dev/vda2' '/mnt/local'",
      "  run mount -t 'vfat' -o 'relatime,fmask=0077,dmask=0077' '/dev/vda1' '/mnt/local/boot/efi'",
    ]);
    expect(script).toContain("if mountpoint -q '/mnt/local/boot/efi'; then");
    expect(script.indexOf("run mkdir -p '/mnt/local/boot/efi'")).toBeLessThan(
      script.indexOf("'/mnt/local/boot/efi'\nfi"),
    );
    // tmpfs is no file system of the layout.
    expect(script).toContain('#   /tmp (tmpfs, tmpfs)');
    expect(script).not.toContain("'/mnt/local/tmp'");
    expect(script.trimEnd().endsWith("say 'done'")).toBe(true);
  });

  it('mounts btrfs subvolumes by subvol=, never by the old subvolid=', () => {
    const script = mountScript(btrfsLayout(), '/mnt/local');
    const mounts = script.split('\n').filter((line) => line.includes('run mount '));
    expect(mounts).toEqual([
      "  run mount -t 'btrfs' -o 'relatime,space_cache=v2,subvol=/@' '/dev/vda1' '/mnt/local'",
      "  run mount -t 'btrfs' -o 'relatime,subvol=/@home' '/dev/vda1' '/mnt/local/home'",
    ]);
  });

  it('refuses a target or mount point that could lead elsewhere', () => {
    expect(() => mountScript(espLayout(), 'mnt')).toThrow(/Mount target "mnt"/);
    expect(() => mountScript(espLayout(), '/')).toThrow(/Mount target "\/"/);
    const layout = espLayout();
    Object.assign(layout.mounts[1] ?? {}, { mountpoint: '/boot/../../etc' });
    expect(() => mountScript(layout, '/mnt/local')).toThrow(/path "boot\/..\/..\/etc"/);
  });
});
