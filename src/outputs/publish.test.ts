import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  configWith,
  makeOutputDir,
  treeOf,
  withMode,
} from '../../test/outputs/media-output.js';
import { JobError, UsageError } from '../errors.js';
import { MemoryLog } from '../log/log.js';
import { publishMedia } from './publish.js';

const workDirs: string[] = [];
function work(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-publish-'));
  workDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

async function publish(url: string | undefined, outDir: string, log = new MemoryLog()) {
  const config = await configWith(url === undefined ? [] : [`output.url=${JSON.stringify(url)}`]);
  return publishMedia({ config, outDir, artifacts: ARTIFACTS, hostname: 'host-a', log });
}

describe('output.url file://', () => {
  it('copies every artifact, the capture directory included, under <url>/<hostname>/, 0600', async () => {
    const dir = work();
    const out = makeOutputDir(join(dir, 'out'));
    const dest = join(dir, 'media share');
    const where = await publish(`file://${encodeURI(dest)}`, out);
    expect(where).toBe(`file://${encodeURI(dest)}/host-a/`);
    expect(readdirSync(dest)).toEqual(['host-a']);
    expect(treeOf(join(dest, 'host-a'))).toEqual(withMode(treeOf(out), '600'));
    expect(statSync(join(dest, 'host-a')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dest, 'host-a', 'capture', 'files')).mode & 0o777).toBe(0o700);
  });

  it('a second publish replaces same-named files and mirrors the capture directory', async () => {
    const dir = work();
    const dest = join(dir, 'dest');
    const first = makeOutputDir(join(dir, 'first'));
    await publish(`file://${dest}`, first);
    // Someone's file beside the media is not the build's to remove.
    writeFileSync(join(dest, 'host-a', 'notes.txt'), 'kept\n');

    const second = makeOutputDir(join(dir, 'second'));
    mkdirSync(join(second, 'capture', 'extra'));
    writeFileSync(join(second, 'capture', 'extra', 'more'), 'more\n');
    await publish(`file://${dest}`, second);
    const { 'notes.txt': notes, ...published } = treeOf(join(dest, 'host-a'));
    expect(published).toEqual(withMode(treeOf(second), '600'));
    expect(notes).toBeDefined();

    // A capture with a directory fewer: the copy loses it too.
    rmSync(join(second, 'capture', 'extra'), { recursive: true });
    await publish(`file://${dest}`, second);
    const { 'notes.txt': _, ...again } = treeOf(join(dest, 'host-a'));
    expect(again).toEqual(withMode(treeOf(second), '600'));
    expect(readdirSync(join(dest, 'host-a', 'capture')).sort()).toEqual(['files', 'manifest.json']);
  });

  it('does nothing when output.url is not set', async () => {
    const dir = work();
    const out = makeOutputDir(join(dir, 'out'));
    const log = new MemoryLog();
    expect(await publish(undefined, out, log)).toBeUndefined();
    expect(log.lines).toEqual([]);
  });

  it('refuses a scheme it has no destination for, or no URL, with a usage error naming output.url', async () => {
    const out = makeOutputDir(join(work(), 'out'));
    const refused = async (url: string, message: RegExp) => {
      const error = await publish(url, out).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toMatch(message);
      expect((error as UsageError).hint).toContain('sftp://user@host[:port]/path');
    };
    await refused(
      'ftp://nas/media',
      /^output\.url ftp:\/\/nas\/media: lifeboat has no destination for ftp:\/\/$/,
    );
    await refused('not a url', /^output\.url not a url is not a URL$/);
    await refused('sftp://nas/media', /^output\.url .*names the user and the server/);
    await refused('file:///', /^output\.url file:\/\/\/: the output directory cannot be \/$/);
  });

  it('says in one sentence naming output.url that a destination is not a writable directory', async () => {
    const dir = work();
    const out = makeOutputDir(join(dir, 'out'));
    writeFileSync(join(dir, 'a-file'), '');
    const error = await publish(`file://${dir}/a-file/media`, out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobError);
    expect((error as JobError).message).toBe(
      `output.url file://${dir}/a-file/media: ${dir}/a-file/media is not a writable directory`,
    );
    expect((error as JobError).hint).toContain('point output.url at a directory');
  });

  it('never lets a password in the URL reach a message or the log', async () => {
    const out = makeOutputDir(join(work(), 'out'));
    const log = new MemoryLog();
    const error = await publish('sftp://media:hunter2@nas/srv', out, log).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(
      'output.url sftp://media@nas/srv: put no password in the URL: use backup.sftpKey',
    );
    // Whatever is logged later in the run (the failed command, the configuration) hides it.
    log.error(`publishing to sftp://media:hunter2@nas/srv failed`);
    expect(JSON.stringify(log.lines)).not.toContain('hunter2');

    const unparsed = await publish('sftp://media:hunter2@n a s/srv', out, log).catch(
      (e: unknown) => e,
    );
    expect((unparsed as UsageError).message).toBe(
      'output.url sftp://media:<redacted>@n a s/srv is not a URL',
    );
  });
});
