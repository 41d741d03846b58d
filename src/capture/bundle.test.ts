import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobError, UsageError } from '../errors.js';
import { bundleFilePath, readBundle, verifyBundle, writeBundle } from './bundle.js';
import { canonicalJson } from './canonical-json.js';
import { recordFiles } from './file-records.js';
import { RootView } from './fs-root.js';
import { CAPTURE_SCHEMA, type CaptureManifest, type FileRecord } from './manifest.js';

/** The capture bundle on disk (src/capture/bundle*.ts): written whole or not at all. */

let base = '';
let root = '';
/** A fresh directory per test, holding its --out: sibling leftovers are easy to see. */
let place = '';

async function file(path: string, content: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
}

function manifestOf(files: FileRecord[], hostname = 'pc1'): CaptureManifest {
  return {
    schema: CAPTURE_SCHEMA,
    source: { live: false, modulePolicy: 'needed' },
    identity: {
      hostname,
      os: {
        id: 'debian',
        versionId: '12',
        idLike: [],
        prettyName: 'Debian',
        versionCodename: 'bookworm',
      },
      arch: 'x86_64',
      kernelVersion: null,
      bootMode: null,
    },
    programs: { found: [], missing: [] },
    libraries: { resolved: [], unresolved: [], extrasNotFound: [] },
    copyAsIs: { include: ['/etc/app'], exclude: [], missing: [] },
    kernel: null,
    network: {
      source: 'config',
      configFiles: [],
      interfaces: [],
      routes: [],
      dns: { servers: [], search: [] },
    },
    bootloader: { grub: null, esp: null, efi: null },
    layout: null,
    files,
    warnings: [],
  };
}

/** A capture of the test root, as the capture command would make it. */
async function capture(paths: string[], hostname?: string) {
  const recorded = await recordFiles(new RootView(root), paths);
  return { manifest: manifestOf(recorded.records, hostname), contents: recorded.contents };
}

/** Every entry under `dir`: relative path, type, mode, and the bytes of files. */
async function tree(dir: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    const stats = await lstat(join(dir, relative));
    const mode = (stats.mode & 0o7777).toString(8);
    if (stats.isDirectory()) {
      lines.push(`${relative || '.'} dir ${mode}`);
      for (const name of (await readdir(join(dir, relative))).sort()) {
        await walk(join(relative, name));
      }
    } else {
      const bytes = await readFile(join(dir, relative));
      lines.push(
        `${relative} ${stats.isFile() ? 'file' : 'other'} ${mode} ${bytes.toString('base64')}`,
      );
    }
  };
  await walk('');
  return lines;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'lifeboat-bundle-'));
  root = join(base, 'root');
  await file('/etc/app/a.conf', 'a');
  await file('/etc/app/b.conf', 'b');
  await file('/etc/app/same.conf', 'a'); // same content as a.conf: one store file
  await file('/usr/bin/tool', 'tool v1');
  await symlink('usr/bin', join(root, 'bin'));
});

