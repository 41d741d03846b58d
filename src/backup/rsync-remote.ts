import { execa } from 'execa';
import { REDACTED } from '../config/dump.js';
import { urlWithoutPassword } from '../config/url-credentials.js';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { SSH_SAID, SshLogin } from './ssh-login.js';

/**
 * Where an rsync backup lives, in ReaR's BACKUP_URL forms:
 *
 *   rsync://[user@]host[:port]/path                 over ssh (port: ssh's)
 *   rsync://[user[:password]@]host[:port]::/module/path   an rsync daemon (port: the daemon's)
 *
 * and the one module that talks to it: every rsync run of the method goes through
 * RsyncRemote.run, which sets up the transport (the ssh key and the pinned host key, or the
 * daemon's password in RSYNC_PASSWORD, never in an argument) and turns rsync's and ssh's
 * failures into one sentence.
 */
export interface RsyncUrl {
  transport: 'ssh' | 'daemon';
  user?: string;
  /** A daemon module's password (the URL's, a secret). */
  password?: string;
  host: string;
  port?: number;
  /** ssh: an absolute directory on the server; daemon: "module/dir" (no leading slash). */
  path: string;
  /** The URL as messages show it: the password redacted. */
  display: string;
}

const FORMS = 'rsync://[user@]host[:port]/path (ssh) or rsync://[user@]host[:port]::/module/path';

const URL_SHAPE =
  /^rsync:\/\/(?:([^:@/]+)(?::([^@/]*))?@)?(\[[0-9a-fA-F:.]+\]|[^:/@[\]]+)(?::(\d+))?(::)?(\/.*)$/;

export function parseRsyncUrl(raw: string, key = 'backup.url'): RsyncUrl {
  const display = urlWithoutPassword(raw, REDACTED);
  const bad = (why: string) =>
    new UsageError(`${key} ${display}: ${why}`, { hint: `write it as ${FORMS}` });
  const match = URL_SHAPE.exec(raw);
  if (!match) throw bad('is not an rsync URL');
  const [, user, password, host, port, daemon, rawPath] = match as unknown as [
    string,
    string | undefined,
    string | undefined,
    string,
    string | undefined,
    string | undefined,
    string,
  ];
  const portNumber = port === undefined ? undefined : Number(port);
  if (portNumber !== undefined && (portNumber < 1 || portNumber > 65_535))
    throw bad(`port ${port} is not between 1 and 65535`);
  const path = rawPath.replace(/\/+$/, '');
  if (daemon) {
    const modulePath = path.replace(/^\/+/, '');
    if (modulePath === '') throw bad('names no daemon module (…::/module/path)');
    return {
      transport: 'daemon',
      user,
      password: password === undefined ? undefined : decodePassword(password),
      host,
      port: portNumber,
      path: modulePath,
      display,
    };
  }
  if (password !== undefined)
    throw bad('carries a password, which ssh never takes; log in with backup.sftpKey');
  if (path === '') throw bad('names no directory on the server');
  return { transport: 'ssh', user, host, port: portNumber, path, display };
}

/** A URL's password as typed: %40 is an @ (lifeboat writes a typed password so). */
function decodePassword(written: string): string {
  try {
    return decodeURIComponent(written);
  } catch {
    return written;
  }
}

/** rsync's exit codes a user can do something about, as the sentence they read. */
const RSYNC_FAILURES: Record<number, string> = {
  5: 'the daemon refused the session (check the module, the user and the password)',
  10: 'the server does not answer',
  30: 'the server stopped answering (timed out)',
  35: 'the server stopped answering (timed out)',
};

/** ssh's and the daemon's own words for what went wrong, first match wins. */
const SAID: [RegExp, string][] = [
  [
    /Permission denied|auth failed/,
    'the server refused the login (check the user and backup.sftpKey or the password)',
  ],
  ...SSH_SAID,
  [
    /kex_exchange_identification/,
    'the server does not speak ssh on that port (an rsync daemon is rsync://host[:port]::/module/path)',
  ],
  [/Unknown module/, 'the daemon has no such module'],
  [/No space left on device/, 'the server is out of space'],
];

