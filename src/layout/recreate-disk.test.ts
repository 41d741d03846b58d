import { describe, expect, it } from 'vitest';
import {
  blockOf,
  gptExt4Swap,
  LINUX,
  linesOf,
  mbrExt4,
  SWAP,
} from '../../test/support/layout-fixtures.js';
import { recreateScript } from './recreate.js';

describe('recreateScript: GPT with ext4 and swap', () => {
  const { script, order } = recreateScript(gptExt4Swap());

  it('orders the table, then each partition, then what is on it (ties by id)', () => {
    expect(order).toEqual([
      'disk:/dev/vda',
      'part:/dev/vda1',
      'fs:/dev/vda1',
      'part:/dev/vda2',
      'swap:/dev/vda2',
    ]);
    const positions = order.map((id) => script.indexOf(`\n# ${id}:`));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('writes the table with every id, in sectors, with the usable area', () => {
    const block = blockOf(script, 'disk:/dev/vda');
    expect(block).toContain(
      [
        "sfdisk_input='label: gpt",
        'label-id: 0D15C100-0000-4000-8000-000000000000',
        'unit: sectors',
        'first-lba: 2048',
        'last-lba: 41943006',
        'sector-size: 512',
        '',
        `/dev/vda1 : start=2048, size=33554432, type=${LINUX}, uuid=9A871100-0000-4000-8000-000000000000, name="root"`,
        `/dev/vda2 : start=33556480, size=2097152, type=${SWAP}, uuid=9A871200-0000-4000-8000-000000000000, name="swap", attrs="RequiredPartition"'`,
      ].join('\n'),
    );
  });

  it('skips the table when sfdisk shows its label-id, and wipes only when it writes it', () => {
    const lines = linesOf(blockOf(script, 'disk:/dev/vda'));
    const guard = lines.indexOf(
      "if table_id_is '/dev/vda' '0D15C100-0000-4000-8000-000000000000'; then",
    );
    const otherwise = lines.indexOf('else');
    expect(guard).toBeGreaterThan(-1);
    expect(lines[guard + 1]).toBe("say 'partition table of /dev/vda exists, skipped'");
    const creating = [
      "say 'creating the gpt partition table of /dev/vda'",
      // The whole usable area and the backup GPT: 41943006 + 1 + 33 sectors.
      "check_disk '/dev/vda' '512' '21474836480'",
      "wipe_disk '/dev/vda'",
      `printf '%s\\n' "$sfdisk_input" | run sfdisk '/dev/vda'`,
      "reread_partitions '/dev/vda'",
    ];
    expect(lines.slice(otherwise + 1, otherwise + 1 + creating.length)).toEqual(creating);
    // The new partitions lose what the old ones left at the same positions.
    expect(lines).toContain("wipe_signatures '/dev/vda1'");
    expect(lines).toContain("wipe_signatures '/dev/vda2'");
  });
});

describe('recreateScript: MBR with ext4', () => {
  const { script, order } = recreateScript(mbrExt4());

  it('keeps the disk identifier, the types and the boot flag', () => {
    const block = blockOf(script, 'disk:/dev/sda');
    expect(block).toContain(
      "sfdisk_input='label: dos\nlabel-id: 0x1234abcd\nunit: sectors\nsector-size: 512\n",
    );
    expect(block).toContain('/dev/sda1 : start=2048, size=1048576, type=83, bootable\n');
    expect(block).toContain('/dev/sda2 : start=1050624, size=4194304, type=5\n');
    expect(block).toContain("/dev/sda5 : start=1052672, size=4192256, type=83'");
    expect(block).not.toContain('first-lba');
    expect(block).toContain("if table_id_is '/dev/sda' '0x1234abcd'; then");
  });

  it('never wipes the extended partition, which holds the logical ones', () => {
    const block = blockOf(script, 'disk:/dev/sda');
    expect(block).toContain("wipe_signatures '/dev/sda1'");
    expect(block).toContain("wipe_signatures '/dev/sda5'");
    expect(block).not.toContain("wipe_signatures '/dev/sda2'");
  });

  it('puts a logical partition after the extended one, and excludes it with it', () => {
    expect(order.indexOf('part:/dev/sda5')).toBeGreaterThan(order.indexOf('part:/dev/sda2'));
    const excluded = recreateScript(mbrExt4(), { exclude: ['part:/dev/sda2'] });
    expect(excluded.order).toEqual(['disk:/dev/sda', 'part:/dev/sda1', 'fs:/dev/sda1']);
    const table = blockOf(excluded.script, 'disk:/dev/sda');
    expect(table).not.toContain('/dev/sda2 :');
    expect(table).not.toContain('/dev/sda5 :');
    expect(table).toContain('# Left out of the table (excluded): /dev/sda2 /dev/sda5;');
  });
});
