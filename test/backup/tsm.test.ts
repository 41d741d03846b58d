import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, expect, it } from 'vitest';
import { describeTree, makeSampleTree } from '../support/backup.js';
import { lifeboat, ROOT, sandbox } from '../support/cli.js';
import { describeTier, hostMissing } from '../support/tiers.js';

/**
 * backup.method tsm, on this machine: `lifeboat recover --into` and `mkbackuponly` as a user runs
 * them, against a STAND-IN for IBM Storage Protect's dsmc (test/support/standins/dsmc): no TSM
 * client or server can exist here. The stand-in records every call's arguments and serves two
 * filespaces' files from a directory, so these tests prove lifeboat's calls (ReaR's), its reading
 * of `dsmc query filespace`, its handling of dsmc's return codes and the restore into the target.
 * The same restore in the rescue system is test/backup/methods-rescue.test.ts's.
 */
const DSMC = join(ROOT, 'test', 'support', 'standins', 'dsmc');
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-tsm-'));
const box = sandbox();
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let server = '';
let run = 0;
/** A fresh stand-in server: filespaces / and /data, each with its own files. */
function standInServer(): string {
  const dir = join(scratch, `server-${++run}`);
  makeSampleTree(join(dir, 'store', '_'));
  writeFileSync(join(dir, 'store', '_', 'etc', 'hostname'), `${hostname()}\n`);
  mkdirSync(join(dir, 'store', '_data', 'db'), { recursive: true });
  writeFileSync(join(dir, 'store', '_data', 'db', 'table'), 'rows\n');
  writeFileSync(join(dir, 'filespaces'), '/\n/data\n');
  return dir;
}
const calls = () =>
  readFileSync(join(server, 'calls'), 'utf8')
    .split('\n')
    .filter((line) => line !== '');

function tsm(command: string, args: string[]) {
  return lifeboat(
    [command, ...box.sets, '--set', 'backup.method=tsm', '--set', `tsm.dsmc=${DSMC}`, ...args],
    { env: { ...box.env, STANDIN_DIR: server } },
  );
}
const recoverInto = (into: string, args: string[] = []) =>
  tsm('recover', ['--into', into, '--unattended', ...args]);

describeTier('host', hostMissing())('backup.method tsm against a stand-in dsmc', () => {
  beforeEach(() => {
    server = standInServer();
  });

  it('recover --into: the session checked, the filespaces listed, each restored parents first, every file the same', async () => {
    const into = join(scratch, `restored-${run}`);
    const restored = await recoverInto(into);
    expect(restored.exitCode, restored.all).toBe(0);
    expect(restored.all).toContain('filespaces /, /data');
    expect(calls()).toEqual([
      'query session ',
      'query filespace -dateformat=3 -timeformat=1 -scrollprompt=no ',
      `restore / ${into}/ -subdir=yes -replace=all -tapeprompt=no `,
      `restore /data/ ${into}/data/ -subdir=yes -replace=all -tapeprompt=no `,
    ]);
    // The / filespace's tree, with /data's files inside its data directory.
    expect(describeTree(into).filter((line) => !line.startsWith('data/db'))).toEqual(
      describeTree(join(server, 'store', '_')),
    );
    expect(readFileSync(join(into, 'data', 'db', 'table'), 'utf8')).toBe('rows\n');
  });

  it('a point in time, a server stanza and an options file reach every dsmc call as ReaR passes them', async () => {
    const into = join(scratch, `restored-${run}`);
    const restored = await recoverInto(into, [
      '--set',
      'tsm.pointInTime=2026-12-01 02:00:00',
      '--set',
      'tsm.server=TSMSRV',
      '--set',
      'tsm.optfile=/etc/dsm-alt.opt',
      '--set',
      'tsm.filespaces=[/data]',
    ]);
    expect(restored.exitCode, restored.all).toBe(0);
    expect(calls().at(-1)).toBe(
      `restore /data/ ${into}/data/ -subdir=yes -replace=all -tapeprompt=no -dateformat=3 -pitdate=2026-12-01 -timeformat=1 -pittime=02:00:00 -optfile=/etc/dsm-alt.opt -se=TSMSRV `,
    );
    expect(calls().filter((call) => call.startsWith('restore'))).toHaveLength(1);
  });

  it("return code 4 is a warning; 12 fails the restore with dsmc's last line, exit 1", async () => {
    writeFileSync(join(server, 'restore-rc'), '4\n');
    const warned = await recoverInto(join(scratch, `restored-${run}-4`));
    expect(warned.exitCode, warned.all).toBe(0);
    expect(warned.all).toContain(
      'dsmc restore of /: some files were skipped (not found, or in use) (return code 4)',
    );
    writeFileSync(join(server, 'restore-rc'), '12\n');
    const failed = await recoverInto(join(scratch, `restored-${run}-12`));
    expect(failed.exitCode, failed.all).toBe(1);
    expect(failed.all).toContain(
      'dsmc restore of / failed: return code 12: Restore processing finished.',
    );
    expect(failed.all).not.toMatch(/internal error|\n\s+at /);
  });

  it('a server that refuses the session, and a filespace it does not have: one sentence at verify, nothing restored', async () => {
    writeFileSync(join(server, 'refuse'), '');
    const into = join(scratch, `restored-${run}`);
    const refused = await recoverInto(into);
    expect(refused.exitCode, refused.all).toBe(1);
    expect(refused.all).toContain(
      'the TSM server does not accept this node: dsmc query session return code 12: ANS1017E Session rejected: TCP/IP connection failure',
    );
    expect(existsSync(join(into, 'etc'))).toBe(false);
    rmSync(join(server, 'refuse'));
    const absent = await recoverInto(into, ['--set', 'tsm.filespaces=[/home]']);
    expect(absent.exitCode, absent.all).toBe(1);
    expect(absent.all).toContain(
      'tsm.filespaces: the TSM server has no filespace /home of this node (it has /, /data)',
    );
    expect(calls().some((call) => call.startsWith('restore'))).toBe(false);
  });

  it('mkbackuponly runs dsmc incremental of the file systems; --root is refused, and a dsmc that is not there', async () => {
    const made = await tsm('mkbackuponly', []);
    expect(made.exitCode, made.all).toBe(0);
    expect(calls().find((call) => call.startsWith('incremental'))).toMatch(
      /^incremental -tapeprompt=no \/ /,
    );
    const rooted = await tsm('mkbackuponly', ['--root', join(server, 'store', '_')]);
    expect(rooted.exitCode, rooted.all).toBe(2);
    expect(rooted.all).toContain("backup.method tsm backs up this machine's own file systems");
    const absent = await tsm('recover', [
      '--into',
      join(scratch, 'never'),
      '--unattended',
      '--set',
      'tsm.dsmc=/opt/none/dsmc',
    ]);
    expect(absent.exitCode, absent.all).toBe(1);
    expect(absent.all).toContain('tsm.dsmc: /opt/none/dsmc is not installed here');
  });
});
