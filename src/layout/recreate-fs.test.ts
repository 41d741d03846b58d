import { describe, expect, it } from 'vitest';
import {
  blockOf,
  ESP,
  EXT4_FEATURES,
  espLayout,
  gptExt4Swap,
  linesOf,
  xfsLayout,
} from '../../test/support/layout-fixtures.js';
import { recreateScript } from './recreate.js';

describe('recreateScript: GPT with ext4 and swap', () => {
  const { script } = recreateScript(gptExt4Swap());

  it('makes ext4 with its UUID, label and options, guarded by blkid', () => {
    const lines = linesOf(blockOf(script, 'fs:/dev/vda1'));
    expect(lines).toEqual([
      '# fs:/dev/vda1: ext4 file system',
      "if fs_uuid_is '/dev/vda1' '6f1d2a3b-0000-4000-8000-00000000aaaa'; then",
      "say 'ext4 file system on /dev/vda1 exists, skipped'",
      'else',
      "say 'creating ext4 file system on /dev/vda1'",
      "wipe_signatures '/dev/vda1'",
      `run mkfs.ext4 -F -U '6f1d2a3b-0000-4000-8000-00000000aaaa' -L 'root' -O 'none,${EXT4_FEATURES.join(',')}' -I '256' -b '4096' -m '5' '/dev/vda1'`,
      'fi',
    ]);
    expect(script).toContain(`uuid=$(blkid -p -s UUID -o value "$1" 2>/dev/null) || true`);
  });

  it('makes swap with its UUID and label', () => {
    expect(blockOf(script, 'swap:/dev/vda2')).toContain(
      "run mkswap -U '5a5a5a5a-0000-4000-8000-00000000bbbb' -L 'swap' '/dev/vda2'",
    );
  });

  it('drops state-only ext features that mke2fs refuses', () => {
    const layout = gptExt4Swap();
    const fs = layout.filesystems[0];
    if (fs === undefined) throw new Error('fixture has a file system');
    fs.options.features = ['has_journal', 'needs_recovery', 'extent', 'orphan_present'];
    expect(recreateScript(layout).script).toContain("-O 'none,has_journal,extent'");
  });
});

describe('recreateScript: xfs and vfat', () => {
  it('makes xfs with its UUID, crc, label, block and inode size', () => {
    expect(blockOf(recreateScript(xfsLayout()).script, 'fs:/dev/vdb1')).toContain(
      "run mkfs.xfs -f -m 'uuid=66666666-0000-4000-8000-000000000001,crc=1' -L 'data' -b 'size=4096' -i 'size=512' '/dev/vdb1'",
    );
  });

  it("makes xfs with each feature the host's had, on or off, whatever mkfs.xfs defaults to", () => {
    const layout = xfsLayout();
    const fs = layout.filesystems[0];
    if (fs === undefined) throw new Error('fixture has a file system');
    Object.assign(fs.options, { rmapbt: true, nrext64: true, reflink: false, ftype: true });
    expect(blockOf(recreateScript(layout).script, 'fs:/dev/vdb1')).toContain(
      "run mkfs.xfs -f -m 'uuid=66666666-0000-4000-8000-000000000001,crc=1,rmapbt=1,reflink=0' -L 'data' -b 'size=4096' -i 'size=512,nrext64=1' -n 'ftype=1' '/dev/vdb1'",
    );
  });

  it('makes the ESP with its volume id (no dash), label and FAT size, guarded by the dashed id', () => {
    const { script } = recreateScript(espLayout());
    const block = blockOf(script, 'fs:/dev/vda1');
    expect(block).toContain("if fs_uuid_is '/dev/vda1' 'ABCD-12EF'; then");
    expect(block).toContain("run mkfs.vfat -i 'ABCD12EF' -n 'EFI' -F '32' '/dev/vda1'");
    expect(blockOf(script, 'disk:/dev/vda')).toContain(
      `/dev/vda1 : start=2048, size=1048576, type=${ESP}, uuid=9A871100-0000-4000-8000-000000000000, name="EFI System Partition", attrs="LegacyBIOSBootable"`,
    );
  });

  it('refuses a file system type it cannot make, naming it', () => {
    const layout = xfsLayout();
    Object.assign(layout.filesystems[0] ?? {}, { type: 'zfs' });
    expect(() => recreateScript(layout)).toThrow(/fs:\/dev\/vdb1: file systems of type "zfs"/);
  });
});
