import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilderImage } from '../../src/engine/builder-image.js';
import { removeTrackedContainers, withContainer } from '../../src/engine/container.js';
import { connectEngine, type Engine } from '../../src/engine/engine.js';
import { MemoryLog } from '../../src/log/log.js';
import { IMAGES_DIR } from '../../src/paths.js';
import { describeTier, engineMissing } from '../support/tiers.js';

/**
 * steps/rescue-packages: a recipe's extra Debian packages go into the rescue base. It runs where
 * nothing can be mounted (docker build, or a plain container as here), and the package lists
 * come from the Debian mirror.
 */
const BASE_IMAGE = 'lifeboat-base/debian:bookworm';
const STEP = '/usr/lib/lifeboat/rescue-packages';
const BASE = '/opt/lifeboat/rescue-base';

describeTier('engine', await engineMissing())('rescue-packages (builder container)', () => {
  let engine: Engine;
  let builder: string;
  const log = new MemoryLog();

  beforeAll(async () => {
    engine = connectEngine();
    const image = await ensureBuilderImage({
      engine,
      imagesDir: IMAGES_DIR,
      name: 'debian-bookworm',
      baseImage: BASE_IMAGE,
      log,
    });
    builder = image.tag;
  }, 30 * 60_000);

  afterAll(async () => {
    await removeTrackedContainers();
  });

  it('refuses what is not a package name before touching anything', async () => {
    await withContainer({ engine, image: builder, log }, async (c) => {
      const result = await c.exec([STEP, 'install', '--option=Dir::Etc=/tmp']);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim()).toBe(
        "rescue-packages: '--option=Dir::Etc=/tmp' is not a Debian package name",
      );
    });
  });

  it(
    'names a package the distribution lacks in one line, installs nothing',
    async () => {
      await withContainer({ engine, image: builder, log }, async (c) => {
        const result = await c.exec([STEP, 'install', 'jq', 'lifeboat-no-such-package'], {
          timeoutMs: 5 * 60_000,
        });
        expect(result.exitCode).toBe(1);
        const named = result.stderr
          .split('\n')
          .filter((l) => l.includes('lifeboat-no-such-package'));
        expect(named).toEqual([
          "rescue-packages: debian bookworm has no package 'lifeboat-no-such-package' (a recipe's packages come from the builder's distribution)",
        ]);
        const jq = await c.exec(['test', '-e', `${BASE}/usr/bin/jq`]);
        expect(jq.exitCode).toBe(1);
      });
    },
    6 * 60_000,
  );

  it(
    'installs a package into the rescue base and leaves no lists, caches or resolv.conf',
    async () => {
      await withContainer({ engine, image: builder, log }, async (c) => {
        const result = await c.exec([STEP, 'install', 'jq'], { timeoutMs: 5 * 60_000 });
        expect(result.exitCode, result.stderr).toBe(0);
        const after = await c.exec([
          'bash',
          '-c',
          `chroot ${BASE} jq --version; ls -A ${BASE}/var/lib/apt/lists ${BASE}/var/cache/apt/archives; ls ${BASE}/etc/resolv.conf ${BASE}/usr/sbin/policy-rc.d ${BASE}/usr/share/man/man1/jq.1.gz 2>&1 | grep -c 'No such file'`,
        ]);
        const lines = after.stdout.trim().split('\n');
        expect(lines[0]).toMatch(/^jq-1\./);
        // The lists are gone; archives keeps only apt's own partial/ and lock.
        expect(lines.slice(1, -1).every((l) => /^(partial|lock|\S+:)?$/.test(l))).toBe(true);
        expect(lines.at(-1)).toBe('3');
      });
    },
    6 * 60_000,
  );
});
