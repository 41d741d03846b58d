import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HostFacts } from '../config/facts.js';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { MemoryLog } from '../log/log.js';
import { mkrescue } from '../workflows/mkrescue.js';
import type { RunState } from './context.js';
import { discoverUserSteps } from './discover.js';
import { formatPlan, planWorkflow } from './plan.js';
import { runPlan } from './run.js';
import type { Step } from './types.js';

const facts: HostFacts = { arch: 'x86_64', osId: 'debian', osIdLike: [], osVersion: '12' };

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-steps-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function stepFile(dir: string, relative: string, text: string): string {
  const path = join(root, dir, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o644);
  return path;
}

function builtin(
  stage: string,
  order: number,
  name: string,
  run: Step['run'] = async () => {},
): Step {
  return { stage, order, name, origin: 'built-in', when: {}, run };
}

async function setup(options: { sets?: string[]; configFile?: string } = {}) {
  const effective = await loadConfig({
    configDir: join(root, 'no-etc'),
    cwd: root,
    facts,
    env: {},
    sets: options.sets ?? [],
    configFiles: options.configFile ? [options.configFile] : [],
  });
  const log = new MemoryLog();
  const build = join(root, 'build');
  mkdirSync(build, { recursive: true });
  const state: RunState = {
    workflow: 'mkrescue',
    effective,
    dirs: {
      config: join(root, 'no-etc'),
      share: '/usr/share/lifeboat',
      build,
      rootfs: join(build, 'rootfs'),
      host: '/',
    },
    log,
    vars: new Map(),
    results: new Map(),
    signal: new AbortController().signal,
  };
  return { effective, log, state };
}

function discover(...dirs: string[]) {
  return discoverUserSteps(dirs.map((d) => ({ dir: join(root, d), required: true })));
}

