import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { BackupMethod, BackupRecord } from '../../backup/method.js';
import { backupMethodFor } from '../../backup/methods.js';
import type { Config } from '../../config/schema.js';
import { JobError } from '../../errors.js';
import {
  type LayoutPlan,
  type LuksKeyFile,
  luksKeyFile,
  planDisks,
  runDisks,
} from '../../layout/plan.js';
import { readLayout } from '../../layout/store.js';
import {
  bootloaderId,
  grubTargets,
  osReleaseId,
  reinstallGrub,
} from '../../recover/finalize-grub.js';
import { rewriteDeviceFiles } from '../../recover/finalize-ids.js';
import { regenerateInitramfs } from '../../recover/finalize-initramfs.js';
import {
  bindKernelFilesystems,
  bootedByUefi,
  unbindKernelFilesystems,
} from '../../recover/finalize-mounts.js';
import { runHooks } from '../../recover/hooks.js';
import { backupHostname, mediumCapture } from '../../recover/host.js';
import { decideInitramfs } from '../../recover/initramfs-decision.js';
import { initramfsFacts } from '../../recover/initramfs-facts.js';
import {
  BACKUP_METHOD,
  LAYOUT_PLAN,
  RECOVER_REQUEST,
  RECOVER_STATE,
  type RecoverRequest,
  VERIFIED_BACKUP,
} from '../../recover/request.js';
import { waitForRescueStart } from '../../recover/rescue-start.js';
import { flagSelinuxRelabel, restoreBackup } from '../../recover/restore.js';
import { continueState, type RecoverState, readState, writeState } from '../../recover/state.js';
import { checkTarget, verifyBackup } from '../../recover/verify.js';
import { copyLogInto, unmountTarget } from '../../recover/wrapup.js';
import type { Step, StepContext } from '../../steps/types.js';

/**
 * The built-in steps of recover, restoreonly and the rehearsal (recover --into DIR). Each stage
 * ends with a step that records it as done in the recover state; a step that does not apply to
 * the run's mode says so and does nothing (steps have no workflow condition: the mode is the
 * run's, not the host's). Nothing writes to a disk before the verify stage has ended.
 */
const BACKUP_CONFIG = 'recover.config';
const LUKS_KEY_FILE = 'recover.luksKeyFile';
const EARLIER_REHEARSAL = 'recover.earlierRehearsal';

function step(
  stage: string,
  order: number,
  name: string,
  run: (ctx: StepContext, request: RecoverRequest) => Promise<void>,
): Step {
  return {
    stage,
    order,
    name,
    origin: 'built-in',
    when: {},
    run: async (ctx) => {
      const request = ctx.results.get(RECOVER_REQUEST) as RecoverRequest | undefined;
      if (!request) throw new JobError(`${name}: this step runs only in lifeboat recover`);
      await run(ctx, request);
    },
  };
}

export function stateFile(workDir: string): string {
  return join(workDir, 'state.json');
}

function stateOf(ctx: StepContext): RecoverState {
  return ctx.results.get(RECOVER_STATE) as RecoverState;
}

/** The environment hooks see: the target and the run. */
function hookEnv(ctx: StepContext, request: RecoverRequest): Record<string, string> {
  return {
    LIFEBOAT_TARGET: request.target,
    // ReaR's name for it: a PRE/POST_RECOVERY_SCRIPT imported from ReaR runs as it did there.
    TARGET_FS_ROOT: request.target,
    LIFEBOAT_WORKFLOW: ctx.workflow,
    LIFEBOAT_MODE: request.mode,
    LIFEBOAT_UNATTENDED: request.unattended ? '1' : '0',
  };
}

/** Removes the LUKS passphrase file recover wrote (from layout.luksKey or a prompt). */
async function forgetLuksKey(ctx: StepContext): Promise<void> {
  const key = ctx.results.get(LUKS_KEY_FILE) as LuksKeyFile | undefined;
  if (key?.written) await rm(key.file, { force: true });
}

