import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import {
  configWithoutSecrets,
  dumpEntries,
  formatDumpJson,
  formatDumpText,
  redactedConfig,
} from './dump.js';
import type { HostFacts } from './facts.js';
import { ConfigError } from './layer.js';
import { type LoadOptions, loadConfig } from './load.js';
import { configJsonSchema, configReferenceMarkdown } from './reference.js';

const debian: HostFacts = { arch: 'x86_64', osId: 'debian', osIdLike: [], osVersion: '12' };

let dir: string;
let etc: string;
let cwd: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-config-'));
  etc = join(dir, 'etc');
  cwd = join(dir, 'project');
  mkdirSync(etc);
  mkdirSync(cwd);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}

function load(options: LoadOptions = {}) {
  return loadConfig({ configDir: etc, cwd, facts: debian, env: {}, ...options });
}

async function configError(options: LoadOptions = {}): Promise<string> {
  const error = await load(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).exitCode).toBe(2);
  return (error as Error).message;
}

describe('layers', () => {
  it('stacks default, os profile, site, local, project, --config, recipe and --set, later winning', async () => {
    write(
      join(etc, 'site.yaml'),
      'boot:\n  timeout: 10\n  volumeId: SITE\nbackup:\n  method: netfs\n',
    );
    write(join(etc, 'local.yaml'), 'boot:\n  timeout: 20\n');
    write(join(cwd, 'lifeboat.config.json'), '{ "boot": { "serialConsole": false } }');
    const extra = write(join(dir, 'extra.yml'), 'network:\n  mode: static\n');
    const recipe = write(
      join(dir, 'recipe.yaml'),
      'name: test\ndescription: a test recipe\nboot:\n  timeout: 30\n',
    );
    const {
      config,
      origins,
      layers,
      recipe: meta,
    } = await load({
      configFiles: [extra],
      recipe,
      sets: ['boot.volumeId=FLAG'],
    });

    expect(config.boot).toMatchObject({
      timeout: 30,
      volumeId: 'FLAG',
      serialConsole: false,
      default: 'rescue',
    });
    expect(config.backup.method).toBe('netfs');
    expect(config.network.mode).toBe('static');
    expect(config.recovery.initramfsTool).toBe('update-initramfs');
    expect(meta).toEqual({ file: recipe, name: 'test', description: 'a test recipe' });
    expect(layers.map((l) => l.kind)).toEqual([
      'default',
      'os profile',
      'os profile',
      'site',
      'local',
      'local',
      'config',
      'recipe',
      'flag',
    ]);
    expect(origins.get('boot.timeout')).toEqual([
      { layer: 'recipe', source: recipe, line: 4, column: 3 },
    ]);
    expect(origins.get('boot.volumeId')).toEqual([
      { layer: 'flag', source: '--set boot.volumeId' },
    ]);
    expect(origins.get('backup.method')?.[0]).toMatchObject({
      layer: 'site',
      source: join(etc, 'site.yaml'),
      line: 5,
    });
    expect(origins.get('recovery.initramfsTool')).toEqual([
      { layer: 'os profile', source: 'os debian' },
    ]);
    expect(origins.get('boot.default')).toEqual([{ layer: 'default', source: 'built-in' }]);
  });

  it('picks the OS profile from the facts', async () => {
    const { config } = await load({
      facts: {
        arch: 'aarch64',
        osId: 'rocky',
        osIdLike: ['rhel', 'centos', 'fedora'],
        osVersion: '9.4',
      },
    });
    expect(config.boot.firmware).toEqual(['uefi']);
    expect(config.recovery.initramfsTool).toBe('dracut');
  });

  it('extends lists with key+ and shrinks them with key-, in layer order', async () => {
    write(join(etc, 'site.yaml'), 'rescue:\n  programs+: [curl, jq]\n');
    write(join(etc, 'local.yaml'), 'rescue:\n  programs+: rsync\n  programs-: [jq]\n');
    const { config, origins } = await load({ sets: ['rescue.programs+=[curl, strace]'] });
    expect(config.rescue.programs).toEqual(['curl', 'rsync', 'strace']);
    expect(origins.get('rescue.programs')?.map((o) => o.layer)).toEqual([
      'default',
      'site',
      'local',
      'local',
      'flag',
    ]);
  });

  it('replaces a list when the key has no suffix', async () => {
    write(join(etc, 'site.yaml'), 'rescue:\n  programs+: [curl]\n');
    write(join(etc, 'local.yaml'), 'rescue:\n  programs: [mc]\n');
    expect((await load()).config.rescue.programs).toEqual(['mc']);
  });

  it('runs a JS config function with the configuration so far and hostHas()', async () => {
    write(join(etc, 'site.yaml'), 'boot:\n  timeout: 7\n');
    write(
      join(etc, 'local.mjs'),
      `export default ({ hostHas, current, facts }) => ({
        rescue: { 'programs+': [hostHas('sh') ? 'sh' : 'no-sh', hostHas('surely-not-a-program') ? 'bogus' : 'ok'] },
        boot: { timeout: current.boot.timeout * 2 },
        kernel: { cmdline: facts.osId },
      });\n`,
    );
    const { config } = await load();
    expect(config.rescue.programs).toEqual(['sh', 'ok']);
    expect(config.boot.timeout).toBe(14);
    expect(config.kernel.cmdline).toBe('debian');
  });

  it('reads a .lifeboatrc in the working directory as YAML', async () => {
    write(join(cwd, '.lifeboatrc'), 'boot:\n  timeout: 3\n');
    expect((await load()).config.boot.timeout).toBe(3);
  });

  it('reads --set values as YAML and names only the key as their origin', async () => {
    const { config } = await load({
      sets: [
        'boot.timeout=12',
        'boot.serialConsole=false',
        'kernel.cmdline=console=ttyS0 quiet',
        'output.methods=[iso, pxe]',
        // YAML would read this as an alias to a missing anchor: it is the plain string typed.
        'backup.exclude+=*.skip',
      ],
    });
    expect(config.backup.exclude).toContain('*.skip');
    expect(config.boot.timeout).toBe(12);
    expect(config.boot.serialConsole).toBe(false);
    expect(config.kernel.cmdline).toBe('console=ttyS0 quiet');
    expect(config.output.methods).toEqual(['iso', 'pxe']);
  });
});