export interface RsyncResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * One open connection's worth of setup: for ssh, the login (the key and the pinned host key, in
 * a private directory for as long as the method runs); for a daemon, its password. close() ends
 * it.
 */
export class RsyncRemote {
  private readonly login: SshLogin | undefined;
  private sshCommand: string | undefined;

  constructor(
    readonly url: RsyncUrl,
    private readonly log: Log,
    credentials: { sshKey?: string; hostKey?: string },
  ) {
    if (url.password) log.addSecret(url.password);
    if (url.transport === 'ssh')
      this.login = new SshLogin(
        { host: url.host, port: url.port, display: url.display },
        log,
        credentials,
        'rsync',
      );
  }

  /** rsync's name for `relative` (a path under the URL's directory) on the server. */
  location(relative = ''): string {
    const { url } = this;
    const tail = relative === '' ? '/' : `/${relative.replace(/^\/+/, '')}`;
    const user = url.user ? `${url.user}@` : '';
    if (url.transport === 'daemon')
      return `rsync://${user}${url.host}${url.port ? `:${url.port}` : ''}/${url.path}${tail}`;
    return `${user}${url.host}:${url.path}${tail}`;
  }

  /** Sets up the transport; for ssh, fetches and pins the server's host key first. */
  async open(): Promise<void> {
    if (!this.login || this.sshCommand) return;
    // rsync splits -e at blanks itself (no shell): see SshLogin.options.
    this.sshCommand = ['ssh', ...(await this.login.options())].join(' ');
  }

  async close(): Promise<void> {
    await this.login?.close();
    this.sshCommand = undefined;
  }

  /** Runs rsync with `args` and the transport's own; the caller reads the exit code. */
  async run(args: readonly string[], signal?: AbortSignal): Promise<RsyncResult> {
    const transport = this.sshCommand ? ['--rsh', this.sshCommand] : [];
    this.log.debug(`rsync ${[...transport, ...args].join(' ')}`);
    const done = await execa('rsync', [...transport, ...args], {
      env: {
        // Listings in UTC and plain C: verify compares a listing made on the host with one made
        // in the rescue system, whose time zone and locale may differ.
        TZ: 'UTC',
        LC_ALL: 'C',
        // The daemon's password: in the environment, never in an argument (ps shows those).
        ...(this.url.password ? { RSYNC_PASSWORD: this.url.password } : {}),
      },
      stdin: 'ignore',
      reject: false,
      ...(signal ? { cancelSignal: signal } : {}),
    });
    if (done.isCanceled) throw new JobError(`backup.url ${this.url.display}: rsync was stopped`);
    if (done.code === 'ENOENT') throw notInstalled('rsync');
    for (const line of done.stderr.split('\n')) if (line.trim()) this.log.debug(`rsync: ${line}`);
    return { exitCode: done.exitCode ?? -1, stdout: done.stdout, stderr: done.stderr };
  }

  /** The one sentence for a failed run: what the user reads, with what to do. */
  failure(result: RsyncResult, doing: string): JobError {
    const said = SAID.find(([pattern]) => pattern.test(result.stderr))?.[1];
    const known = said ?? RSYNC_FAILURES[result.exitCode];
    const last = result.stderr
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('rsync error:'))
      .at(-1);
    return new JobError(
      `backup.url ${this.url.display}: ${doing} failed: ${known ?? last ?? `rsync exited ${result.exitCode}`}`,
      { hint: 'rsync said more in the log' },
    );
  }
}

function notInstalled(program: string): JobError {
  return new JobError(`backup.method rsync needs ${program}, which is not installed here`, {
    hint: 'install rsync (Debian: apt install rsync)',
  });
}