function stageDone(stage: string): Step {
  return step(stage, 999, `${stage}_done`, async (ctx, request) => {
    const state = stateOf(ctx);
    state.done[stage] = new Date().toISOString();
    await writeState(stateFile(request.workDir), state);
  });
}

/** Modes that restore a whole system and make it bootable. */
const finalizes = (request: RecoverRequest) =>
  request.mode === 'recover' || request.mode === 'restoreonly';
/** Modes that recreate the disk layout. */
const recreates = (request: RecoverRequest) =>
  request.mode === 'recover' || request.mode === 'layoutonly';
const command = (request: RecoverRequest) =>
  request.mode === 'layoutonly' ? 'layoutonly' : 'recover';

export const RECOVER_STEPS: Step[] = [
  // --- config ----------------------------------------------------------------------------------
  // The rescue system says ready before its network and the captured modules are up.
  step('config', 5, 'rescue_started', async (ctx) => {
    const waited = await waitForRescueStart(ctx.log);
    if (waited > 0)
      ctx.output(`waited ${waited.toFixed(1)} s for the rescue system to finish starting`);
  }),
  step('config', 10, 'recover_state', async (ctx, request) => {
    const file = stateFile(request.workDir);
    const earlier = await readState(file);
    // The directory the last rehearsal restored into may be restored into again (verify/target).
    if (earlier?.mode === 'rehearsal') ctx.results.set(EARLIER_REHEARSAL, earlier.target);
    const { state, rerun } = continueState(earlier, request.mode, request.target, new Date());
    if (rerun) ctx.log.info(rerun);
    ctx.results.set(RECOVER_STATE, state);
    await writeState(file, state);
    ctx.output(`${request.mode} onto ${request.target}${request.unattended ? ', unattended' : ''}`);
  }),
  step('config', 900, 'pre_scripts', async (ctx, request) => {
    const ran = await runHooks(
      'preScripts',
      ctx.config.recovery.preScripts,
      hookEnv(ctx, request),
      ctx.log,
    );
    if (ran > 0) ctx.output(`${ran} recovery.preScripts ran`);
  }),
  stageDone('config'),

  // --- verify: reads only ----------------------------------------------------------------------
  step('verify', 100, 'target', async (ctx, request) => {
    ctx.output(checkTarget(request, ctx.results.get(EARLIER_REHEARSAL) as string | undefined));
  }),
  step('verify', 200, 'backup', async (ctx, request) => {
    if (request.mode === 'layoutonly') return;
    const capture = mediumCapture();
    const { method, backup, config } = await verifyBackup(
      ctx.config,
      request,
      backupHostname(capture),
      ctx.log,
    );
    ctx.results.set(BACKUP_METHOD, method);
    ctx.results.set(VERIFIED_BACKUP, backup);
    ctx.results.set(BACKUP_CONFIG, config);
    const state = stateOf(ctx);
    if (state.backupId !== undefined && state.backupId !== backup.id)
      ctx.log.warn(
        `the earlier run restored backup ${state.backupId}; this one restores ${backup.id}`,
      );
    state.backupId = backup.id;
    ctx.output(
      `backup ${backup.id} of ${backup.hostname} at ${backup.where} (${backup.summary}): verified`,
    );
  }),
  step('verify', 300, 'disks', async (ctx, request) => {
    if (!recreates(request)) return;
    const layout = await readLayout(request.layoutFile);
    const key = await luksKeyFile(layout, {
      ...(request.luksKeyFile ? { luksKeyFile: request.luksKeyFile } : {}),
      ...(ctx.config.layout.luksKey ? { luksKey: ctx.config.layout.luksKey } : {}),
      unattended: request.unattended,
      askSecret: request.askSecret,
      workDir: request.workDir,
      log: ctx.log,
    });
    if (key) ctx.results.set(LUKS_KEY_FILE, key);
    const plan = await planDisks({
      command: command(request),
      layout,
      target: request.target,
      workDir: request.workDir,
      exclude: ctx.config.layout.exclude,
      autoExcludeDisks: ctx.config.layout.autoExcludeDisks,
      unattended: request.unattended,
      ...(request.diskMapping ? { diskMapping: request.diskMapping } : {}),
      ...(key ? { luksKeyFile: key.file } : {}),
      protectedDevices:
        backupMethodFor(ctx.config, 'rescue')?.protectedDevices(ctx.config, ctx.log) ?? [],
      log: ctx.log,
    });
    ctx.results.set(LAYOUT_PLAN, plan);
    ctx.output(
      `${plan.components} component(s) to recreate on ${plan.disks}; script ${plan.recreate}`,
    );
  }),
  step('verify', 900, 'confirm', async (ctx, request) => {
    const plan = ctx.results.get(LAYOUT_PLAN) as LayoutPlan | undefined;
    if (request.unattended || plan === undefined) return;
    if (request.edit)
      await execa(process.env.EDITOR ?? 'vi', [plan.recreate], { stdio: 'inherit' });
    const yes = await request.confirm(
      request.mode === 'layoutonly'
        ? `This wipes and recreates ${plan.disks} as the layout says (the script is ${plan.recreate}). Go on?`
        : `This wipes and recreates ${plan.disks} (the script is ${plan.recreate}), then restores the backup onto it. Go on?`,
    );
    if (!yes) {
      await forgetLuksKey(ctx);
      throw new JobError(`${command(request)}: stopped before touching any disk, as asked`);
    }
  }),
  stageDone('verify'),

  // --- recreate ----------------------------------------------------------------------------------
  step('recreate', 100, 'layout', async (ctx, request) => {
    const plan = ctx.results.get(LAYOUT_PLAN) as LayoutPlan | undefined;
    if (!recreates(request) || plan === undefined) return;
    const key = ctx.results.get(LUKS_KEY_FILE) as LuksKeyFile | undefined;
    try {
      await runDisks(plan, {
        command: command(request),
        unattended: request.unattended,
        ...(key ? { luksKeyFile: key.file } : {}),
        log: ctx.log,
      });
    } finally {
      // The volumes are open now (or the run stops here): nothing later needs the passphrase.
      await forgetLuksKey(ctx);
    }
    ctx.output(`recreated and mounted under ${request.target}`);
  }),
  stageDone('recreate'),

  // --- restore -----------------------------------------------------------------------------------
  step('restore', 100, 'backup', async (ctx, request) => {
    const backup = ctx.results.get(VERIFIED_BACKUP) as BackupRecord;
    const result = await restoreBackup({
      method: ctx.results.get(BACKUP_METHOD) as BackupMethod,
      backup,
      config: ctx.results.get(BACKUP_CONFIG) as Config,
      target: request.target,
      log: ctx.log,
      signal: ctx.signal,
    });
    // The restore put the backup's own fstab back: its device names need rewriting again.
    delete stateOf(ctx).done['finalize/device_names'];
    ctx.output(
      `${result.entries} entries, ${result.bytes} bytes in ${result.seconds.toFixed(1)} s into ${request.target}`,
    );
  }),
  step('restore', 200, 'selinux_relabel', async (ctx, request) => {
    if (!finalizes(request)) return;
    const backup = ctx.results.get(VERIFIED_BACKUP) as BackupRecord;
    if (await flagSelinuxRelabel(backup, request.target))
      ctx.output(`SELinux: ${request.target}/.autorelabel set, the first boot relabels`);
  }),
  stageDone('restore'),

  // --- finalize ----------------------------------------------------------------------------------
  step('finalize', 100, 'bind_mounts', async (ctx, request) => {
    if (!finalizes(request)) return;
    const made = await bindKernelFilesystems(request.target, ctx.log);
    ctx.output(made.length > 0 ? `bound ${made.join(', ')}` : 'bound already');
  }),
  step('finalize', 200, 'device_names', async (ctx, request) => {
    const plan = ctx.results.get(LAYOUT_PLAN) as LayoutPlan | undefined;
    if (!finalizes(request) || plan === undefined || plan.renames.size === 0) return;
    const state = stateOf(ctx);
    // Twice would undo a swap (/dev/sda ↔ /dev/sdb): once per restore.
    if (state.done['finalize/device_names'] !== undefined) {
      ctx.output('device names rewritten already after the last restore');
      return;
    }
    const changed = await rewriteDeviceFiles(request.target, plan.renames);
    state.done['finalize/device_names'] = new Date().toISOString();
    await writeState(stateFile(request.workDir), state);
    ctx.output(
      changed.length > 0
        ? `device names rewritten: ${changed.map((c) => `${c.file} (${c.names})`).join(', ')}`
        : 'no file names a renamed device (UUIDs need nothing)',
    );
  }),
  step('finalize', 300, 'initramfs', async (ctx, request) => {
    if (!finalizes(request)) return;
    const plan = ctx.results.get(LAYOUT_PLAN) as LayoutPlan | undefined;
    const facts = await initramfsFacts({
      root: request.target,
      ...(plan ? { plan, captured: await readLayout(request.layoutFile) } : {}),
      capture: mediumCapture(),
    });
    const decision = decideInitramfs(ctx.config.recovery.regenerateInitramfs, facts);
    ctx.log.debug(
      `initramfs: drivers here ${facts.drivers.uses.map((u) => `${u.device}: ${u.module}`).join(', ') || 'none as modules'}`,
    );
    ctx.output(
      decision.regenerate
        ? await regenerateInitramfs(
            request.target,
            ctx.config.recovery.initramfsTool,
            decision.because,
            ctx.log,
          )
        : `initramfs kept: ${decision.because}`,
    );
  }),
  step('finalize', 400, 'bootloader', async (ctx, request) => {
    if (!finalizes(request)) return;
    const plan = ctx.results.get(LAYOUT_PLAN) as LayoutPlan | undefined;
    const capture = mediumCapture();
    const layout = plan?.layout ?? capture?.layout ?? undefined;
    if (layout === undefined) {
      ctx.log.warn(
        'finalize: no layout, so no bootloader target is known; GRUB was not reinstalled',
      );
      return;
    }
    const done = await reinstallGrub({
      root: request.target,
      targets: grubTargets(layout, capture?.bootloader.esp?.mountPoint),
      id: bootloaderId(capture?.bootloader.efi, osReleaseId(request.target)),
      uefiBooted: bootedByUefi(),
      log: ctx.log,
    });
    for (const line of done) ctx.output(line);
  }),
  step('finalize', 900, 'unbind_mounts', async (ctx, request) => {
    if (!finalizes(request)) return;
    await unbindKernelFilesystems(request.target, ctx.log);
  }),
  stageDone('finalize'),

  // --- wrapup ------------------------------------------------------------------------------------
  step('wrapup', 100, 'post_scripts', async (ctx, request) => {
    const ran = await runHooks(
      'postScripts',
      ctx.config.recovery.postScripts,
      hookEnv(ctx, request),
      ctx.log,
    );
    if (ran > 0) ctx.output(`${ran} recovery.postScripts ran`);
  }),
  step('wrapup', 800, 'copy_log', async (ctx, request) => {
    if (!finalizes(request)) return;
    const copy = await copyLogInto(request.target, ctx.log);
    if (copy) ctx.output(`log copied to ${copy}`);
  }),
  step('wrapup', 900, 'unmount', async (ctx, request) => {
    if (request.mode !== 'recover') return;
    const count = await unmountTarget(request.target, ctx.log);
    ctx.output(`${count} file system(s) unmounted from ${request.target}`);
  }),
  stageDone('wrapup'),
];