describe('errors', () => {
  it('names file, line, column and key of an unknown key, with a suggestion', async () => {
    const file = write(join(etc, 'local.yaml'), 'rescue:\n  progams: [curl]\n');
    expect(await configError()).toBe(
      `${file}:2:3: rescue.progams: unknown key (did you mean "programs"?)`,
    );
  });

  it('refuses keys named like JavaScript built-ins as unknown keys, and pollutes nothing', async () => {
    for (const key of ['constructor.prototype.x', '__proto__.polluted', 'boot.toString']) {
      const message = await configError({ sets: [`${key}=1`] });
      expect(message).toMatch(new RegExp(`--set ${key.replace(/\./g, '\\.')}: .*unknown key`));
    }
    const file = write(join(etc, 'local.yaml'), '__proto__:\n  polluted: 1\n');
    expect(await configError()).toMatch(new RegExp(`^${file}:1:1: __proto__: unknown key`));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses at load what the boot menus would refuse only mid-build', async () => {
    expect(await configError({ sets: ['boot.timeout=4000'] })).toBe(
      '--set boot.timeout: boot.timeout: expected a number ≤ 3599, got 4000',
    );
    expect(await configError({ sets: ['kernel.cmdline=quiet root="x"'] })).toMatch(
      /^--set kernel\.cmdline: kernel\.cmdline: expected no quotes or backslashes/,
    );
    expect(await configError({ sets: ['kernel.cmdline=quiet\tx'] })).toMatch(
      /expected printable ASCII only/,
    );
  });

  it('lists the known keys when nothing is close', async () => {
    const file = write(join(etc, 'local.yaml'), 'boot:\n  zzzzzzzzzz: 1\n');
    expect(await configError()).toBe(
      `${file}:2:3: boot.zzzzzzzzzz: unknown key; the keys of boot are: default, timeout, serialConsole, firmware, volumeId`,
    );
  });

  it('tells a ReaR user the lifeboat name of a ReaR variable', async () => {
    const file = write(join(etc, 'site.yaml'), 'PROGS+: [curl]\n');
    expect(await configError()).toBe(
      `${file}:1:1: PROGS: unknown key; PROGS is ReaR's name, lifeboat's is rescue.programs`,
    );
  });

  it('says what a value should be, at the value', async () => {
    const file = write(join(etc, 'local.yaml'), 'boot:\n  timeout: ten\n');
    expect(await configError()).toBe(`${file}:2:12: boot.timeout: expected a number, got "ten"`);
  });

  it('suggests the closest choice for a wrong enum value inside a list', async () => {
    const file = write(join(etc, 'local.yaml'), 'output:\n  methods: [iso, isso]\n');
    expect(await configError()).toBe(
      `${file}:2:18: output.methods[1]: expected one of "iso", "ramdisk", "pxe", "usb", "rawdisk", "obdr", got "isso" (did you mean "iso"?)`,
    );
  });

  it('reports every problem of a file at once', async () => {
    write(
      join(etc, 'local.yaml'),
      'boot:\n  timeout: -1\n  serialConsole: yes\nnetwork:\n  mode: dhcpp\n',
    );
    const lines = (await configError()).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/:2:12: boot\.timeout: expected a number ≥ 0, got -1$/);
    expect(lines[1]).toMatch(/:3:18: boot\.serialConsole: expected true or false, got "yes"$/);
    expect(lines[2]).toMatch(
      /:5:9: network\.mode: expected one of .* got "dhcpp" \(did you mean "dhcp"\?\)$/,
    );
  });

  it('refuses + on a key that is not a list', async () => {
    const file = write(join(etc, 'local.yaml'), 'boot:\n  timeout+: 3\n');
    expect(await configError()).toBe(
      `${file}:2:3: boot.timeout: "timeout+": a trailing + appends to a list, but boot.timeout is not a list`,
    );
  });

  it('places YAML syntax errors', async () => {
    const file = write(join(etc, 'local.yaml'), 'boot:\n  timeout: [1, 2\n');
    expect(await configError()).toMatch(new RegExp(`^${file}:\\d+:\\d+: not valid YAML: `));
  });

  it('places errors in JSON files too', async () => {
    const file = write(
      join(cwd, 'lifeboat.config.json'),
      '{\n  "boot": {\n    "timeot": 3\n  }\n}\n',
    );
    expect(await configError()).toBe(
      `${file}:3:5: boot.timeot: unknown key (did you mean "timeout"?)`,
    );
  });

  it('names the file of a JS config, which has no positions', async () => {
    const file = write(join(etc, 'local.mjs'), 'export default { rescue: { modules: "some" } };\n');
    expect(await configError()).toBe(
      `${file}: rescue.modules: expected one of "needed", "loaded", "all", got "some"`,
    );
  });

  it('names the flag of a bad --set', async () => {
    expect(await configError({ sets: ['boot.timout=3'] })).toBe(
      '--set boot.timout: boot.timout: unknown key (did you mean "timeout"?)',
    );
    const error = await load({ sets: ['boot.timeout'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe('--set boot.timeout: expected KEY=VALUE');
  });

  it('refuses two site files', async () => {
    write(join(etc, 'site.yaml'), '{}\n');
    write(join(etc, 'site.json'), '{}\n');
    const error = await load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      `${join(etc, 'site.yaml')} and ${join(etc, 'site.json')}: more than one site file`,
    );
  });

  it('names a missing --config or --recipe', async () => {
    await expect(load({ configFiles: [join(dir, 'nope.yaml')] })).rejects.toThrow(
      `${join(dir, 'nope.yaml')}: no such file`,
    );
    await expect(load({ recipe: 'no-such-recipe' })).rejects.toThrow(
      '--recipe no-such-recipe: no such recipe',
    );
  });
});

describe('secrets', () => {
  const hash = '$6$saltsalt$Vv3y0N9mJq6v1d0pM8v0kQ';

  it('are redacted in dump, kept in the config, and listed for the log', async () => {
    write(
      join(etc, 'local.yaml'),
      `ssh:\n  rootPasswordHash: '${hash}'\nbackup:\n  encryptionKey: hunter2-key\n`,
    );
    const effective = await load();
    expect(effective.config.ssh.rootPasswordHash).toBe(hash);
    expect(effective.secretValues.sort()).toEqual([hash, 'hunter2-key'].sort());
    const text = formatDumpText(effective);
    const json = formatDumpJson(effective);
    for (const out of [text, json]) {
      expect(out).not.toContain(hash);
      expect(out).not.toContain('hunter2');
    }
    expect(text).toMatch(/^ssh\.rootPasswordHash = <redacted> +# local /m);
    expect(dumpEntries(effective).find((e) => e.key === 'backup.encryptionKey')?.value).toBe(
      '<redacted>',
    );
  });

  it("include a URL's password: listed for the log, <redacted> in dump, left out of a manifest", async () => {
    write(
      join(etc, 'local.yaml'),
      'backup:\n  method: netfs\n  url: cifs://admin:s%40fe-PW@nas/share\noutput:\n  url: sftp://me:out-PW@host/media\n',
    );
    const effective = await load();
    expect(effective.config.backup.url).toBe('cifs://admin:s%40fe-PW@nas/share');
    expect(effective.secretValues.sort()).toEqual(['out-PW', 's%40fe-PW', 's@fe-PW'].sort());
    const text = formatDumpText(effective);
    expect(text).toMatch(/^backup\.url = "cifs:\/\/admin:<redacted>@nas\/share" +# local /m);
    for (const out of [text, formatDumpJson(effective)]) expect(out).not.toMatch(/fe-PW|out-PW/);
    const kept = configWithoutSecrets(effective.config);
    expect(kept.backup).not.toHaveProperty('url');
    expect(kept.output).not.toHaveProperty('url');
    expect(kept.backup.method).toBe('netfs');
    expect(redactedConfig(effective.config).output.url).toBe('sftp://me:<redacted>@host/media');
  });

  it('are not echoed in an error', async () => {
    write(join(etc, 'local.yaml'), 'ssh:\n  rootPasswordHash: my-plain-password\n');
    const message = await configError();
    expect(message).not.toContain('my-plain-password');
    expect(message).toMatch(
      /ssh\.rootPasswordHash: expected a crypt\(3\) hash such as \$6\$\.\.\. or \$y\$\.\.\. \(never a plain password\), a value that is not$/,
    );
  });
});

describe('dump', () => {
  it('prints every key with the layers that made its value', async () => {
    write(join(etc, 'site.yaml'), 'rescue:\n  programs+: [curl]\n');
    const text = formatDumpText(await load({ sets: ['rescue.programs+=jq'] }));
    expect(text).toMatch(
      /^rescue\.programs = \["curl","jq"\] +# default, \+ site .*site\.yaml:2, \+ flag --set rescue\.programs\+$/m,
    );
    expect(text).toMatch(/^boot\.timeout = 5 +# default$/m);
    expect(text).toMatch(/^# host: x86_64, debian 12$/m);
  });
});

describe('generated reference', () => {
  it('schema/lifeboat.schema.json and docs/configuration.md are current (npm run schema)', () => {
    expect(readFileSync('schema/lifeboat.schema.json', 'utf8')).toBe(configJsonSchema());
    expect(readFileSync('docs/configuration.md', 'utf8')).toBe(configReferenceMarkdown());
  });

  it('lets editors write key+ and key- for lists', () => {
    const schema = JSON.parse(configJsonSchema());
    expect(Object.keys(schema.properties.rescue.properties)).toEqual(
      expect.arrayContaining(['programs+', 'programs-']),
    );
  });
});
