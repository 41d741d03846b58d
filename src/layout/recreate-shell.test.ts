import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  expectBashSyntaxOk,
  gptExt4Swap,
  HOSTILE,
  lvmOnGpt,
} from '../../test/support/layout-fixtures.js';
import { RecreateError, recreateScript, shellQuote } from './recreate.js';

describe('recreateScript: untrusted values', () => {
  it('quotes a hostile label so bash reads it back as the same text', async () => {
    const layout = gptExt4Swap();
    Object.assign(layout.filesystems[0] ?? {}, { label: HOSTILE });
    const { script } = recreateScript(layout);
    expect(script).toContain(`-L 'a'\\''b $(rm -rf /)'`);
    expect(shellQuote(HOSTILE)).toBe(`'a'\\''b $(rm -rf /)'`);
    await expectBashSyntaxOk(script);
  });

  it('quotes any text so that bash reads back the same text', async () => {
    const values = [HOSTILE, "it's", '$HOME', '`id`', 'a\nb', '\\', '!', '"', '', ' lead', '*'];
    // A generated script, fed to bash on stdin, as the real ones are run from a file.
    const script = `printf '%s\\0' ${values.map(shellQuote).join(' ')}`;
    const result = await execa('bash', ['-s'], { input: script, stripFinalNewline: false });
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(values);
  });

  it.each([
    ['a space', '/dev/vda 1'],
    ['no /dev/', 'vda1'],
    ['a ..', '/dev/../etc/passwd'],
    ['a newline', '/dev/vda1\nreboot'],
    ['a tab', '/dev/vda\t1'],
  ])('refuses a device path with %s, naming the component', (_, device) => {
    const layout = gptExt4Swap();
    Object.assign(layout.filesystems[0] ?? {}, { device });
    expect(() => recreateScript(layout)).toThrow(RecreateError);
    expect(() => recreateScript(layout)).toThrow(
      `fs:${device.replace(/[\n\t]/g, '?')}: device path ${JSON.stringify(device)}`,
    );
  });

  it('refuses a partition name sfdisk would misread, and an LV name LVM would', () => {
    const named = gptExt4Swap();
    Object.assign(named.disks[0]?.table?.partitions[0] ?? {}, { name: 'a", type=0' });
    expect(() => recreateScript(named)).toThrow(/part:\/dev\/vda1: partition name/);
    const lvm = lvmOnGpt();
    Object.assign(lvm.volumeGroups[0]?.logicalVolumes[0] ?? {}, { name: '-rf' });
    expect(() => recreateScript(lvm)).toThrow(/lv:vg0\/-rf: LVM name "-rf"/);
  });

  it('keeps control characters of layout text out of comments', () => {
    const layout = gptExt4Swap();
    Object.assign(layout.disks[0] ?? {}, { model: 'disk\nreboot' });
    const { script } = recreateScript(layout, { layoutSource: 'x\nreboot' });
    expect(script.split('\n')).not.toContain('reboot');
  });
});
