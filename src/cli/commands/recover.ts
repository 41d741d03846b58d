import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { errorMessage, UsageError } from '../../errors.js';
import { parseDiskMapping } from '../../layout/migrate.js';
import { MEDIUM_LAYOUT, SAVED_LAYOUT } from '../../layout/store.js';
import { configDir, PACKAGE_ROOT } from '../../paths.js';
import { unbindKernelFilesystems } from '../../recover/finalize-mounts.js';
import { backupHostname, mediumCapture } from '../../recover/host.js';
import { notify } from '../../recover/notify.js';
import {
  RECOVER_REQUEST,
  RECOVER_STATE,
  type RecoverMode,
  type RecoverRequest,
} from '../../recover/request.js';
import { type RecoverState, writeState } from '../../recover/state.js';
import type { RunState } from '../../steps/context.js';
import { discoverUserSteps } from '../../steps/discover.js';
import { formatPlan, planWorkflow } from '../../steps/plan.js';
import { runPlan, WorkflowStepError } from '../../steps/run.js';
import { WORKFLOWS, type Workflow } from '../../steps/workflows.js';
import { RECOVER_STEPS, stateFile } from '../../workflows/recover-steps.js';
import { askSecret, askYesNo } from '../prompt.js';
import { type GlobalOptions, openSession } from '../session.js';

/**
 * `lifeboat recover`, `lifeboat recover --into DIR` (a rehearsal) and `lifeboat restoreonly`:
 * the recover workflow's stages with RECOVER_STEPS and the site's own steps merged in.
 */
interface RecoverOptions {
  unattended?: boolean;
  into?: string;
  backupId?: string;
  layout?: string;
  diskMapping?: string;
  luksKeyFile?: string;
  target?: string;
  simulate?: boolean;
}

/** The rehearsal: no recreate, no finalize, no wrapup (it touches no disk). */
const REHEARSAL: Workflow = {
  name: 'recover',
  summary: 'restore the backup into a directory, touching no disk',
  stages: ['config', 'verify', 'restore'],
};

/** Unattended runs get these: a question there would be a bug, and must never wait. */
const refuseQuestion = async (question: string): Promise<never> => {
  throw new UsageError(`unattended recovery would have to ask: ${question.trim()}`);
};

