import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { bundleFilePath } from '../../src/capture/bundle.js';
import { CLI, lifeboat, ROOT, sandbox } from '../support/cli.js';
import { describeTier, hostMissing } from '../support/tiers.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describeTier('host', hostMissing())('lifeboat CLI', () => {
  it('prints its version', async () => {
    const result = await lifeboat(['--version']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('lists every command with one line of help, and the exit codes', async () => {
    const result = await lifeboat(['--help']);
    expect(result.exitCode).toBe(0);
    for (const command of ['doctor', 'dump', 'builder', 'capture', 'mkrescue']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b.*\\S`, 'm'));
    }
    expect(result.stdout).toContain(
      'Exit codes: 0 success, 1 the job failed, 2 usage or configuration error.',
    );
  });

  it('stops quietly when its reader goes away (lifeboat help | head -1)', async () => {
    const result = await execa(
      'sh',
      ['-c', `node "$1" help | head -1; exit "\${PIPESTATUS:-0}"`, 'sh', CLI],
      {
        reject: false,
        all: true,
        env: { CI: '' },
      },
    );
    expect(result.all).toBe('Usage: lifeboat [options] [command]');
  });

  it('exits 2 on an unknown command or option', async () => {
    const unknown = await lifeboat(['mkresuce']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'mkresuce'");
    // With --help too: commander would print the top-level help and exit 0.
    const withHelp = await lifeboat(['--set', 'boot.timeout=3', 'mkresuce', '--help']);
    expect(withHelp.exitCode).toBe(2);
    expect(withHelp.stderr).toContain("unknown command 'mkresuce'\n(Did you mean mkrescue?)");
    expect(withHelp.stdout).toBe('');
    const badOption = await lifeboat(['dump', '--jsn']);
    expect(badOption.exitCode).toBe(2);
    expect(badOption.stderr).toContain("unknown option '--jsn'");
  });

  it('exits 2 on a bad configuration file, naming file, line and key, without a stack trace', async () => {
    const box = sandbox();
    mkdirSync(box.etc);
    const local = join(box.etc, 'local.yaml');
    writeFileSync(local, 'rescue:\n  programs+: [curl]\n  modules: some\n');
    const result = await lifeboat(['dump'], { env: box.env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      [
        `lifeboat: ${local}:3:12: rescue.modules: expected one of "needed", "loaded", "all", got "some"`,
        '  Fix the key or value named above; `lifeboat dump` shows every key and its value.',
      ].join('\n'),
    );
    expect(result.stdout).toBe('');
  });

  it('dumps every value with its layer, secrets redacted, as text and JSON', async () => {
    const box = sandbox();
    mkdirSync(box.etc);
    writeFileSync(
      join(box.etc, 'site.yaml'),
      "backup:\n  method: netfs\n  encryptionKey: 'correct horse battery'\n",
    );
    const text = await lifeboat(['dump', '--set', 'rescue.programs+=curl'], { env: box.env });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^backup\.method = "netfs" +# site .*site\.yaml:2$/m);
    expect(text.stdout).toMatch(/^backup\.encryptionKey = <redacted> +# site /m);
    expect(text.stdout).toMatch(
      /^rescue\.programs = \["curl"\] +# default, \+ flag --set rescue\.programs\+$/m,
    );
    expect(text.stdout).not.toContain('correct horse');

    const json = await lifeboat(['dump', '--json'], { env: box.env });
    const parsed = JSON.parse(json.stdout) as {
      values: { key: string; value: unknown; origins: { layer: string }[] }[];
    };
    expect(parsed.values.find((v) => v.key === 'backup.method')).toMatchObject({
      value: 'netfs',
      origins: [{ layer: 'site' }],
    });
    expect(json.stdout).not.toContain('correct horse');
  });

  it('never shows a URL password: not in dump, not in the log, not in an error', async () => {
    const box = sandbox();
    const url = 'file://u:Canary-PW-1@localhost/nonexistent/backups';
    const dump = await lifeboat(['dump', ...box.sets, '--set', `backup.url=${url}`], {
      env: box.env,
    });
    expect(dump.exitCode, dump.all).toBe(0);
    expect(dump.stdout).toContain(
      'backup.url = "file://u:<redacted>@localhost/nonexistent/backups"',
    );
    const made = await lifeboat(
      [
        'mkbackuponly',
        '--root',
        box.dir,
        ...box.sets,
        '--set',
        'backup.method=netfs',
        '--set',
        `backup.url=${url}`,
      ],
      { env: box.env },
    );
    expect(made.exitCode).not.toBe(0);
    const logs = readdirSync(join(box.dir, 'log')).map((f) =>
      readFileSync(join(box.dir, 'log', f), 'utf8'),
    );
    expect(logs.length).toBeGreaterThan(0);
    for (const text of [dump.all, made.all, ...logs]) expect(text).not.toContain('Canary-PW-1');
  });

  it('takes the recipe as a layer, and names a missing one', async () => {
    const box = sandbox();
    const recipe = join(box.dir, 'curl.yaml');
    writeFileSync(recipe, 'name: with-curl\nrescue:\n  packages+: [curl]\n');
    const result = await lifeboat(['dump', '--recipe', recipe], { env: box.env });
    expect(result.stdout).toMatch(
      new RegExp(`^rescue\\.packages = \\["curl"\\] +# default, \\+ recipe ${recipe}:3$`, 'm'),
    );
    const missing = await lifeboat(['dump', '--recipe', 'no-such'], { env: box.env });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^lifeboat: --recipe no-such: no such recipe$/m);
  });

  it('mkrescue --simulate prints the plan with origins and runs nothing', async () => {
    const box = sandbox();
    const steps = join(box.dir, 'steps');
    const marker = join(box.dir, 'ran');
    mkdirSync(join(steps, 'build'), { recursive: true });
    writeFileSync(join(steps, 'build', '300_site_files.sh'), `touch "${marker}"\n`);
    const result = await lifeboat(
      ['mkrescue', '--simulate', ...box.sets, '--set', `steps.dirs=[${steps}]`],
      { env: box.env },
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'mkrescue: 9 step(s) would run, in this order (--simulate: nothing was run)',
      '  prep     010_build_area         built-in',
      '  prep     040_engine             built-in',
      '  prep     050_builder_image      built-in',
      '  capture  100_capture            built-in',
      '  build    200_rescue_media       built-in',
      `  build    300_site_files         ${join(steps, 'build', '300_site_files.sh')}`,
      '  output   300_boot_test          built-in',
      '  output   500_publish_media      built-in',
      `  cleanup  990_remove_build_area  built-in${' '.repeat(join(steps, 'build', '300_site_files.sh').length - 8)}  runs even after a failure`,
    ]);
    expect(existsSync(marker)).toBe(false);
  });

  it('warns about a misnamed step file instead of ignoring it silently', async () => {
    const box = sandbox();
    const steps = join(box.dir, 'steps');
    mkdirSync(join(steps, 'prep'), { recursive: true });
    writeFileSync(join(steps, 'prep', '50_tidy.sh'), 'true\n');
    const result = await lifeboat(
      ['mkrescue', '--simulate', ...box.sets, '--set', `steps.dirs=[${steps}]`],
      { env: box.env },
    );
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain(
      `warning: ${join(steps, 'prep', '50_tidy.sh')}: ignored; a step file is named NNN_name.sh or NNN_name.mjs`,
    );
  });

  it('refuses an output its configuration cannot make, and a backup method its configuration cannot restore with: exit 2, nothing captured or built', async () => {
    for (const [set, said] of [
      [
        'output.methods=[obdr]',
        /^lifeboat: output obdr: the backup follows the ISO on the tape, so it needs backup\.method netfs and backup\.url tape:\/\/\/dev\/nstN \(backup\.url is not set\)$/m,
      ],
      [
        'backup.method=networker',
        /^lifeboat: backup\.method networker needs networker\.server: the NetWorker server to recover from$/m,
      ],
    ] as const) {
      const box = sandbox();
      const out = join(box.dir, 'media');
      const result = await lifeboat(
        ['mkrescue', '--root', box.dir, '--out', out, ...box.sets, '--set', set],
        { env: box.env },
      );
      expect(result.exitCode, result.all).toBe(2);
      expect(result.stderr).toMatch(said);
      expect(result.stderr).not.toMatch(/\bat .*\.m?js:\d+/);
      // Nothing ran: no build area, no output, no staging area beside it.
      expect(existsSync(join(box.dir, 'work', 'build'))).toBe(false);
      expect(readdirSync(box.dir).filter((n) => n === 'media' || n.includes('.partial-'))).toEqual(
        [],
      );
    }
  });

  it('verify refuses a manifest of a format it does not know, before any work', async () => {
    const box = sandbox();
    const manifest = join(box.dir, 'manifest.json');
    writeFileSync(
      manifest,
      JSON.stringify({ schema: 'lifeboat.build/v9', inputs: {}, artifacts: [] }),
    );
    const result = await lifeboat(['verify', '--manifest', manifest, ...box.sets], {
      env: box.env,
    });
    expect(result.exitCode, result.all).toBe(2);
    expect(result.stderr).toContain(
      `--manifest ${manifest}: a "lifeboat.build/v9" manifest; this version of lifeboat verifies lifeboat.build/v1 manifests`,
    );
    expect(readdirSync(box.dir).filter((n) => n.startsWith('.verify-'))).toEqual([]);
  });

  it('refuses a --root that is missing or a file, before reading anything', async () => {
    const box = sandbox();
    const file = join(box.dir, 'file');
    writeFileSync(file, '');
    for (const [root, said] of [
      [join(box.dir, 'missing'), 'no such directory'],
      [file, 'not a directory'],
    ] as const) {
      for (const command of [['capture', '--out', join(box.dir, 'out')], ['mkbackuponly']]) {
        const result = await lifeboat([...command, '--root', root, ...box.sets], { env: box.env });
        expect(result.exitCode, result.all).toBe(2);
        expect(result.stderr).toContain(`lifeboat: --root ${root}: ${said}`);
      }
    }
    expect(existsSync(join(box.dir, 'out'))).toBe(false);
  });

  it("names a damaged capture bundle's files in show, diff and never calls it clean", async () => {
    const box = sandbox();
    const root = join(box.dir, 'root');
    mkdirSync(join(root, 'etc', 'app'), { recursive: true });
    writeFileSync(join(root, 'etc', 'hostname'), 'small\n');
    writeFileSync(join(root, 'etc', 'app', 'app.conf'), 'setting=1\n');
    const bundle = join(box.dir, 'capture');
    const made = await lifeboat(
      [
        'capture',
        '--root',
        root,
        '--out',
        bundle,
        ...box.sets,
        '--set',
        'rescue.copyAsIs=[/etc/app]',
      ],
      { env: box.env },
    );
    expect(made.exitCode, made.all).toBe(0);
    const capture = JSON.parse(readFileSync(join(bundle, 'capture.json'), 'utf8')) as {
      files: { path: string; sha256?: string }[];
    };
    const sha = capture.files.find((f) => f.path === '/etc/app/app.conf')?.sha256 ?? '';
    writeFileSync(bundleFilePath(bundle, sha), 'tampered\n');

    const show = await lifeboat(['capture', 'show', bundle], { env: box.env });
    expect(show.exitCode).toBe(1);
    expect(show.stdout).not.toContain('Problems: none');
    expect(show.stdout).toContain('1 stored file missing or damaged');
    expect(show.stderr).toContain('/etc/app/app.conf (damaged)');
    expect(show.all).not.toContain('[object Object]');
    const diff = await lifeboat(['capture', 'diff', bundle, bundle], { env: box.env });
    expect(diff.exitCode).toBe(2);
    expect(diff.stderr).toContain(
      '1 stored file(s) are missing or damaged: /etc/app/app.conf (damaged)',
    );
    expect(diff.stdout).not.toMatch(/identical|no change/i);
  });

  it('layoutonly runs through the step engine: a site step is in its plan', async () => {
    const box = sandbox();
    const steps = join(box.dir, 'steps');
    mkdirSync(join(steps, 'recreate'), { recursive: true });
    writeFileSync(join(steps, 'recreate', '050_site_check.sh'), 'true\n');
    const result = await lifeboat(
      ['layoutonly', '--simulate', ...box.sets, '--set', `steps.dirs=[${steps}]`],
      { env: box.env },
    );
    expect(result.exitCode, result.all).toBe(0);
    const plan = result.stdout.split('\n');
    expect(plan[0]).toMatch(/^layoutonly: \d+ step\(s\) would run/);
    const at = (id: string) => plan.findIndex((line) => line.includes(id));
    expect(at('050_site_check')).toBeGreaterThan(at('900_confirm'));
    expect(at('050_site_check')).toBeLessThan(at('100_layout'));
    expect(plan.join('\n')).not.toMatch(/restore|finalize/);
  });
});
