import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bootInQemu } from '../../src/boot/qemu.js';
import { lifeboat, sandbox } from '../support/cli.js';
import { debianFixture } from '../support/fixtures.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * rescue.packages as a user sees it: a recipe adds Debian packages the protected host does not
 * have (jq, nvme-cli), the example host is captured and its RAMDISK media built with that recipe,
 * and the booted rescue system runs both programs. The packages come from the builder's
 * distribution, not the host, so the host root must lack them for this to prove anything.
 */
const PACKAGES = ['jq', 'nvme-cli'];
/** The programs of PACKAGES, by their path on a Debian root. */
const PROGRAMS = ['/usr/bin/jq', '/usr/sbin/nvme'];

const engineWhy = await engineMissing();
const fixture = await debianFixture();
const fixtureWhy = 'missing' in fixture ? fixture.missing : undefined;
const fixtureRoot = 'root' in fixture ? fixture.root : '';

const box = sandbox();
const out = join(box.dir, 'media');

afterAll(() => {
  rmSync(box.dir, { recursive: true, force: true });
});

/** Captures the example host and builds its RAMDISK media with a recipe that adds PACKAGES. */
async function buildWithRecipe(): Promise<void> {
  const capture = join(box.dir, 'capture');
  const captured = await lifeboat(
    ['capture', '--root', fixtureRoot, '--out', capture, ...box.sets, '--quiet'],
    { env: box.env },
  );
  if (captured.exitCode !== 0) throw new Error(`lifeboat capture failed:\n${captured.all}`);
  const recipe = join(box.dir, 'tools.yaml');
  writeFileSync(
    recipe,
    [
      'name: tools',
      'description: The example host plus tools it does not have.',
      'output:',
      '  methods: [ramdisk]',
      'rescue:',
      `  packages: [${PACKAGES.join(', ')}]`,
      '',
    ].join('\n'),
  );
  const built = await lifeboat(
    ['build', '--capture', capture, '--recipe', recipe, '--out', out, ...box.sets],
    { env: box.env },
  );
  if (built.exitCode !== 0) throw new Error(`lifeboat build failed:\n${built.all}`);
}

/**
 * The one line typed in the rescue system: each program's output and exit code, on one line the
 * answer regex matches. The marker is split with "" so the console's echo of the command never
 * passes for its answer; only nvme's first line is kept (newer versions add libnvme's).
 */
const RUN_TOOLS = [
  `j=$(echo '{"a":[1,2]}' | jq -c '.a|length' 2>&1); jr=$?`,
  'n=$(nvme version 2>&1); nr=$?',
  `echo "tools""-ran: jq=[$j] jq_rc=$jr nvme=[\${n%%$'\\n'*}] nvme_rc=$nr"`,
].join('; ');
const TOOLS_RAN = /^tools-ran: /;

describeTier('boot', engineWhy ?? fixtureWhy ?? qemuMissing())(
  'rescue.packages in the booted rescue system (QEMU)',
  () => {
    // The build may also make the builder image and the image with the packages (minutes, once
    // per machine): it is waited for here, so that the boot test's timeout is for the boot.
    beforeAll(async () => {
      await buildWithRecipe();
    }, 20 * 60_000);

    it('the example host has none of the programs the recipe adds', () => {
      for (const program of PROGRAMS) {
        expect(existsSync(join(fixtureRoot, program)), `${program} on the host`).toBe(false);
      }
    });

    it('jq and nvme from the recipe run in the rescue system', async () => {
      const result = await bootInQemu({
        firmware: 'bios',
        medium: {
          kind: 'kernel',
          kernel: join(out, 'vmlinuz'),
          initrd: join(out, 'initrd.img'),
          append: readFileSync(join(out, 'cmdline.txt'), 'utf8').trim(),
        },
        ready: /^lifeboat-rescue: ready/,
        commands: [{ send: RUN_TOOLS, expect: TOOLS_RAN }],
        timeoutMs: 360_000,
      });
      const tail = result.transcript.slice(-3000);
      expect(result.ready, `no ready line; the console said:\n${tail}`).toBe(true);
      const answer = result.answers[0];
      expect(answer, `the tools did not answer; the console said:\n${tail}`).toBeDefined();
      expect(answer).toMatch(/ jq=\[2\] jq_rc=0 /);
      expect(answer).toMatch(/ nvme=\[nvme version \d+\.\d+[^\]]*\] nvme_rc=0$/);
    }, 420_000);
  },
);
