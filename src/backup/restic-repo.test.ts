import { describe, expect, it } from 'vitest';
import { parseResticUrl } from './restic-repo.js';

describe('parseResticUrl', () => {
  it("turns backup.url into restic's --repo", () => {
    expect(parseResticUrl('file:///srv/restic/')).toMatchObject({
      kind: 'local',
      repository: '/srv/restic',
    });
    expect(parseResticUrl('sftp://backup@vault.example:2222/srv/restic')).toMatchObject({
      kind: 'sftp',
      repository: 'sftp:backup@vault.example:/srv/restic',
      user: 'backup',
      host: 'vault.example',
      port: 2222,
    });
    expect(parseResticUrl('sftp://vault.example/srv/my%20repo')).toMatchObject({
      repository: 'sftp:vault.example:/srv/my repo',
      port: undefined,
    });
  });

  it.each([
    ['sftp://backup:hunter2@vault.example/srv/restic', 'carries a password, which ssh never takes'],
    ['file://vault.example/srv/restic', 'names a host; a local repository is file:///path'],
    ['sftp://vault.example/', 'names no directory on the server'],
    ['rest:http://vault.example:8000/', 'is not a restic repository lifeboat reaches'],
    ['/srv/restic', 'is not a URL'],
  ])('refuses %s: one sentence naming the key, the password never shown', (url, why) => {
    const error = (() => {
      try {
        parseResticUrl(url);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('accepted');
    })();
    expect(error.message).toContain(`backup.url `);
    expect(error.message).toContain(why);
    expect(error.message).not.toContain('hunter2');
  });
});
