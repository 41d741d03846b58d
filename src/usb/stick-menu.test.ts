import { expect, it } from 'vitest';
import { runName, type StickRun, stickMenu } from './stick-menu.js';

const run = (host: string, name: string, more: Partial<StickRun> = {}): StickRun => ({
  host,
  run: name,
  kernelArguments: ['console=ttyS0,115200n8', 'quiet'],
  defaultEntry: 'rescue',
  timeout: 5,
  serial: false,
  ...more,
});

it('names a run after the time it was written, UTC, to the second', () => {
  expect(runName(new Date('2026-12-07T08:15:02.999Z'))).toBe('20261207.081502');
});

it('lists every host and run newest first, each as rescue and recovery, then the local disk', () => {
  const older = run('alpha', '20261206.100000');
  const newer = run('beta', '20261207.090000');
  const newest = run('alpha', '20261207.100000', { timeout: 30, defaultEntry: 'recover' });
  const menu = stickMenu([older, newer, newest], newest, 'aaaa-bbbb');
  const titles = [...menu.matchAll(/^menuentry '([^']*)'/gm)].map((m) => m[1]);
  expect(titles).toEqual([
    'alpha 2026-12-07 10:00:00 UTC: rescue system',
    'alpha 2026-12-07 10:00:00 UTC: automatic recovery',
    'beta 2026-12-07 09:00:00 UTC: rescue system',
    'beta 2026-12-07 09:00:00 UTC: automatic recovery',
    'alpha 2026-12-06 10:00:00 UTC: rescue system',
    'alpha 2026-12-06 10:00:00 UTC: automatic recovery',
    'boot from local disk',
  ]);
  // The run just written decides the default and the timeout.
  expect(menu).toContain("set default='alpha/20261207.100000/recover'");
  expect(menu).toContain('set timeout=30');
  // Each entry boots its own run's files, and never recreates a layout on the stick.
  expect(menu).toContain(
    "  linux /lifeboat/beta/20261207.090000/vmlinuz 'console=ttyS0,115200n8' 'quiet' 'lifeboat.medium=aaaa-bbbb'\n  initrd /lifeboat/beta/20261207.090000/initrd.img",
  );
  expect(menu).toContain("'lifeboat.medium=aaaa-bbbb' 'lifeboat.recover=auto'");
  expect(menu).not.toContain('terminal_output');
});

it('puts the menu on the serial console when the run just written asks for it', () => {
  const only = run('alpha', '20261207.100000', { serial: true, defaultEntry: 'local' });
  const menu = stickMenu([only], only, 'id');
  expect(menu).toContain('terminal_output serial console');
  expect(menu).toContain("set default='local'");
});
