import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, expect, it } from 'vitest';
import { describeTree, makeSampleTree } from '../support/backup.js';
import { lifeboat, ROOT, sandbox } from '../support/cli.js';
import { describeTier, hostMissing } from '../support/tiers.js';

/**
 * backup.method networker, on this machine: `lifeboat recover --into` as a user runs it, against
 * a STAND-IN for Dell NetWorker's recover (test/support/standins/recover): no NetWorker client
 * or server can exist here. The stand-in records its arguments, answers only as its one server,
 * and copies save sets' files from a directory, so these tests prove the call (ReaR's), the save
 * sets chosen, the point in time, the failures and the restore into the target.
 */
const RECOVER = join(ROOT, 'test', 'support', 'standins', 'recover');
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-networker-'));
const box = sandbox();
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let server = '';
let run = 0;
/** A fresh stand-in: server "localhost", save sets / and /data. */
function standIn(): string {
  const dir = join(scratch, `server-${++run}`);
  makeSampleTree(join(dir, 'store', '_'));
  writeFileSync(join(dir, 'store', '_', 'etc', 'hostname'), `${hostname()}\n`);
  mkdirSync(join(dir, 'store', '_data'), { recursive: true });
  writeFileSync(join(dir, 'store', '_data', 'table'), 'rows\n');
  writeFileSync(join(dir, 'server'), 'localhost');
  return dir;
}
const calls = () =>
  readFileSync(join(server, 'calls'), 'utf8')
    .split('\n')
    .filter((line) => line !== '');
const recoverInto = (into: string, args: string[] = []) =>
  lifeboat(
    [
      'recover',
      '--into',
      into,
      '--unattended',
      ...box.sets,
      '--set',
      'backup.method=networker',
      '--set',
      `networker.recover=${RECOVER}`,
      '--set',
      'networker.server=localhost',
      ...args,
    ],
    { env: { ...box.env, STANDIN_DIR: server } },
  );

describeTier('host', hostMissing())('backup.method networker against a stand-in recover', () => {
  beforeEach(() => {
    server = standIn();
  });

  it('recover --into: recover -s SERVER -c HOST -d TARGET -a with the file systems under the target, every file the same', async () => {
    const into = join(scratch, `restored-${run}`);
    const restored = await recoverInto(into);
    expect(restored.exitCode, restored.all).toBe(0);
    // A rehearsal into a directory: the one file system there is the root.
    expect(calls()).toEqual([`-s localhost -c ${hostname()} -d ${into} -a / `]);
    expect(describeTree(into)).toEqual(describeTree(join(server, 'store', '_')));
  });

  it('networker.saveSets, networker.client and a point in time reach the call', async () => {
    const into = join(scratch, `restored-${run}`);
    const restored = await recoverInto(into, [
      '--set',
      'networker.saveSets=[/, /data]',
      '--set',
      'networker.client=web1.example.com',
      '--set',
      'networker.pointInTime=2026-12-01 02:00:00',
    ]);
    expect(restored.exitCode, restored.all).toBe(0);
    expect(calls()).toEqual([
      `-s localhost -c web1.example.com -d ${into} -a -t 12/01/2026\\ 02:00:00 / /data `,
    ]);
    expect(readFileSync(join(into, 'data', 'table'), 'utf8')).toBe('rows\n');
  });

  it("a server name that does not resolve stops verify before anything runs; recover's failure is one sentence, exit 1", async () => {
    const into = join(scratch, `restored-${run}`);
    const unresolved = await recoverInto(into, ['--set', 'networker.server=nsr.invalid']);
    expect(unresolved.exitCode, unresolved.all).toBe(1);
    expect(unresolved.all).toContain(
      'networker.server nsr.invalid: the host name does not resolve',
    );
    expect(existsSync(join(server, 'calls'))).toBe(false);
    expect(existsSync(join(into, 'etc'))).toBe(false);

    writeFileSync(
      join(server, 'fail'),
      '53363:recover: Recover of rsid 1234 failed: media not found\n',
    );
    const failed = await recoverInto(into);
    expect(failed.exitCode, failed.all).toBe(1);
    expect(failed.all).toContain(
      `networker: ${RECOVER} exited 1: 53363:recover: Recover of rsid 1234 failed: media not found`,
    );
    expect(failed.all).not.toMatch(/internal error|\n\s+at /);
  });
});
