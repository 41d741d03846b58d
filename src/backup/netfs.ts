import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import type { Config } from '../config/schema.js';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { VERSION } from '../paths.js';
import { privateTempDir } from '../util/temp-dir.js';
import {
  ARCHIVE_SUFFIX,
  compressor,
  decompressor,
  decryptor,
  encryptor,
  type GpgHome,
  privateGpgHome,
} from './codec.js';
import { openDestination } from './destination.js';
import { DirectoryDestination } from './destination-file.js';
import type { BackupDestination } from './destination-types.js';
import { ListingCheck } from './member-guard.js';
import {
  BackupKeyNeeded,
  type BackupMethod,
  type BackupRecord,
  type BackupRequest,
  type CheckRequest,
  type RestoreRequest,
  type RestoreResult,
  type VerifyRequest,
} from './method.js';
import { BACKUP_MANIFEST_FORMAT, type BackupManifest } from './netfs-manifest.js';
import {
  type ChainProgram,
  chainFailure,
  type ProgramExit,
  startChain,
  stderrReason,
  stderrToLog,
} from './pipeline.js';
import { applyRetention, hostBackups, MANIFEST_NAME, nextBackupId } from './retention.js';
import { collectLines, feed, streamText } from './streams.js';
import { createArgs, extractArgs, listArgs } from './tar-args.js';
import { type VerifiedCopy, verifiedCopyFor } from './verified-copy.js';

/**
 * NETFS (ReaR's BACKUP=NETFS): one tar archive per run of the host's file systems, compressed
 * and optionally encrypted, streamed to a destination with its listing and backup.json (last).
 *
 *   tar --create | zstd | gpg --symmetric | sha256 (here) → <url>/<host>/<id>/backup.tar.zst.gpg
 */
export const netfsMethod: BackupMethod = {
  name: 'netfs',
  check,
  backup,
  verify,
  restore,
  protectedDevices,
  rescue: {
    // tar and its compressors, gpg for encrypted archives, the clients of every URL scheme:
    // mount.nfs, mount.cifs (nfs://, cifs://), curl (sftp://), mt and dd (tape://).
    programs: ['tar', 'zstd', 'gzip', 'gpg', 'mount.nfs', 'mount.cifs', 'curl', 'mt', 'dd'],
    packages: [],
  },
};

/** The destination answers (mounts, logs in): before media are built or any archive started. */
async function check(request: CheckRequest): Promise<string> {
  const destination = openDestination(request.config, request.log);
  await destination.open();
  await destination.close();
  return destination.display;
}

/** A usb:// destination's partition: recovery leaves the disk it is on alone. */
function protectedDevices(config: Config, log: Log): string[] {
  if (config.backup.url === undefined) return [];
  const device = openDestination(config, log).localDevice;
  return device === undefined ? [] : [device];
}

/** The method-neutral record of a NETFS backup; its backup.json rides along as details. */
function recordOf(manifest: BackupManifest, where: string): BackupRecord {
  return {
    id: manifest.id,
    hostname: manifest.hostname,
    created: manifest.created,
    where,
    summary: `${manifest.listing.entries} entries, ${(manifest.archive.bytes / 1e6).toFixed(1)} MB ${manifest.archive.name}`,
    selinux: manifest.selinux,
    details: manifest,
  };
}

/** The backup.json of a record this module made (verify() is the only way in). */
function manifestOf(record: BackupRecord): BackupManifest {
  const manifest = record.details as BackupManifest | undefined;
  if (manifest?.format !== BACKUP_MANIFEST_FORMAT)
    throw new JobError(`backup ${record.id} was not verified by the netfs method`);
  return manifest;
}

const LISTING_NAME = 'backup.list';

/** The archives verify kept for restore (verified-copy.ts), by the record verify returned. */
const verifiedCopies = new WeakMap<BackupRecord, VerifiedCopy>();

/** tar's exit 1 means "some files changed while being archived": a live system does that. */
const TAR_WARNING = 1;