beforeEach(async () => {
  place = await mkdtemp(join(base, 'place-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('writeBundle and readBundle', () => {
  it('round-trips: the manifest comes back, the store is complete, modes are private', async () => {
    const { manifest, contents } = await capture([
      '/etc/app/a.conf',
      '/etc/app/same.conf',
      '/bin/tool',
    ]);
    const out = join(place, 'capture');
    await writeBundle(out, manifest, contents);

    const bundle = await readBundle(out);
    expect(bundle).toEqual({ manifest, dir: out });
    expect(await verifyBundle(out)).toEqual([]);
    expect(await readFile(join(out, 'capture.json'), 'utf8')).toBe(canonicalJson(manifest));
    expect(await tree(out)).toEqual([
      '. dir 700',
      `capture.json file 600 ${Buffer.from(canonicalJson(manifest)).toString('base64')}`,
      'files dir 700',
      ...[
        [sha('a'), 'a'],
        [sha('tool v1'), 'tool v1'],
      ]
        .sort(([x], [y]) => ((x as string) < (y as string) ? -1 : 1))
        .map(
          ([hash, text]) =>
            `files/${hash} file 600 ${Buffer.from(text as string).toString('base64')}`,
        ),
    ]);
    expect(bundleFilePath(out, sha('a'))).toBe(join(out, 'files', sha('a')));
    expect(await readdir(place)).toEqual(['capture']);
  });

  it('writes the same bytes twice for the same input', async () => {
    const { manifest, contents } = await capture([
      '/etc/app/a.conf',
      '/etc/app/b.conf',
      '/bin/tool',
    ]);
    await writeBundle(join(place, 'one'), manifest, contents);
    const again = await capture(['/bin/tool', '/etc/app/b.conf', '/etc/app/a.conf']);
    await writeBundle(join(place, 'two'), again.manifest, again.contents);
    expect(await tree(join(place, 'two'))).toEqual(await tree(join(place, 'one')));
    // And over itself.
    await writeBundle(join(place, 'one'), again.manifest, again.contents);
    expect(await tree(join(place, 'one'))).toEqual(await tree(join(place, 'two')));
  });

  it('writes into an empty directory', async () => {
    const { manifest, contents } = await capture(['/etc/app/a.conf']);
    await mkdir(join(place, 'empty'));
    await writeBundle(join(place, 'empty'), manifest, contents);
    expect((await readBundle(join(place, 'empty'))).manifest).toEqual(manifest);
    expect(await readdir(place)).toEqual(['empty']);
  });

  it('replaces an existing capture, leaving nothing of the old one behind', async () => {
    const out = join(place, 'capture');
    const first = await capture(['/etc/app/a.conf', '/etc/app/b.conf'], 'first');
    await writeBundle(out, first.manifest, first.contents);
    const second = await capture(['/bin/tool'], 'second');
    await writeBundle(out, second.manifest, second.contents);
    expect((await readBundle(out)).manifest.identity.hostname).toBe('second');
    expect(await readdir(join(out, 'files'))).toEqual([sha('tool v1')]);
    expect(await readdir(place)).toEqual(['capture']);
  });

  it('refuses an --out that is not a capture before writing anything, and leaves it as it was', async () => {
    const { manifest, contents } = await capture(['/etc/app/a.conf']);
    const out = join(place, 'home');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'precious');
    const before = await tree(place);
    const error = await writeBundle(out, manifest, contents).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      `--out ${out} is not a lifeboat capture; give a new or empty directory`,
    );
    expect(await tree(place)).toEqual(before);

    // A capture.json of ours is not enough when other files would be deleted with it.
    await writeFile(join(out, 'capture.json'), canonicalJson(manifest));
    await expect(writeBundle(out, manifest, contents)).rejects.toThrow(/is not a lifeboat capture/);
    // Nor is a plain file, or a foreign capture.json.
    await writeFile(join(place, 'file'), 'x');
    await expect(writeBundle(join(place, 'file'), manifest, contents)).rejects.toBeInstanceOf(
      UsageError,
    );
    await mkdir(join(place, 'foreign'));
    await writeFile(join(place, 'foreign', 'capture.json'), '{"schema":"something/else"}');
    await expect(writeBundle(join(place, 'foreign'), manifest, contents)).rejects.toBeInstanceOf(
      UsageError,
    );
    expect((await readdir(place)).sort()).toEqual(['file', 'foreign', 'home']);
  });

  it('leaves --out untouched and no partial directory when a file vanishes before it is copied', async () => {
    const out = join(place, 'capture');
    const first = await capture(['/etc/app/a.conf'], 'first');
    await writeBundle(out, first.manifest, first.contents);
    const before = await tree(out);

    await file('/etc/app/doomed.conf', 'doomed');
    const second = await capture(
      ['/etc/app/a.conf', '/etc/app/doomed.conf', '/bin/tool'],
      'second',
    );
    await rm(join(root, '/etc/app/doomed.conf'));
    const error = await writeBundle(out, second.manifest, second.contents).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobError);
    expect((error as Error).message).toBe(
      `${join(root, 'etc/app/doomed.conf')} changed since it was hashed (it is gone)`,
    );
    expect(await tree(out)).toEqual(before);
    expect(await readdir(place)).toEqual(['capture']);
  });

  it('refuses a file rewritten since it was hashed (a live host), into a new --out too', async () => {
    await file('/etc/app/live.conf', 'before');
    const { manifest, contents } = await capture(['/etc/app/live.conf']);
    await file('/etc/app/live.conf', 'after!');
    const out = join(place, 'capture');
    await expect(writeBundle(out, manifest, contents)).rejects.toThrow(
      `${join(root, 'etc/app/live.conf')} changed since it was hashed (its sha256 is now ${sha('after!')}, was ${sha('before')})`,
    );
    expect(await readdir(place)).toEqual([]);
  });

  it('refuses a manifest whose file has no content, before writing anything', async () => {
    const { manifest } = await capture(['/etc/app/a.conf']);
    await expect(writeBundle(join(place, 'capture'), manifest, new Map())).rejects.toThrow(
      /\/etc\/app\/a\.conf: no content for sha256/,
    );
    expect(await readdir(place)).toEqual([]);
  });
});

