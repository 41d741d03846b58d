/**
 * A password in a URL (`sftp://user:PASSWORD@host/x`, `cifs://admin:PASSWORD@nas/share`) is a
 * secret like any key marked secret: the log redacts it, `dump` shows <redacted>, and what is
 * written for anyone to read (a build manifest) leaves the URL out.
 */
export const URL_KEYS = [
  'backup.url',
  'output.url',
  'pxe.url',
  'recovery.notifyUrl',
  'requestrestore.readyUrl',
] as const;

/** The URL's password as written and as decoded, or [] when it has none (or is no URL). */
export function urlPasswords(value: string): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not parseable as a URL: a user:password@ part may still be there.
    const match = /^[a-z][a-z0-9+.-]*:\/\/[^/@:]*:([^/@]*)@/i.exec(value);
    return match?.[1] ? withDecoded(match[1]) : [];
  }
  if (url.password === '') return [];
  return withDecoded(url.password);
}

/** A password as written and as decoded (%40 for @), both secrets. */
function withDecoded(written: string): string[] {
  let decoded = written;
  try {
    decoded = decodeURIComponent(written);
  } catch {
    // A malformed escape: the written form is all there is.
  }
  return [...new Set([written, decoded])];
}

/**
 * scheme://user:password@ as written: the password runs to the authority's last @ (where the URL
 * parser splits it too, so `p@ss` written unencoded is all password).
 */
const USERINFO_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/]*@/i;

/** The URL with its password shown as <redacted> (the user name stays: it says who logs in). */
export function urlWithoutPassword(value: string, redacted: string): string {
  if (urlPasswords(value).length === 0) return value;
  return value.replace(USERINFO_PASSWORD, (_all, head: string) => `${head}:${redacted}@`);
}

/** The URL with no password at all (the user name stays), as a rescue image gets it withheld. */
export function urlWithoutPasswordPart(value: string): string {
  if (urlPasswords(value).length === 0) return value;
  try {
    const url = new URL(value);
    url.password = '';
    return url.href;
  } catch {
    return value.replace(USERINFO_PASSWORD, (_all, head: string) => `${head}@`);
  }
}

/** The URL with `password` put in, escaped as a URL needs (a typed @ or : stays a password). */
export function urlWithPassword(value: string, password: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not parseable as a URL (an rsync daemon's host::/module): after the user name, if any.
    const at = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@:]*)@/i.exec(value);
    const encoded = encodeURIComponent(password);
    return at
      ? `${at[1]}${at[2]}:${encoded}@${value.slice(at[0].length)}`
      : value.replace(/^([a-z][a-z0-9+.-]*:\/\/)/i, `$1:${encoded}@`);
  }
  url.password = encodeURIComponent(password);
  return url.href;
}