async function backup(request: BackupRequest): Promise<BackupRecord> {
  const { config, log, hostname } = request;
  const destination = openDestination(config, log);
  const key = config.backup.encryptionKey;
  if (key) log.addSecret(key);
  await destination.open();
  // The archive's index (every path of the host) and nothing else: private, gone on Ctrl-C too.
  const workDir = await privateTempDir('lifeboat-backup-');
  const work = workDir.dir;
  let gpgHome: GpgHome | undefined;
  let dir: string | undefined;
  try {
    const id = nextBackupId(new Date(), await destination.list(hostname));
    dir = `${hostname}/${id}`;
    const compression = config.backup.compression;
    const encryption = key ? 'gpg-aes256' : 'none';
    const archiveName = `backup${ARCHIVE_SUFFIX[compression]}${key ? '.gpg' : ''}`;
    const selinux = request.hostRoot === '/' && existsSync('/sys/fs/selinux/enforce');
    const indexFile = join(work, 'index');
    const alwaysExclude = [
      ...request.alwaysExclude,
      // A file:// destination on the host itself: the backup must not contain earlier backups.
      ...(destination instanceof DirectoryDestination ? [destination.dir] : []),
    ];
    const tar: ChainProgram = {
      program: 'tar',
      args: createArgs({
        hostRoot: request.hostRoot,
        filesystems: request.filesystems,
        excludes: config.backup.exclude,
        alwaysExclude,
        indexFile,
        selinux,
      }),
    };
    log.debug(`tar ${tar.args.join(' ')}`);
    if (key) gpgHome = await privateGpgHome();
    const programs = [
      tar,
      compressor(compression),
      key && gpgHome ? encryptor(gpgHome.dir, key) : undefined,
    ].filter((p): p is ChainProgram => p !== undefined);

    const started = Date.now();
    const chain = startChain(programs, {
      input: 'ignore',
      output: 'pipe',
      stderrLine: stderrToLog(log),
    });
    const stop = () => chain.kill();
    request.signal?.addEventListener('abort', stop);
    const hash = createHash('sha256');
    let bytes = 0;
    let exits: ProgramExit[] = [];
    // The archive is renamed into place only when every program exited well: flush() waits for
    // them, and an error there fails the write, which then removes the partial file.
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        callback(null, chunk);
      },
      flush(callback) {
        chain.done.then((done) => {
          exits = done;
          // The last one that failed is the cause: the programs before it fail writing to it
          // (tar: "Cannot write: Broken pipe" when zstd or gpg stopped).
          const failed = done.findLast(
            (e) => !(e.code === 0 || (e.program === 'tar' && e.code === TAR_WARNING)),
          );
          callback(failed ? chainFailure('the archive could not be made', failed) : null);
        });
      },
    });
    // tar can fail before the destination starts reading (a root it cannot enter): the error
    // waits in the stream, and the destination's pipeline rejects with it when it attaches.
    hashing.on('error', () => undefined);
    try {
      await destination.write(`${dir}/${archiveName}`, (chain.stdout as Readable).pipe(hashing));
    } catch (error) {
      chain.kill();
      throw error;
    } finally {
      request.signal?.removeEventListener('abort', stop);
    }
    const tarExit = exits.find((e) => e.program === 'tar');
    if (tarExit?.code === TAR_WARNING) {
      const said = stderrReason('tar', tarExit.stderr);
      log.warn(`tar: some files changed while they were archived${said ? ` (${said})` : ''}`);
    }

    const listing = await readFile(indexFile);
    const entries = listing.toString('utf8').split('\n').filter(Boolean).length;
    await destination.write(`${dir}/${LISTING_NAME}`, Readable.from([listing]));

    const manifest: BackupManifest = {
      format: BACKUP_MANIFEST_FORMAT,
      id,
      hostname,
      created: new Date(started).toISOString(),
      lifeboatVersion: VERSION,
      filesystems: [...request.filesystems],
      excludes: [...config.backup.exclude],
      archive: { name: archiveName, sha256: hash.digest('hex'), bytes, compression, encryption },
      listing: { name: LISTING_NAME, entries },
      selinux,
    };
    // Last: a backup without backup.json is incomplete, never chosen, and removed by retention.
    await destination.write(
      `${dir}/${MANIFEST_NAME}`,
      Readable.from([`${JSON.stringify(manifest, null, 2)}\n`]),
    );
    dir = undefined;
    const removed = await applyRetention({
      destination,
      hostname,
      current: id,
      keep: config.backup.keep,
      log,
    });
    if (removed.length > 0) log.info(`retention: removed ${removed.join(', ')}`);
    return recordOf(manifest, destination.display);
  } catch (error) {
    // What this run wrote is of no use without its backup.json: it goes.
    if (dir) await destination.remove(dir).catch(() => undefined);
    throw error;
  } finally {
    await gpgHome?.dispose();
    await workDir.dispose();
    await destination.close();
  }
}

