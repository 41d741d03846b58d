import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { execa } from 'execa';
import { JobError, UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { onInterruptCleanup } from '../util/exit-cleanup.js';
import { runTempParent } from '../util/run-temp.js';
import type { BackupDestination, FileAccess } from './destination-types.js';
import { lastLine } from './pipeline.js';

/**
 * sftp://user@host[:port]/path through curl (Debian's is built with libssh2): uploads from stdin
 * (-T -), downloads to stdout (-o -), and the SFTP commands rename, rm, rmdir as curl "quote"
 * commands. The key (backup.sftpKey) lives in a 0600 file in a private directory for as long as
 * the destination is open; the server must show the host key backup.sftpHostKey names.
 */
export interface SftpSpec {
  user: string;
  host: string;
  port: number;
  /** Absolute directory on the server. */
  path: string;
  key?: string;
  hostKey?: string;
}

/** curl's exit codes for an unreachable or refusing server, as the sentence a user reads. */
const CURL_FAILURES: Record<number, string> = {
  6: 'the host name does not resolve',
  7: 'the server does not answer (connection refused)',
  28: 'the server does not answer (timed out)',
  51: 'the server does not show the host key backup.sftpHostKey names',
  60: 'the server does not show the host key backup.sftpHostKey names',
  67: 'the server refused the login (check the user and backup.sftpKey)',
  79: 'the SSH session failed',
};
/** CURLE_REMOTE_FILE_NOT_FOUND: a directory that is not there yet (it is created on write). */
const NOT_FOUND = 78;

export class SftpDestination implements BackupDestination {
  private keyDir: string | undefined;
  private forget: (() => void) | undefined;

  constructor(
    readonly display: string,
    private readonly spec: SftpSpec,
    private readonly log: Log,
    /** The configuration key the URL came from, as messages name it (backup.url, output.url). */
    readonly key: string,
  ) {
    if (spec.key) {
      log.addSecret(spec.key);
      // The PEM text is many lines: each is a secret, should one ever reach a log alone.
      for (const line of spec.key.split('\n')) if (line.trim().length > 16) log.addSecret(line);
    }
  }

  async open(): Promise<void> {
    if (this.spec.key && !this.keyDir) {
      this.keyDir = await mkdtemp(join(runTempParent(), 'lifeboat-sftp-key-'));
      const keyDir = this.keyDir;
      this.forget = onInterruptCleanup(() => rmSync(keyDir, { recursive: true, force: true }));
      const pem = this.spec.key.endsWith('\n') ? this.spec.key : `${this.spec.key}\n`;
      await writeFile(join(keyDir, 'key'), pem, { mode: 0o600 });
    }
    if (!this.spec.hostKey) {
      this.log.warn(
        `${this.key} ${this.display}: backup.sftpHostKey is not set; curl trusts ~/.ssh/known_hosts, or any server when there is none`,
      );
    }
    const result = await this.curl(['--list-only', this.url('', true)]);
    if (result.exitCode !== 0 && result.exitCode !== NOT_FOUND) {
      await this.close();
      throw this.failure(result);
    }
  }

  async write(path: string, data: Readable, access: FileAccess = 'private'): Promise<void> {
    const served = access === 'served';
    const final = this.remotePath(path);
    const partial = posix.join(posix.dirname(final), `.${posix.basename(final)}.partial`);
    const child = spawn(
      'curl',
      [
        ...this.common(),
        '--upload-file',
        '-',
        // The backup's directory (<host>/<id>) is made on the first upload into it.
        '--ftp-create-dirs',
        // A backup holds every secret of the host: its files are the owner's only. A served
        // tree's are for the TFTP or HTTP server's user to read.
        '--create-file-mode',
        served ? '644' : '600',
        // After the upload, the complete file gets its name: a reader never sees half of it. The
        // backup's directory is made by --ftp-create-dirs; it becomes the owner's only (a
        // served tree's: everyone may enter it).
        // SFTP's rename (version 3, as OpenSSH serves it) replaces nothing: a file of that name
        // goes just before ("*": if there is one).
        '--quote',
        `-*rm ${quote(this.key, final)}`,
        '--quote',
        `-rename ${quote(this.key, partial)} ${quote(this.key, final)}`,
        '--quote',
        `-chmod ${served ? '755' : '700'} ${quote(this.key, posix.dirname(final))}`,
        this.urlOf(partial),
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4096);
    });
    const exited = new Promise<number>((resolve) => {
      child.on('error', () => resolve(-1));
      child.on('close', (code) => resolve(code ?? -1));
    });
    child.stdin.on('error', () => undefined);
    data.on('error', (error) => child.stdin.destroy(error));
    data.pipe(child.stdin);
    const dataDone = new Promise<void>((resolve, reject) => {
      data.on('end', resolve);
      data.on('error', reject);
    });
    const code = await exited;
    await dataDone;
    if (code !== 0) throw this.failure({ exitCode: code, stderr }, `could not write ${path}`);
  }

  async read(path: string): Promise<Readable> {
    const out = new PassThrough();
    const child = spawn('curl', [...this.common(), '--output', '-', this.url(path)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4096);
    });
    child.stdout.pipe(out, { end: false });
    child.on('close', (code) => {
      if (code === 0) out.end();
      else out.destroy(this.failure({ exitCode: code ?? -1, stderr }, `could not read ${path}`));
    });
    return out;
  }

  async list(dir: string): Promise<string[]> {
    const result = await this.curl(['--list-only', this.url(dir, true)]);
    if (result.exitCode === NOT_FOUND) return [];
    if (result.exitCode !== 0) throw this.failure(result, `could not list ${dir || '/'}`);
    return result.stdout
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
      .filter((name) => name !== '' && name !== '.' && name !== '..')
      .sort();
  }

  async symlink(path: string, target: string): Promise<void> {
    const link = this.remotePath(path);
    // SFTP makes no link over a name that is there: the old one goes first ("*": if any).
    const result = await this.curl([
      '--list-only',
      '--quote',
      `*rm ${quote(this.key, link)}`,
      '--quote',
      `symlink ${quote(this.key, target)} ${quote(this.key, link)}`,
      this.url(posix.dirname(path), true),
    ]);
    if (result.exitCode !== 0) throw this.failure(result, `could not link ${path}`);
  }

  async symlinks(dir: string): Promise<Map<string, string>> {
    // Without --list-only curl lists like `ls -l`, and reads each link: "... NAME -> TARGET".
    const result = await this.curl([this.url(dir, true)]);
    if (result.exitCode === NOT_FOUND) return new Map();
    if (result.exitCode !== 0) throw this.failure(result, `could not list ${dir || '/'}`);
    const links = new Map<string, string>();
    for (const line of result.stdout.split('\n')) {
      const link = /^l\S* .* (\S+) -> (\S+)\r?$/.exec(line);
      if (link?.[1] && link[2]) links.set(link[1], link[2]);
    }
    return links;
  }

  /** A file, or a directory of files (a backup is one level deep). */
  async remove(path: string): Promise<void> {
    const target = this.remotePath(path);
    const listed = await this.curl(['--list-only', this.url(path, true)]);
    const names =
      listed.exitCode === 0
        ? listed.stdout
            .split('\n')
            .map((l) => l.replace(/\r$/, ''))
            .filter((n) => n !== '' && n !== '.' && n !== '..')
        : [];
    // "*" lets the next command run when one fails (a name that was a file after all).
    const commands =
      listed.exitCode === 0
        ? [
            ...names.map((n) => `*rm ${quote(this.key, posix.join(target, n))}`),
            `rmdir ${quote(this.key, target)}`,
          ]
        : [`rm ${quote(this.key, target)}`];
    const result = await this.curl([
      '--list-only',
      ...commands.flatMap((c) => ['--quote', c]),
      this.url('', true),
    ]);
    if (result.exitCode !== 0) throw this.failure(result, `could not remove ${path}`);
  }

  async close(): Promise<void> {
    this.forget?.();
    this.forget = undefined;
    if (this.keyDir) await rm(this.keyDir, { recursive: true, force: true });
    this.keyDir = undefined;
  }

  private common(): string[] {
    return [
      // Errors in one line on stderr, no progress meter.
      '--silent',
      '--show-error',
      '--connect-timeout',
      '20',
      ...(this.keyDir ? ['--key', join(this.keyDir, 'key')] : []),
      ...(this.spec.hostKey ? ['--hostpubsha256', this.spec.hostKey] : []),
    ];
  }

  private curl(args: string[]) {
    return execa('curl', [...this.common(), ...args], {
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    }).then((r) => ({
      exitCode: r.exitCode ?? -1,
      stdout: String(r.stdout),
      stderr: String(r.stderr),
    }));
  }

  private failure(result: { exitCode: number; stderr: string }, doing?: string): JobError {
    const known = CURL_FAILURES[result.exitCode];
    const said = known ?? (lastLine(result.stderr) || `curl exited ${result.exitCode}`);
    this.log.debug(`curl exited ${result.exitCode}: ${result.stderr}`);
    return new JobError(`${this.key} ${this.display}: ${doing ? `${doing}: ` : ''}${said}`, {
      hint: 'check that the server answers on that port and accepts backup.sftpKey',
    });
  }

  private remotePath(path: string): string {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw new JobError(`backup path ${path} leaves the destination`);
    return posix.join(this.spec.path, ...parts);
  }

  private urlOf(remote: string, dir = false): string {
    const encoded = remote.split('/').map(encodeURIComponent).join('/');
    const host = this.spec.host.includes(':') ? `[${this.spec.host}]` : this.spec.host;
    return `sftp://${encodeURIComponent(this.spec.user)}@${host}:${this.spec.port}${encoded}${dir && !encoded.endsWith('/') ? '/' : ''}`;
  }

  private url(path: string, dir = false): string {
    return this.urlOf(this.remotePath(path), dir);
  }
}

/** An SFTP quote-command argument: double-quoted when it has a space (curl's own rule). */
function quote(key: string, path: string): string {
  if (path.includes('"') || path.includes('\n')) {
    throw new UsageError(`${key}: the path ${path} has a character SFTP commands cannot carry`);
  }
  return /\s/.test(path) ? `"${path}"` : path;
}

/** "256 SHA256:abc... comment (ED25519)" or "SHA256:abc..." → the base64 curl wants. */
export function hostKeySha256(fingerprint: string): string {
  const match = /SHA256:([A-Za-z0-9+/]+=*)/.exec(fingerprint);
  if (!match?.[1]) {
    throw new UsageError(
      `backup.sftpHostKey "${fingerprint}" is not a SHA256 fingerprint as ssh-keygen -lf prints it`,
      {
        hint: "run ssh-keygen -lf on the server's /etc/ssh/ssh_host_ed25519_key.pub and copy the SHA256:... part",
      },
    );
  }
  const base64 = match[1].replace(/=+$/, '');
  // curl compares the padded base64 of the digest (44 characters for 32 bytes).
  return base64.padEnd(Math.ceil(base64.length / 4) * 4, '=');
}