async function runRecover(
  workflowName: 'recover' | 'restoreonly',
  options: RecoverOptions & GlobalOptions,
): Promise<void> {
  const mode: RecoverMode =
    options.into !== undefined
      ? 'rehearsal'
      : workflowName === 'recover'
        ? 'recover'
        : 'restoreonly';
  const session = await openSession(mode === 'rehearsal' ? 'recover-into' : workflowName, options);
  const { effective, log } = session;
  const unattended = options.unattended === true;
  const request: RecoverRequest = {
    mode,
    target: resolve(options.into ?? options.target ?? '/mnt/local'),
    unattended,
    ...(options.backupId === undefined ? {} : { backupId: options.backupId }),
    layoutFile: resolve(
      options.layout ?? (existsSync(SAVED_LAYOUT) ? SAVED_LAYOUT : MEDIUM_LAYOUT),
    ),
    ...(options.diskMapping ? { diskMapping: readDiskMapping(options.diskMapping) } : {}),
    ...(options.luksKeyFile ? { luksKeyFile: resolve(options.luksKeyFile) } : {}),
    workDir: join(effective.config.paths.workDir, 'recover'),
    confirm: unattended ? refuseQuestion : askYesNo,
    askSecret: unattended ? refuseQuestion : askSecret,
  };
  const workflow = mode === 'rehearsal' ? REHEARSAL : WORKFLOWS[workflowName];
  const user = discoverUserSteps([
    { dir: join(configDir(), 'steps'), required: false },
    ...effective.config.steps.dirs.map((dir) => ({ dir, required: true })),
  ]);
  for (const warning of user.warnings) log.warn(warning);
  const plan = planWorkflow(
    workflow,
    [RECOVER_STEPS, user.steps],
    effective.facts,
    effective.config,
  );
  if (options.simulate) {
    process.stdout.write(formatPlan(plan));
    return;
  }

  const abort = new AbortController();
  const state: RunState = {
    workflow: workflowName,
    effective,
    dirs: {
      config: configDir(),
      share: PACKAGE_ROOT,
      build: request.workDir,
      rootfs: request.target,
      host: request.target,
    },
    log,
    vars: new Map([
      ['LIFEBOAT_TARGET', request.target],
      ['LIFEBOAT_UNATTENDED', unattended ? '1' : '0'],
    ]),
    results: new Map<string, unknown>([[RECOVER_REQUEST, request]]),
    signal: abort.signal,
  };
  const started = Date.now();
  const hostname = backupHostname(mediumCapture());
  // Plain lines, never the live view: a question (key, confirmation) must be readable.
  const progress = session.progress === 'silent' ? 'silent' : 'plain';
  try {
    await runPlan(plan, state, progress);
  } catch (error) {
    await recordFailure(state, request, error, (text) => log.redact(text));
    if (mode !== 'rehearsal') await unbindKernelFilesystems(request.target, log).catch(() => {});
    await notify(
      effective.config.recovery.notifyUrl,
      {
        workflow: workflowName,
        hostname,
        result: 'failed',
        reason: log.redact(errorMessage(error)),
        ...backupIdOf(state),
        seconds: (Date.now() - started) / 1000,
      },
      log,
    );
    throw error;
  }
  const recoverState = state.results.get(RECOVER_STATE) as RecoverState | undefined;
  if (recoverState) {
    recoverState.completed = new Date().toISOString();
    await writeState(stateFile(request.workDir), recoverState);
  }
  await notify(
    effective.config.recovery.notifyUrl,
    {
      workflow: workflowName,
      hostname,
      result: 'succeeded',
      ...backupIdOf(state),
      seconds: (Date.now() - started) / 1000,
    },
    log,
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log.info(
    mode === 'rehearsal'
      ? `recover: the backup is restored into ${request.target} in ${seconds} s (a rehearsal: no disk was touched)`
      : mode === 'recover'
        ? `recover: the system is recovered in ${seconds} s; it boots from its disks now`
        : `restoreonly: restored and made bootable in ${seconds} s; ${request.target} is still mounted`,
  );
}

function backupIdOf(state: RunState): { backupId?: string } {
  const id = (state.results.get(RECOVER_STATE) as RecoverState | undefined)?.backupId;
  return id === undefined ? {} : { backupId: id };
}

/** The failure, kept in the recover state for the next run to say what it redoes. */
async function recordFailure(
  state: RunState,
  request: RecoverRequest,
  error: unknown,
  redact: (text: string) => string,
): Promise<void> {
  const recoverState = state.results.get(RECOVER_STATE) as RecoverState | undefined;
  if (!recoverState) return;
  recoverState.failed = {
    stage: error instanceof WorkflowStepError ? error.step.stage : 'unknown',
    message:
      redact(errorMessage(error instanceof WorkflowStepError ? error.cause : error)).split(
        '\n',
      )[0] ?? '',
    at: new Date().toISOString(),
  };
  await writeState(stateFile(request.workDir), recoverState).catch(() => {});
}

function readDiskMapping(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`--disk-mapping ${file}: no such file`);
  }
  return parseDiskMapping(text, file);
}

export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description(WORKFLOWS.recover.summary)
    .option('--unattended', 'ask nothing; refuse where a question would be needed')
    .option('--into <dir>', 'a rehearsal: restore the backup into DIR, touching no disk')
    .option('--backup-id <id>', 'the backup to restore (default: the newest complete one)')
    .option('--layout <file>', 'the layout to recreate (default: the saved one, else the medium’s)')
    .option('--disk-mapping <file>', 'OLD NEW lines: which disk here takes which captured disk')
    .option('--luks-key-file <file>', 'the passphrase of the LUKS volumes (else layout.luksKey)')
    .option('--simulate', 'print the steps that would run, in order and with their origin')
    .action((options: RecoverOptions, command: Command) =>
      runRecover('recover', { ...command.optsWithGlobals<GlobalOptions>(), ...options }),
    );

  program
    .command('restoreonly')
    .description(WORKFLOWS.restoreonly.summary)
    .option('--target <dir>', 'where the recreated file systems are mounted', '/mnt/local')
    .option('--unattended', 'ask nothing; refuse where a question would be needed')
    .option('--backup-id <id>', 'the backup to restore (default: the newest complete one)')
    .option('--simulate', 'print the steps that would run, in order and with their origin')
    .action((options: RecoverOptions, command: Command) =>
      runRecover('restoreonly', { ...command.optsWithGlobals<GlobalOptions>(), ...options }),
    );
}
