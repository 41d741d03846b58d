import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { privateTempDir, type TempDir } from '../util/temp-dir.js';
import { hostKeySha256 } from './destination-sftp.js';

/**
 * An ssh login for the methods that let a program of their own speak ssh (rsync's --rsh,
 * restic's sftp.command): the private key (backup.sftpKey) in a 0600 file and the server's host
 * key (backup.sftpHostKey) pinned in a known_hosts file of its own, both in a private directory
 * for as long as the login is open. `options()` gives ssh's options for them; close() removes
 * the directory.
 */
export interface SshServer {
  host: string;
  port?: number;
  /** The server as messages show it (the backup URL, its password redacted). */
  display: string;
}

export class SshLogin {
  private temp: TempDir | undefined;
  private sshOptions: string[] | undefined;

  constructor(
    private readonly server: SshServer,
    private readonly log: Log,
    private readonly credentials: { sshKey?: string; hostKey?: string },
    /** The method's name, for the "not installed" sentence. */
    private readonly method: string,
  ) {
    if (credentials.sshKey) {
      log.addSecret(credentials.sshKey);
      for (const line of credentials.sshKey.split('\n'))
        if (line.trim().length > 16) log.addSecret(line);
    }
  }

  /**
   * ssh's options for this login, one string each ("-o BatchMode=yes"): the programs that take
   * them split at blanks without a shell, so every part is lifeboat's own or a number, and the
   * private directory's path has no blanks. Fetches and pins the host key the first time.
   */
  async options(): Promise<string[]> {
    if (this.sshOptions) return this.sshOptions;
    this.temp = await privateTempDir('lifeboat-ssh-');
    const dir = this.temp.dir;
    const options = [
      // Never a prompt: a missing key or a changed host fails at once, with ssh's reason.
      '-o BatchMode=yes',
      '-o ConnectTimeout=30',
      ...(this.server.port ? [`-p ${this.server.port}`] : []),
    ];
    if (this.credentials.sshKey) {
      const pem = this.credentials.sshKey.endsWith('\n')
        ? this.credentials.sshKey
        : `${this.credentials.sshKey}\n`;
      await writeFile(join(dir, 'key'), pem, { mode: 0o600 });
      options.push(`-i ${join(dir, 'key')}`, '-o IdentitiesOnly=yes');
    }
    if (this.credentials.hostKey) {
      await writeFile(join(dir, 'known_hosts'), await this.pinnedHostKey(this.credentials.hostKey));
      options.push(
        `-o UserKnownHostsFile=${join(dir, 'known_hosts')}`,
        '-o StrictHostKeyChecking=yes',
      );
    } else {
      this.log.warn(
        `backup.url ${this.server.display}: backup.sftpHostKey is not set; ssh trusts ~/.ssh/known_hosts, and a server it has never seen on first use`,
      );
      options.push('-o StrictHostKeyChecking=accept-new');
    }
    this.sshOptions = options;
    return options;
  }

  async close(): Promise<void> {
    await this.temp?.dispose();
    this.temp = undefined;
    this.sshOptions = undefined;
  }

  /**
   * The server's host key whose fingerprint is `fingerprint`, as a known_hosts line: fetched with
   * ssh-keyscan and compared with ssh-keygen, so ssh then accepts that key and no other.
   */
  private async pinnedHostKey(fingerprint: string): Promise<string> {
    const wanted = hostKeySha256(fingerprint);
    const scan = await execa(
      'ssh-keyscan',
      [...(this.server.port ? ['-p', String(this.server.port)] : []), '-T', '20', this.server.host],
      { reject: false, stdin: 'ignore' },
    );
    if (scan.code === 'ENOENT') throw sshNotInstalled(this.method, 'ssh-keyscan');
    for (const line of scan.stdout.split('\n')) {
      if (line.trim() === '' || line.startsWith('#')) continue;
      const printed = await execa('ssh-keygen', ['-l', '-f', '-'], {
        input: `${line}\n`,
        reject: false,
      });
      const shown = /SHA256:[A-Za-z0-9+/=]+/.exec(printed.stdout)?.[0];
      if (shown && hostKeySha256(shown) === wanted) return `${line}\n`;
    }
    throw new JobError(
      `backup.url ${this.server.display}: ${
        scan.stdout.trim() === ''
          ? 'the server does not answer'
          : 'the server does not show the host key backup.sftpHostKey names'
      }`,
      { hint: "compare backup.sftpHostKey with ssh-keygen -lf of the server's host keys" },
    );
  }
}

/** ssh's own words for what went wrong, as the sentence a user reads; first match wins. */
export const SSH_SAID: [RegExp, string][] = [
  [
    /Host key verification failed|HOST IDENTIFICATION HAS CHANGED/,
    'the server does not show the host key backup.sftpHostKey names',
  ],
  [
    /Could not resolve hostname|Name or service not known|Temporary failure in name resolution/,
    'the host name does not resolve',
  ],
  [
    /Connection refused|No route to host|Connection timed out|Network is unreachable/,
    'the server does not answer',
  ],
];

export function sshNotInstalled(method: string, program: string): JobError {
  return new JobError(`backup.method ${method} needs ${program}, which is not installed here`, {
    hint: 'install the OpenSSH client',
  });
}