async function verify(request: VerifyRequest): Promise<BackupRecord> {
  const { config, log, hostname } = request;
  const destination = openDestination(config, log);
  const key = config.backup.encryptionKey;
  if (key) log.addSecret(key);
  await destination.open('read');
  try {
    const manifest = await chooseBackup(destination, hostname, request.id);
    const where = destination.display;
    const label = `backup ${manifest.id} at ${where}`;
    const gpgHome = manifest.archive.encryption === 'none' ? undefined : await privateGpgHome();
    let copy: VerifiedCopy | undefined;
    try {
      const check = new ListingCheck();
      const programs = [...decoders(manifest, key, gpgHome), { program: 'tar', args: listArgs() }];
      const chain = startChain(programs, {
        input: 'pipe',
        output: 'pipe',
        stderrLine: stderrToLog(log),
      });
      const listed = collectLines(chain.stdout as Readable, (line) => check.line(line));
      const source = await destination.read(
        `${manifest.hostname}/${manifest.id}/${manifest.archive.name}`,
      );
      copy = await verifiedCopyFor(manifest.archive.bytes, log);
      const { sha256, bytes } = await feed(source, chain.stdin as Writable, copy);
      const exits = await chain.done;
      await listed;
      await copy?.end();
      if (sha256 !== manifest.archive.sha256 || bytes !== manifest.archive.bytes) {
        throw new JobError(
          `${label} is damaged: the archive's sha256 is ${sha256} (${bytes} bytes), backup.json says ${manifest.archive.sha256} (${manifest.archive.bytes} bytes)`,
          {
            hint: 'restore from another backup (--backup-id ID), and keep more of them (backup.keep)',
          },
        );
      }
      checkDecoders(exits, manifest, label);
      const tar = exits.find((e) => e.program === 'tar');
      if (tar && tar.code !== 0) throw chainFailure(`${label} cannot be read`, tar);
      if (check.refusal !== undefined) throw new JobError(`${label} ${check.refusal}`);
      log.debug(`${label}: sha256 matches, ${check.members} members, none escapes`);
      const record = recordOf(manifest, where);
      if (copy && !copy.failed) {
        verifiedCopies.set(record, copy);
        copy = undefined;
      }
      return record;
    } finally {
      await copy?.dispose();
      await gpgHome?.dispose();
    }
  } finally {
    await destination.close();
  }
}

async function restore(request: RestoreRequest): Promise<RestoreResult> {
  const { config, log, backup: verified, target } = request;
  const manifest = manifestOf(verified);
  const copy = verifiedCopies.get(verified);
  verifiedCopies.delete(verified);
  const destination = openDestination(config, log);
  const key = config.backup.encryptionKey;
  if (key) log.addSecret(key);
  await destination.open('read');
  const started = Date.now();
  const gpgHome = manifest.archive.encryption === 'none' ? undefined : await privateGpgHome();
  try {
    await mkdir(target, { recursive: true });
    const label = `backup ${manifest.id} at ${verified.where}`;
    const programs = [
      ...decoders(manifest, key, gpgHome),
      { program: 'tar', args: extractArgs(target, manifest.selinux) },
    ];
    // The bytes verify kept, when it could: no second transfer, and the very bytes it checked.
    // The first program reads that file itself, and its sha256 is not computed again: verify
    // hashed every byte on its way into it, and it is this run's own file (0600, in a directory
    // only this run writes). Hashing it again cost a fifth of the restore under QEMU.
    const kept = copy ? await open(copy.file, 'r') : undefined;
    const chain = startChain(programs, {
      input: kept ? kept.fd : 'pipe',
      output: 'pipe',
      stderrLine: stderrToLog(log),
    });
    let entries = 0;
    const listed = collectLines(chain.stdout as Readable, () => {
      entries += 1;
    });
    // The first program has its own descriptor of the file now.
    await kept?.close();
    const stop = () => chain.kill();
    request.signal?.addEventListener('abort', stop);
    try {
      let bytes = manifest.archive.bytes;
      if (copy) {
        log.info(`restoring from the copy of the archive verify kept (${copy.file})`);
      } else {
        const source = await destination.read(
          `${manifest.hostname}/${manifest.id}/${manifest.archive.name}`,
        );
        const read = await feed(source, chain.stdin as Writable);
        bytes = read.bytes;
        // A changed archive first: tar failing on what it became says less than that.
        if (read.sha256 !== manifest.archive.sha256) {
          await chain.done;
          throw new JobError(
            `${label} changed since it was verified: its sha256 is now ${read.sha256}`,
          );
        }
      }
      const exits = await chain.done;
      await listed;
      checkDecoders(exits, manifest, label);
      const tar = exits.find((e) => e.program === 'tar');
      if (tar && tar.code !== 0) throw chainFailure(`${label} did not restore into ${target}`, tar);
      return { entries, bytes, seconds: (Date.now() - started) / 1000 };
    } finally {
      request.signal?.removeEventListener('abort', stop);
    }
  } finally {
    await copy?.dispose();
    await gpgHome?.dispose();
    await destination.close();
  }
}

