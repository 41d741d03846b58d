import { join } from 'node:path';
import { REDACTED } from '../config/dump.js';
import type { Config } from '../config/schema.js';
import { urlWithoutPassword } from '../config/url-credentials.js';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { type LoggedRun, runLogged } from './logged-run.js';
import { SSH_SAID, SshLogin } from './ssh-login.js';

/**
 * Where a restic backup lives (backup.url), and the one place the method runs restic:
 *
 *   file:///path                        a repository in a directory of this machine (a mounted
 *                                       disk, an NFS mount the site manages)
 *   sftp://[user@]host[:port]/path      a repository on an ssh server, logged in with
 *                                       backup.sftpKey, the host key pinned by
 *                                       backup.sftpHostKey (ssh-login.ts)
 *
 * The repository password is backup.encryptionKey, given to restic in RESTIC_PASSWORD, never in
 * an argument. restic's cache is lifeboat's own (paths.workDir/cache/restic), not root's home.
 */
export interface ResticUrl {
  kind: 'local' | 'sftp';
  /** restic's --repo: /path, or sftp:user@host:/path. */
  repository: string;
  user?: string;
  host?: string;
  port?: number;
  /** The URL as messages show it. */
  display: string;
}

const FORMS = 'file:///path or sftp://[user@]host[:port]/path';

export function parseResticUrl(raw: string, key = 'backup.url'): ResticUrl {
  const display = urlWithoutPassword(raw, REDACTED);
  const bad = (why: string) =>
    new UsageError(`${key} ${display}: ${why}`, { hint: `write it as ${FORMS}` });
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('is not a URL');
  }
  const path = decodeURIComponent(url.pathname).replace(/\/+$/, '');
  if (url.protocol === 'file:') {
    if (url.host !== '') throw bad('names a host; a local repository is file:///path');
    if (path === '') throw bad('names no directory');
    return { kind: 'local', repository: path, display };
  }
  if (url.protocol === 'sftp:') {
    if (url.password !== '')
      throw bad('carries a password, which ssh never takes; log in with backup.sftpKey');
    if (path === '') throw bad('names no directory on the server');
    const user = url.username === '' ? undefined : decodeURIComponent(url.username);
    const host = url.hostname;
    const port = url.port === '' ? undefined : Number(url.port);
    return {
      kind: 'sftp',
      repository: `sftp:${user ? `${user}@` : ''}${host}:${path}`,
      user,
      host,
      port,
      display,
    };
  }
  throw bad(`is not a restic repository lifeboat reaches (${url.protocol.replace(/:$/, '')}://)`);
}

/** restic's own words for what went wrong, as the sentence a user reads; first match wins. */
const SAID: [RegExp, string][] = [
  [/wrong password or no key found/, 'the repository password (backup.encryptionKey) is wrong'],
  [
    /Is there a repository at the following location|unable to open config file/,
    'there is no restic repository there (lifeboat mkbackup makes one)',
  ],
  [
    /repository is already locked/,
    'another restic run holds the repository (restic unlock removes a stale lock)',
  ],
  [/Permission denied/, 'the server refused the login (check the user and backup.sftpKey)'],
  ...SSH_SAID,
  [/no space left on device/i, 'the repository is out of space'],
];

/**
 * One repository for as long as the method runs: the ssh login for sftp:// and restic's
 * environment. Every restic run goes through run(); failure() makes one sentence of one.
 */
export class ResticRepo {
  readonly url: ResticUrl;
  private readonly login: SshLogin | undefined;
  private readonly env: Record<string, string>;

  constructor(
    config: Config,
    private readonly log: Log,
  ) {
    if (!config.backup.url) {
      throw new UsageError('backup.method restic needs backup.url: it is not set', {
        hint: `set backup.url to ${FORMS}`,
      });
    }
    this.url = parseResticUrl(config.backup.url);
    const password = config.backup.encryptionKey;
    if (password) log.addSecret(password);
    this.env = {
      ...(password ? { RESTIC_PASSWORD: password } : {}),
      RESTIC_CACHE_DIR: join(config.paths.workDir, 'cache', 'restic'),
      // Messages in plain English, times in UTC: the failure sentences match restic's words.
      LC_ALL: 'C',
      TZ: 'UTC',
    };
    if (this.url.kind === 'sftp')
      this.login = new SshLogin(
        { host: this.url.host ?? '', port: this.url.port, display: this.url.display },
        log,
        { sshKey: config.backup.sftpKey, hostKey: config.backup.sftpHostKey },
        'restic',
      );
  }

  /** Runs `restic --repo REPO [the ssh login] ARGS`; the caller reads the exit code. */
  async run(
    args: readonly string[],
    options: { signal?: AbortSignal; collect?: boolean; cwd?: string } = {},
  ): Promise<LoggedRun> {
    const transport: string[] = [];
    if (this.login) {
      // restic splits sftp.command at blanks itself (no shell): see SshLogin.options.
      const user = this.url.user ? `${this.url.user}@` : '';
      const ssh = ['ssh', ...(await this.login.options()), `${user}${this.url.host}`, '-s sftp'];
      transport.push('--option', `sftp.command=${ssh.join(' ')}`);
    }
    const done = await runLogged('restic', ['--repo', this.url.repository, ...transport, ...args], {
      log: this.log,
      env: this.env,
      collect: options.collect ?? true,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (done.missing) {
      throw new JobError('backup.method restic needs restic, which is not installed here', {
        hint: 'install restic (Debian: apt install restic)',
      });
    }
    if (done.canceled) throw new JobError(`backup.url ${this.url.display}: restic was stopped`);
    return done;
  }

  /** The repository is not there (yet): restic's words when it finds no config file. */
  missing(run: LoggedRun): boolean {
    return (
      run.exitCode !== 0 &&
      run.lines.some((line) =>
        /Is there a repository at the following location|unable to open config file/.test(line),
      )
    );
  }

  /** The one sentence for a failed run: what the user reads, with what to do. */
  failure(run: LoggedRun, doing: string): JobError {
    const text = run.lines.join('\n');
    const said = SAID.find(([pattern]) => pattern.test(text))?.[1];
    return new JobError(
      `backup.url ${this.url.display}: ${doing} failed: ${said ?? run.last ?? `restic exited ${run.exitCode}`}`,
      { hint: 'restic said more in the log' },
    );
  }

  async close(): Promise<void> {
    await this.login?.close();
  }
}
