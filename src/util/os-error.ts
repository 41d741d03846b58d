/**
 * Errors the operating system gives for a disk or a permission, as words a user reads: the
 * reason, and what to do about it. Anything else is undefined (a bug must say it is one).
 */
const REASONS: Record<string, { reason: string; hint: string }> = {
  ENOSPC: {
    reason: 'no space left on the device',
    hint: 'Free space there, or use another place.',
  },
  EDQUOT: { reason: 'the disk quota is exceeded', hint: 'Free space there, or use another place.' },
  EROFS: { reason: 'the file system is read-only', hint: 'Use a writable file system.' },
  EACCES: { reason: 'permission denied', hint: 'Use a place this user may write.' },
  EPERM: { reason: 'operation not permitted', hint: 'Use a place this user may write.' },
  EIO: { reason: 'input/output error', hint: 'The device reports errors: check it.' },
};

export function osError(error: unknown): { reason: string; hint: string } | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined ? undefined : REASONS[code];
}

/** The reason in words when the OS gave one, else the error's own message. */
export function osReason(error: unknown): string {
  return osError(error)?.reason ?? (error instanceof Error ? error.message : String(error));
}
