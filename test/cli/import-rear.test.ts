import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, expect, it } from 'vitest';
import { lifeboat, sandbox } from '../support/cli.js';
import { describeTier, hostMissing } from '../support/tiers.js';

/**
 * `lifeboat import-rear` on ReaR's own example configurations, as Debian ships them in its rear
 * package (usr/share/doc/rear/examples): every one imported, each line that sets something either
 * imported or named with the reason, and the result a configuration lifeboat accepts.
 */
describeTier('host', hostMissing())("import-rear on ReaR's shipped examples", () => {
  const box = sandbox();
  const examples = join(box.dir, 'rear', 'usr', 'share', 'doc', 'rear', 'examples');
  let files: string[];

  beforeAll(async () => {
    const debs = join(box.dir, 'debs');
    mkdirSync(debs);
    await execa('apt-get', ['download', 'rear'], { cwd: debs });
    const [deb] = readdirSync(debs);
    await execa('dpkg-deb', ['-x', join(debs, deb ?? 'none'), join(box.dir, 'rear')]);
    files = readdirSync(examples).filter((f) => f.endsWith('.conf'));
  }, 120_000);

  it('imports every example, accounting for each line that sets something', async () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const example of files) {
      const etc = join(box.dir, 'etc-rear', example);
      mkdirSync(etc, { recursive: true });
      copyFileSync(join(examples, example), join(etc, 'local.conf'));
      const out = join(box.dir, `${example}.yaml`);
      const result = await lifeboat(['import-rear', '--from', etc, '--out', out], {
        env: box.env,
      });
      expect(result.exitCode, `${example}: ${result.all}`).toBe(0);
      expect(statSync(out).mode & 0o777).toBe(0o600);
      // Every line that starts a statement (not a comment, not inside an array) is accounted.
      const report = result.stdout;
      const lines = readFileSync(join(etc, 'local.conf'), 'utf8').split('\n');
      lines.forEach((text, i) => {
        if (!/^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\+?=/.test(text)) return;
        const name = /([A-Za-z_][A-Za-z0-9_]*)\+?=/.exec(text)?.[1] ?? '';
        const place = `local.conf:${i + 1}`;
        // A row for the variable (set here or later), or this line among those not imported.
        const accounted =
          report.includes(`${place}: `) || new RegExp(`^${name}\\s`, 'm').test(report);
        expect(accounted, `${example} line ${i + 1} (${text.trim()})`).toBe(true);
      });
      const dump = await lifeboat(['--config', out, 'dump'], { env: box.env });
      expect(dump.exitCode, `${example}: ${dump.all}`).toBe(0);
    }
  });

  it('turns the NFS example into what it says', async () => {
    const out = readFileSync(join(box.dir, 'SLE11-ext3-example.conf.yaml'), 'utf8');
    expect(out).toMatch(/^ {2}method: netfs$/m);
    expect(out).toMatch(/^ {2}url: nfs:\/\/your\.NFS\.server\.IP\/path\/to\/your\/rear\/backup$/m);
    expect(out).toMatch(/^ {2}mountOptions: nfsvers=3,nolock$/m);
  });

  it('points --config local.conf at import-rear', async () => {
    const conf = join(box.dir, 'etc-rear', 'SLE11-ext3-example.conf', 'local.conf');
    const result = await lifeboat(['--config', conf, 'dump'], { env: box.env });
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('lifeboat import-rear --from');
  });
});
