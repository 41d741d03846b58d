import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GETFATTR_MISSING_WARNING, parseGetfattrDump, readXattrs } from './xattrs.js';

let dir = '';
/** Why user xattrs cannot be set here (no setfattr, a filesystem without them), or undefined. */
let unsupported: string | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-xattrs-'));
  await writeFile(join(dir, 'probe'), '');
  const probe = await execa('setfattr', ['-n', 'user.probe', '-v', '1', join(dir, 'probe')], {
    reject: false,
  });
  if (probe.exitCode !== 0) {
    unsupported = `setfattr failed under ${tmpdir()}: ${probe.stderr || probe.shortMessage}`;
    process.stderr.write(
      `\n*** XATTR CASES SKIPPED: ${unsupported} (apt-get install attr) ***\n\n`,
    );
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseGetfattrDump', () => {
  it('reads blocks, undoes octal escapes in paths and names, and sorts names', () => {
    const output = Buffer.from(
      [
        '# file: /r/a b\\012c',
        'user.z=0seg==',
        'user.x\\075y=0sMQ==',
        'security.capability=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=',
        'user.empty=0s',
        '',
        '# file: /r/\xc3\xa9',
        'user.t=0sdg==',
        '',
      ].join('\n'),
      'latin1',
    );
    expect([...parseGetfattrDump(output)]).toEqual([
      [
        '/r/a b\nc',
        {
          'security.capability': 'AQAAAgAgAAAAAAAAAAAAAAAAAAA=',
          'user.empty': '',
          'user.x=y': 'MQ==',
          'user.z': 'eg==',
        },
      ],
      ['/r/é', { 'user.t': 'dg==' }],
    ]);
    expect(Object.keys(parseGetfattrDump(output).get('/r/a b\nc') ?? {})).toEqual([
      'security.capability',
      'user.empty',
      'user.x=y',
      'user.z',
    ]);
  });

  it('refuses output it does not understand', () => {
    expect(() => parseGetfattrDump(Buffer.from('user.a=0s\n'))).toThrow(/unexpected/);
    expect(() => parseGetfattrDump(Buffer.from('# file: /a\nuser.a="text"\n'))).toThrow(/base64/);
  });
});

describe('readXattrs', () => {
  it('warns once and reads nothing when getfattr is not installed', async () => {
    const result = await readXattrs([join(dir, 'probe')], {
      getfattr: 'lifeboat-no-such-getfattr',
    });
    expect(result).toEqual({ xattrs: new Map(), warnings: [GETFATTR_MISSING_WARNING] });
  });

  it('reads the attributes with the real getfattr, in batches, and skips files without any', async (context) => {
    if (unsupported !== undefined) context.skip();
    const names = ['with one', 'with=two', 'none', 'odd\nname'];
    for (const name of names) await writeFile(join(dir, name), name);
    await execa('setfattr', ['-n', 'user.test', '-v', 'hello', join(dir, 'with one')]);
    await execa('setfattr', ['-n', 'user.b', '-v', '2', join(dir, 'with=two')]);
    await execa('setfattr', ['-n', 'user.a', '-v', '1', join(dir, 'with=two')]);
    await execa('setfattr', ['-n', 'user.n', '-v', 'x', join(dir, 'odd\nname')]);
    // 600 files: more than one getfattr run.
    const many = Array.from({ length: 600 }, (_, i) => join(dir, `many-${i}`));
    for (const file of many) await writeFile(file, '');
    const result = await readXattrs([...names.map((name) => join(dir, name)), ...many]);
    expect(result.warnings).toEqual([]);
    expect(result.xattrs.get(join(dir, 'with one'))).toEqual({ 'user.test': 'aGVsbG8=' });
    expect(Object.entries(result.xattrs.get(join(dir, 'with=two')) ?? {})).toEqual([
      ['user.a', 'MQ=='],
      ['user.b', 'Mg=='],
    ]);
    expect(result.xattrs.get(join(dir, 'odd\nname'))).toEqual({ 'user.n': 'eA==' });
    expect(result.xattrs.has(join(dir, 'none'))).toBe(false);
    expect(result.xattrs.size).toBe(3);
  });

  it('turns a file it cannot read into a warning, keeping the others', async (context) => {
    if (unsupported !== undefined) context.skip();
    const result = await readXattrs([join(dir, 'gone'), join(dir, 'probe')]);
    expect(result.warnings).toEqual([
      `xattrs not captured: getfattr: ${join(dir, 'gone')}: No such file or directory`,
    ]);
    expect(result.xattrs.get(join(dir, 'probe'))).toEqual({ 'user.probe': 'MQ==' });
  });
});
