import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { parseDiskMapping } from '../../layout/migrate.js';
import { MEDIUM_LAYOUT, SAVED_LAYOUT } from '../../layout/store.js';
import { configDir, PACKAGE_ROOT } from '../../paths.js';
import { RECOVER_REQUEST, type RecoverMode, type RecoverRequest } from '../../recover/request.js';
import { recover } from '../../workflows/recover.js';
import { rehearsal } from '../../workflows/rehearsal.js';
import { restoreonly } from '../../workflows/restoreonly.js';
import { runWorkflow } from '../../workflows/runner.js';
import type { Workflow } from '../../workflows/workflow.js';
import { askSecret, askYesNo } from '../prompt.js';
import { type GlobalOptions, openSession, type Session } from '../session.js';

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
  intoNonempty?: boolean;
}

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
  const unattended = options.unattended === true;
  const request: RecoverRequest = {
    mode,
    target: resolve(options.into ?? options.target ?? '/mnt/local'),
    unattended,
    ...(options.backupId === undefined ? {} : { backupId: options.backupId }),
    layoutFile: resolve(options.layout ?? defaultLayoutFile()),
    ...(options.diskMapping ? { diskMapping: readDiskMapping(options.diskMapping) } : {}),
    ...(options.luksKeyFile ? { luksKeyFile: resolve(options.luksKeyFile) } : {}),
    ...(options.intoNonempty ? { intoNonEmpty: true } : {}),
    workDir: join(session.effective.config.paths.workDir, 'recover'),
    confirm: unattended ? refuseQuestion : askYesNo,
    askSecret: unattended ? refuseQuestion : askSecret,
    started: Date.now(),
  };
  const workflow = mode === 'rehearsal' ? rehearsal : mode === 'recover' ? recover : restoreonly;
  await runRecovery(workflow, request, session, options.simulate === true);
}

/** A recovery workflow run for `request`: the target is both the host and the rootfs of steps. */
export async function runRecovery(
  workflow: Workflow,
  request: RecoverRequest,
  session: Session,
  simulate: boolean,
): Promise<void> {
  await runWorkflow(workflow, {
    effective: session.effective,
    log: session.log,
    // Plain lines, never the live view: a question (key, confirmation) must be readable.
    progress: session.progress === 'silent' ? 'silent' : 'plain',
    simulate,
    dirs: {
      config: configDir(),
      share: PACKAGE_ROOT,
      build: request.workDir,
      rootfs: request.target,
      host: request.target,
    },
    vars: [
      ['LIFEBOAT_TARGET', request.target],
      ['LIFEBOAT_UNATTENDED', request.unattended ? '1' : '0'],
    ],
    results: [[RECOVER_REQUEST, request]],
  });
}

/** The layout a command reads when none is named: the saved one, else the medium's. */
export function defaultLayoutFile(): string {
  return existsSync(SAVED_LAYOUT) ? SAVED_LAYOUT : MEDIUM_LAYOUT;
}

/** Unattended runs get these: a question there would be a bug, and must never wait. */
export const refuseQuestion = async (question: string): Promise<never> => {
  throw new UsageError(`unattended recovery would have to ask: ${question.trim()}`);
};

export function readDiskMapping(file: string): Map<string, string> {
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
    .description(recover.summary)
    .option('--unattended', 'ask nothing; refuse where a question would be needed')
    .option('--into <dir>', 'a rehearsal: restore the backup into DIR, touching no disk')
    .option('--into-nonempty', 'let --into DIR overwrite files lifeboat did not restore there')
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
    .description(restoreonly.summary)
    .option('--target <dir>', 'where the recreated file systems are mounted', '/mnt/local')
    .option('--unattended', 'ask nothing; refuse where a question would be needed')
    .option('--backup-id <id>', 'the backup to restore (default: the newest complete one)')
    .option('--simulate', 'print the steps that would run, in order and with their origin')
    .action((options: RecoverOptions, command: Command) =>
      runRecover('restoreonly', { ...command.optsWithGlobals<GlobalOptions>(), ...options }),
    );
}