describe('verifyBundle', () => {
  it('names store files that are missing or whose content does not match', async () => {
    const { manifest, contents } = await capture([
      '/etc/app/a.conf',
      '/etc/app/same.conf',
      '/etc/app/b.conf',
      '/bin/tool',
    ]);
    const out = join(place, 'capture');
    await writeBundle(out, manifest, contents);
    await writeFile(bundleFilePath(out, sha('a')), 'A');
    await rm(bundleFilePath(out, sha('tool v1')));
    expect(await verifyBundle(out)).toEqual(
      [
        {
          sha256: sha('a'),
          file: bundleFilePath(out, sha('a')),
          problem: 'mismatch',
          paths: ['/etc/app/a.conf', '/etc/app/same.conf'],
        },
        {
          sha256: sha('tool v1'),
          file: bundleFilePath(out, sha('tool v1')),
          problem: 'missing',
          paths: ['/usr/bin/tool'],
        },
      ].sort((x, y) => (x.sha256 < y.sha256 ? -1 : 1)),
    );
  });
});

describe('readBundle', () => {
  it('says clearly what is wrong with a capture.json, naming it', async () => {
    const dir = join(place, 'bad');
    const json = join(dir, 'capture.json');
    await expect(readBundle(dir)).rejects.toThrow(
      `${json} does not exist: ${dir} is not a lifeboat capture`,
    );
    await mkdir(dir);
    await writeFile(json, '{"schema": ');
    await expect(readBundle(dir)).rejects.toThrow(new RegExp(`^${json} is not valid JSON`));
    await writeFile(json, '{"name": "some-package"}');
    await expect(readBundle(dir)).rejects.toThrow(
      `${json} is not a lifeboat capture (no "schema" field)`,
    );
    await writeFile(json, '{"schema": "lifeboat.capture/v9"}');
    await expect(readBundle(dir)).rejects.toThrow(
      `${json} is in the format lifeboat.capture/v9; this lifeboat reads ${CAPTURE_SCHEMA}`,
    );
    // A sha256 that would lead out of the store is not taken as a file name.
    const evil = manifestOf([
      {
        path: '/x',
        type: 'file',
        mode: '0644',
        uid: 0,
        gid: 0,
        size: 1,
        sha256: '../../../etc/passwd',
      },
    ]);
    await writeFile(json, canonicalJson(evil));
    const error = await readBundle(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(`${json} is damaged: files[0]: /x: bad sha256`);
    expect(() => bundleFilePath(dir, '../x')).toThrow(/not a sha256/);
  });

  it('refuses a capture.json whose paths escape, go through its own symlinks, or whose sections are no mappings', async () => {
    const dir = join(place, 'escapes');
    const json = join(dir, 'capture.json');
    await mkdir(dir);
    const record = (path: string): FileRecord => ({
      path,
      type: 'file',
      mode: '0644',
      uid: 0,
      gid: 0,
      size: 1,
      sha256: sha('x'),
    });
    const refused = async (manifest: unknown) => {
      await writeFile(json, JSON.stringify(manifest));
      const error = await readBundle(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      return (error as Error).message;
    };
    expect(await refused(manifestOf([record('/../../../../tmp/x')]))).toBe(
      `${json} is damaged: files[0]: "/../../../../tmp/x": not a plain path (no "..", ".", "//" or NUL)`,
    );
    expect(await refused(manifestOf([record('/etc//x')]))).toMatch(/not a plain path/);
    const link: FileRecord = { path: '/etc/zz', type: 'symlink', uid: 0, gid: 0, target: '/' };
    expect(await refused(manifestOf([link, record('/etc/zz/tmp/x')]))).toBe(
      `${json} is damaged: files[1]: /etc/zz/tmp/x: lies under the symlink /etc/zz`,
    );
    expect(await refused({ ...manifestOf([]), identity: 'pc1' })).toBe(
      `${json} is damaged: the "identity" section is not a mapping`,
    );
    expect(await refused({ ...manifestOf([]), identity: { hostname: 'pc1' } })).toBe(
      `${json} is damaged: identity.arch is not a string`,
    );
  });
});