describe('plan', () => {
  it('merges steps from all directories and runs them by number, then name', async () => {
    stepFile('a', 'prep/020_b.sh', 'true\n');
    stepFile('a', 'build/100_rootfs.sh', 'true\n');
    stepFile('b', 'prep/010_a.mjs', 'export default () => {};\n');
    stepFile('b', 'prep/020_a.sh', 'true\n');
    stepFile('b', 'prep/020_B.sh', 'true\n');
    const { effective } = await setup();
    const user = discover('a', 'b');
    expect(user.warnings).toEqual([]);
    const plan = planWorkflow(
      mkrescue,
      [[builtin('prep', 15, 'workdir')], user.steps],
      facts,
      effective.config,
    );
    const prep = plan.stages.find((s) => s.stage === 'prep');
    expect(
      prep?.steps.map((s) => `${s.order}_${s.name}@${s.origin.replace(`${root}/`, '')}`),
    ).toEqual([
      '10_a@b/prep/010_a.mjs',
      '15_workdir@built-in',
      '20_B@b/prep/020_B.sh', // byte order: upper case sorts before lower case
      '20_a@b/prep/020_a.sh',
      '20_b@a/prep/020_b.sh',
    ]);
    expect(plan.stages.find((s) => s.stage === 'build')?.steps).toHaveLength(1);
  });

  it('lets a user step replace a built-in step of the same stage, number and name', async () => {
    const path = stepFile('a', 'prep/050_builder_image.sh', 'true\n');
    const { effective } = await setup();
    const plan = planWorkflow(
      mkrescue,
      [[builtin('prep', 50, 'builder_image')], discover('a').steps],
      facts,
      effective.config,
    );
    const [step] = plan.stages[0]?.steps ?? [];
    expect(step).toMatchObject({ origin: path, replaces: 'built-in' });
  });

  it('keeps steps whose conditions do not match out of the run', async () => {
    stepFile('a', 'output/400_pxe.sh', '#!/bin/bash\n# lifeboat-when: output=pxe\ntrue\n');
    stepFile(
      'a',
      'output/410_iso_debian.sh',
      '# lifeboat-when: output=iso,usb os=debian osVersion=12\ntrue\n',
    );
    stepFile(
      'a',
      'output/420_arm.mjs',
      '// lifeboat-when: arch=aarch64\nexport default () => {};\n',
    );
    const { effective } = await setup();
    const plan = planWorkflow(mkrescue, [discover('a').steps], facts, effective.config);
    const output = plan.stages.find((s) => s.stage === 'output');
    expect(output?.steps.map((s) => s.name)).toEqual(['iso_debian']);
    expect(output?.notApplicable.map((s) => s.name)).toEqual(['pxe', 'arm']);

    const { effective: pxe } = await setup({ sets: ['output.methods=[pxe]'] });
    const planPxe = planWorkflow(mkrescue, [discover('a').steps], facts, pxe.config);
    expect(planPxe.stages.find((s) => s.stage === 'output')?.steps.map((s) => s.name)).toEqual([
      'pxe',
    ]);
  });

  it('refuses a condition header it does not understand, naming file and line', () => {
    const path = stepFile('a', 'prep/100_x.sh', '#!/bin/bash\n# lifeboat-when: ouput=iso\n');
    expect(() => discover('a')).toThrow(UsageError);
    expect(() => discover('a')).toThrow(
      `${path}:2: lifeboat-when: "ouput=iso" is not KEY=VALUE[,VALUE...] with KEY one of arch, os, osVersion, backup, output, workflow (did you mean "output"?)`,
    );
  });

  it('warns about files and directories that would never run', () => {
    stepFile('a', 'prep/10_short.sh', 'true\n');
    stepFile('a', 'prep/README', 'notes\n');
    stepFile('a', 'bulid/100_x.sh', 'true\n');
    const { steps, warnings } = discover('a', 'missing');
    expect(steps).toEqual([]);
    expect(warnings).toEqual([
      `${join(root, 'a', 'bulid')}: not a stage, its steps never run (did you mean "build"?); stages: prep, capture, build, pack, output, backup, cleanup, config, verify, recreate, restore, finalize, wrapup`,
      `${join(root, 'a', 'prep', '10_short.sh')}: ignored; a step file is named NNN_name.sh or NNN_name.mjs (NNN: three digits)`,
      `${join(root, 'a', 'prep', 'README')}: ignored; a step file is named NNN_name.sh or NNN_name.mjs (NNN: three digits)`,
      `step directory ${join(root, 'missing')} does not exist (named in steps.dirs)`,
    ]);
  });

  it('--simulate prints stage, number, name and origin in run order', async () => {
    const pxe = stepFile('a', 'output/400_pxe.sh', '# lifeboat-when: output=pxe\n');
    const site = stepFile('a', 'prep/050_builder_image.sh', 'true\n');
    const { effective } = await setup();
    const plan = planWorkflow(
      mkrescue,
      [
        [
          builtin('prep', 10, 'build_area'),
          builtin('prep', 50, 'builder_image'),
          builtin('cleanup', 990, 'remove_build_area'),
        ],
        discover('a').steps,
      ],
      facts,
      effective.config,
    );
    expect(formatPlan(plan)).toBe(
      [
        'mkrescue: 3 step(s) would run, in this order (--simulate: nothing was run)',
        `  prep     010_build_area         built-in`,
        `  prep     050_builder_image      ${site}  replaces built-in`,
        `  cleanup  990_remove_build_area  built-in${' '.repeat(site.length - 'built-in'.length)}  runs even after a failure`,
        'not applicable to this host and configuration:',
        `  output  400_pxe  ${pxe}  needs output=pxe`,
        '',
      ].join('\n'),
    );
  });
});

