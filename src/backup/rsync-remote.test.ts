import { describe, expect, it } from 'vitest';
import { MemoryLog } from '../log/log.js';
import { parseRsyncUrl, RsyncRemote } from './rsync-remote.js';

describe('parseRsyncUrl: ReaR BACKUP_URL=rsync:// forms', () => {
  it('ssh: rsync://[user@]host[:port]/path', () => {
    expect(parseRsyncUrl('rsync://root@backup.example.com:2222/srv/backups/')).toMatchObject({
      transport: 'ssh',
      user: 'root',
      host: 'backup.example.com',
      port: 2222,
      path: '/srv/backups',
    });
    expect(parseRsyncUrl('rsync://nas/srv')).toMatchObject({
      transport: 'ssh',
      host: 'nas',
      path: '/srv',
    });
  });

  it('daemon: rsync://[user[:password]@]host[:port]::/module/path, the password decoded', () => {
    const url = parseRsyncUrl('rsync://lifeboat:p%40ss@10.0.2.2:8873::/backups/site');
    expect(url).toMatchObject({
      transport: 'daemon',
      user: 'lifeboat',
      password: 'p@ss',
      host: '10.0.2.2',
      port: 8873,
      path: 'backups/site',
    });
    expect(url.display).toBe('rsync://lifeboat:<redacted>@10.0.2.2:8873::/backups/site');
  });

  it.each([
    ['rsync://host::/', 'names no daemon module'],
    ['rsync://host/', 'names no directory on the server'],
    ['rsync://user:secret@host/srv', 'carries a password, which ssh never takes'],
    ['rsync://host:70000/srv', 'port 70000 is not between 1 and 65535'],
    ['sftp://host/srv', 'is not an rsync URL'],
  ])('%s is refused: %s (exit 2, the password redacted)', (raw, why) => {
    let thrown: unknown;
    try {
      parseRsyncUrl(raw);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ exitCode: 2 });
    expect((thrown as Error).message).toContain(why);
    expect((thrown as Error).message).not.toContain('secret');
  });
});

describe('RsyncRemote.location: the name rsync is given', () => {
  const log = new MemoryLog();
  it('ssh: host:path, the port goes to ssh', () => {
    const remote = new RsyncRemote(parseRsyncUrl('rsync://root@nas:2222/srv/b'), log, {});
    expect(remote.location('host1/20261207T000000Z/root/')).toBe(
      'root@nas:/srv/b/host1/20261207T000000Z/root/',
    );
  });
  it("daemon: rsync's own rsync://host:port/module/path, the password never in it", () => {
    const remote = new RsyncRemote(parseRsyncUrl('rsync://lb:pw@nas:8873::/backups/x'), log, {});
    expect(remote.location('host1/')).toBe('rsync://lb@nas:8873/backups/x/host1/');
  });
});
