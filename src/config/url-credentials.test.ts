import { describe, expect, it } from 'vitest';
import {
  urlPasswords,
  urlWithoutPassword,
  urlWithoutPasswordPart,
  urlWithPassword,
} from './url-credentials.js';

describe('passwords in URLs', () => {
  it('finds the password as written and as decoded', () => {
    expect(urlPasswords('cifs://admin:s%40fe@nas/share')).toEqual(['s%40fe', 's@fe']);
    expect(urlPasswords('sftp://me@host/x')).toEqual([]);
    expect(urlPasswords('file:///srv/backups')).toEqual([]);
  });

  it('redacts a password with an unescaped @ in it, all of it', () => {
    expect(urlWithoutPassword('cifs://admin:p@ss@nas/share', '<redacted>')).toBe(
      'cifs://admin:<redacted>@nas/share',
    );
    expect(urlWithoutPassword('cifs://admin:pw@nas/a@b', '<redacted>')).toBe(
      'cifs://admin:<redacted>@nas/a@b',
    );
    expect(urlWithoutPassword('nfs://nas/export', '<redacted>')).toBe('nfs://nas/export');
  });

  it('takes the password out and keeps the user, parseable URL or not', () => {
    for (const url of ['cifs://admin:p@ss@nas/share/site', 'cifs://admin:pw@nas/share/site']) {
      const stripped = urlWithoutPasswordPart(url);
      expect(stripped).toBe('cifs://admin@nas/share/site');
      expect(urlPasswords(stripped)).toEqual([]);
    }
    // Not a URL (a port that is no number): the password goes all the same.
    expect(urlWithoutPasswordPart('cifs://admin:secret@nas:port/share')).toBe(
      'cifs://admin@nas:port/share',
    );
    expect(urlWithoutPasswordPart('file:///srv/backups')).toBe('file:///srv/backups');
  });

  it('puts a typed password back so that the URL reads it as typed', () => {
    const typed = 'a@b:c/d%e f#g';
    const url = urlWithPassword('cifs://admin@nas/share/site', typed);
    expect(new URL(url).username).toBe('admin');
    expect(new URL(url).pathname).toBe('/share/site');
    expect(urlPasswords(url)).toContain(typed);
    expect(urlWithoutPasswordPart(url)).toBe('cifs://admin@nas/share/site');
  });

  it("puts a typed password into an rsync daemon's URL, which is no WHATWG URL (host::/module)", () => {
    const typed = 'a@b:c/d';
    const url = urlWithPassword('rsync://lifeboat@nas::/backups/site', typed);
    expect(url).toBe(`rsync://lifeboat:${encodeURIComponent(typed)}@nas::/backups/site`);
    expect(urlPasswords(url)).toContain(typed);
    expect(urlWithoutPasswordPart(url)).toBe('rsync://lifeboat@nas::/backups/site');
  });
});
