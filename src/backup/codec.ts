import { execFile, spawnSync } from 'node:child_process';
import { killProcessesNaming } from '../util/kill-by-argument.js';
import { privateTempDir } from '../util/temp-dir.js';
import type { BackupManifest } from './netfs-manifest.js';
import type { ChainProgram } from './pipeline.js';

/**
 * The programs between tar and the destination: a compressor and, with backup.encryptionKey,
 * gpg. A backup need not be reproducible, so zstd uses every core (-T0).
 */
export type Compression = BackupManifest['archive']['compression'];

export const ARCHIVE_SUFFIX: Record<Compression, string> = {
  zstd: '.tar.zst',
  gzip: '.tar.gz',
  none: '.tar',
};

export function compressor(kind: Compression): ChainProgram | undefined {
  switch (kind) {
    case 'zstd':
      // Level 3 (zstd's default, said outright), all cores, quiet, stdin to stdout.
      return { program: 'zstd', args: ['-3', '-T0', '--quiet', '--stdout'] };
    case 'gzip':
      // No name and time in the header: nothing of the machine in it.
      return { program: 'gzip', args: ['-6', '--no-name', '--stdout'] };
    case 'none':
      return undefined;
  }
}

/**
 * No thread option: zstd decompresses a frame on one thread whatever -T says (1.5.4 took the
 * same time with -T0), and gzip has none (pigz, which only moves reading and checksums to
 * other threads, is not in the rescue system).
 */
export function decompressor(kind: Compression): ChainProgram | undefined {
  switch (kind) {
    case 'zstd':
      return { program: 'zstd', args: ['--decompress', '--quiet', '--stdout'] };
    case 'gzip':
      return { program: 'gzip', args: ['--decompress', '--stdout'] };
    case 'none':
      return undefined;
  }
}

/**
 * A private GNUPGHOME for one run: the host's keyrings and agent are never touched, and nothing
 * of the passphrase outlives the run (the agent started there is stopped, the directory removed).
 */
export interface GpgHome {
  dir: string;
  dispose(): Promise<void>;
}

export async function privateGpgHome(): Promise<GpgHome> {
  // Short: gpg-agent's socket lives in it and a socket path has at most 107 bytes.
  // gpg starts an agent that lives in the home until told to stop: on Ctrl-C too.
  const home = await privateTempDir('lb-gpg-', {
    onInterrupt: (dir) => {
      spawnSync('gpgconf', ['--homedir', dir, '--kill', 'gpg-agent'], { timeout: 5000 });
      // A gpg still running may be starting an agent right now, which gpgconf did not see:
      // everything started with this home goes, twice, so an agent forked meanwhile goes too.
      killProcessesNaming(dir);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // a synchronous 0.2 s
      killProcessesNaming(dir);
    },
  });
  const { dir } = home;
  return {
    dir,
    async dispose() {
      await new Promise<void>((resolve) =>
        execFile('gpgconf', ['--homedir', dir, '--kill', 'gpg-agent'], () => resolve()),
      );
      await home.dispose();
    },
  };
}

const GPG_COMMON = (home: string) => [
  `--homedir=${home}`,
  // No terminal, no questions; the passphrase comes from fd 3 (loopback: not from a pinentry).
  '--batch',
  '--no-tty',
  '--quiet',
  '--pinentry-mode=loopback',
  '--passphrase-fd=3',
  // Never remember the passphrase in the agent: a wrong key must fail, not find a cached one.
  '--no-symkey-cache',
];

export function encryptor(home: string, key: string): ChainProgram {
  return {
    program: 'gpg',
    args: [
      ...GPG_COMMON(home),
      '--symmetric',
      // AES-256 (the manifest's gpg-aes256), with gpg's default integrity protection (MDC).
      '--cipher-algo=AES256',
      // The stream is compressed already: gpg compressing again costs time and gains nothing.
      '--compress-algo=none',
      '--output=-',
    ],
    fd3: key,
  };
}

export function decryptor(home: string, key: string): ChainProgram {
  return {
    program: 'gpg',
    args: [...GPG_COMMON(home), '--decrypt', '--output=-'],
    fd3: key,
  };
}