/** The newest complete backup of `hostname`, or the one named `id`. */
async function chooseBackup(
  destination: BackupDestination,
  hostname: string,
  id: string | undefined,
): Promise<BackupManifest> {
  const { complete, incomplete } = await hostBackups(destination, hostname);
  if (id !== undefined && incomplete.includes(id)) {
    throw new JobError(
      `backup ${id} at ${destination.display} is incomplete (it has no backup.json)`,
      {
        hint: 'choose another backup, or leave the id out for the newest complete one',
      },
    );
  }
  const chosen = id ?? complete.at(-1);
  if (chosen === undefined || !complete.includes(chosen)) {
    throw new JobError(
      id === undefined
        ? `there is no complete backup of ${hostname} at ${destination.display}`
        : `there is no backup ${id} of ${hostname} at ${destination.display}`,
      { hint: 'check backup.url and the host name, or run lifeboat mkbackuponly first' },
    );
  }
  const text = await streamText(await destination.read(`${hostname}/${chosen}/${MANIFEST_NAME}`));
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(text) as BackupManifest;
  } catch {
    throw new JobError(`backup ${chosen} at ${destination.display}: backup.json is not JSON`);
  }
  if (manifest.format !== BACKUP_MANIFEST_FORMAT || manifest.id !== chosen) {
    throw new JobError(
      `backup ${chosen} at ${destination.display}: backup.json is not a ${BACKUP_MANIFEST_FORMAT} manifest of this backup`,
    );
  }
  // The archive is read from the manifest's own host directory: a copied or edited backup.json
  // that names another host would fail there with a bare "no such file".
  if (manifest.hostname !== hostname) {
    throw new JobError(
      `backup ${chosen} at ${destination.display}: backup.json names host ${JSON.stringify(manifest.hostname)}, but it is kept under ${hostname}/`,
      { hint: 'Move the backup under the directory of the host it names, or restore another one.' },
    );
  }
  return manifest;
}

/** gpg (when encrypted) and the decompressor, in that order. */
function decoders(
  manifest: BackupManifest,
  key: string | undefined,
  gpgHome: GpgHome | undefined,
): ChainProgram[] {
  const programs: ChainProgram[] = [];
  if (manifest.archive.encryption !== 'none') {
    if (!key || !gpgHome) {
      throw new BackupKeyNeeded(
        `backup ${manifest.id} is encrypted and backup.encryptionKey is not set`,
        {
          hint: 'set backup.encryptionKey to the key the backup was made with',
        },
      );
    }
    programs.push(decryptor(gpgHome.dir, key));
  }
  const decompress = decompressor(manifest.archive.compression);
  if (decompress) programs.push(decompress);
  return programs;
}

function checkDecoders(exits: ProgramExit[], manifest: BackupManifest, label: string): void {
  const gpg = exits.find((e) => e.program === 'gpg');
  if (gpg && gpg.code !== 0) {
    if (/bad session key|bad passphrase|decryption failed/i.test(gpg.stderr)) {
      throw new JobError(`backup.encryptionKey does not decrypt backup ${manifest.id}`, {
        hint: 'set backup.encryptionKey to the key the backup was made with',
      });
    }
    throw chainFailure(`${label} cannot be decrypted`, gpg);
  }
  const other = exits.find((e) => e.program !== 'gpg' && e.program !== 'tar' && e.code !== 0);
  if (other) throw chainFailure(`${label} cannot be decompressed`, other);
}