describe('running steps', () => {
  it('gives shell steps the context and takes back what they set', async () => {
    const out = join(root, 'seen');
    stepFile(
      'a',
      'prep/010_first.sh',
      [
        `printf '%s|%s|%s|%s|%s\\n' "$STAGE" "$WORKFLOW" "$BUILD_DIR" "$OS_FAMILY" "$PWD" >"${out}"`,
        `echo 'PROGS+=curl' >>"$LIFEBOAT_SET"`,
        `echo 'MY_DISK=/dev/vdb' >>"$LIFEBOAT_SET"`,
        `echo 'rescue.packages+=[jq, mc]' >>"$LIFEBOAT_SET"`,
      ].join('\n'),
    );
    stepFile(
      'a',
      'build/020_second.sh',
      [
        `printf '%s\\n' "$PROGS" >>"${out}"`,
        `printf '%s|%s\\n' "$MY_DISK" "$OUTPUT" >>"${out}"`,
      ].join('\n'),
    );
    stepFile(
      'a',
      'build/030_third.mjs',
      [
        'export default async (ctx) => {',
        '  ctx.set(`MY_DISK=${ctx.vars.get("MY_DISK")}2`, "030_third");',
        '  ctx.output(`packages ${ctx.config.rescue.packages.join(",")}`);',
        '};',
      ].join('\n'),
    );
    const { effective, state } = await setup({ sets: ['rescue.programs=[mc]'] });
    const plan = planWorkflow(mkrescue, [discover('a').steps], facts, effective.config);
    await runPlan(plan, state, 'silent');

    expect(readFileSync(out, 'utf8')).toBe(
      `prep|mkrescue|${state.dirs.build}|debian|${state.dirs.build}\nmc\ncurl\n/dev/vdb|iso\n`,
    );
    expect(effective.config.rescue.programs).toEqual(['mc', 'curl']);
    expect(effective.config.rescue.packages).toEqual(['jq', 'mc']);
    expect(effective.origins.get('rescue.programs')?.at(-1)).toEqual({
      layer: 'step',
      source: `${join(root, 'a', 'prep', '010_first.sh')} ($LIFEBOAT_SET line 1)`,
    });
    expect(state.vars.get('MY_DISK')).toBe('/dev/vdb2');
    expect((state.log as MemoryLog).lines.map((l) => l.message)).toContain(
      '  030_third: packages jq,mc',
    );
  });

  it('stops at a failing step, still runs cleanup, and names the step, its file and exit code', async () => {
    const ran = join(root, 'ran');
    const failing = stepFile(
      'a',
      'build/200_fails.sh',
      `echo 'about to fail'\nfalse\necho never >>"${ran}"\n`,
    );
    stepFile('a', 'pack/300_after.sh', `echo after >>"${ran}"\n`);
    stepFile('a', 'cleanup/990_tidy.sh', `echo cleanup >>"${ran}"\n`);
    const { effective, state } = await setup();
    const plan = planWorkflow(mkrescue, [discover('a').steps], facts, effective.config);
    const error = await runPlan(plan, state, 'silent').catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `step build/200_fails failed (${failing}): ${failing} exited with code 1`,
    );
    expect((error as { exitCode: number }).exitCode).toBe(1);
    expect(readFileSync(ran, 'utf8')).toBe('cleanup\n');
    expect((state.log as MemoryLog).lines.map((l) => l.message)).toContain(
      '  200_fails: about to fail',
    );
  });

  it('refuses a step that sets a read-only variable or an invalid value', async () => {
    stepFile('a', 'prep/010_sneaky.sh', `echo 'BUILD_DIR=/' >>"$LIFEBOAT_SET"\n`);
    const { effective, state } = await setup();
    const plan = planWorkflow(mkrescue, [discover('a').steps], facts, effective.config);
    await expect(runPlan(plan, state, 'silent')).rejects.toThrow(
      /BUILD_DIR is read-only; steps cannot change it$/,
    );

    const bad = stepFile('b', 'prep/010_bad.sh', `echo 'BACKUP=nfs' >>"$LIFEBOAT_SET"\n`);
    const second = await setup();
    const plan2 = planWorkflow(mkrescue, [discover('b').steps], facts, second.effective.config);
    await expect(runPlan(plan2, second.state, 'silent')).rejects.toThrow(
      `${bad} ($LIFEBOAT_SET line 1): backup.method: expected one of "netfs", "rsync", "restic", "tsm", "networker", "external", "requestrestore", "none", got "nfs"`,
    );
  });

  it('never hands a secret to a shell step', async () => {
    const out = join(root, 'env');
    stepFile('a', 'prep/010_env.sh', `env >"${out}"\ncat "$LIFEBOAT_CONFIG" >>"${out}"\n`);
    const { effective, state } = await setup({
      sets: ['backup.encryptionKey=s3cret-key-value', 'ssh.rootPasswordHash=$6$abc$defghijk'],
    });
    const plan = planWorkflow(mkrescue, [discover('a').steps], facts, effective.config);
    await runPlan(plan, state, 'silent');
    const seen = readFileSync(out, 'utf8');
    expect(seen).toContain('"encryptionKey": "<redacted>"');
    expect(seen).not.toContain('s3cret-key-value');
    expect(seen).not.toContain('$6$abc$defghijk');
    expect(seen).toMatch(/^BACKUP_URL=$/m);
  });
});
