import { describe, expect, it } from 'vitest';
import { parseFilespaces } from './tsm.js';

describe('parseFilespaces: dsmc query filespace -dateformat=3 -timeformat=1', () => {
  it('reads number, date, time, type and the name to the end of the line; skips the banner', () => {
    const output = [
      'IBM Storage Protect',
      'Node Name: WEB1',
      'Session established with server TSM1: Linux/x86_64',
      '  Server date/time: 2026-12-07 10:00:00  Last access: 2026-12-07 09:00:00',
      '  #     Last Incr Date          Type    File Space Name',
      '---     --------------          ----    ---------------',
      '  1   2026-12-01 02:00:01       EXT4    /',
      '  2   2026-12-01 02:03:15       XFS     /srv/data files',
      ' 10   2026-11-30 23:59:59       BTRFS   /home',
    ];
    expect(parseFilespaces(output)).toEqual([
      { name: '/', type: 'EXT4', lastIncremental: '2026-12-01 02:00:01' },
      { name: '/srv/data files', type: 'XFS', lastIncremental: '2026-12-01 02:03:15' },
      { name: '/home', type: 'BTRFS', lastIncremental: '2026-11-30 23:59:59' },
    ]);
  });
});
