import { errorMessage } from '../../errors.js';
import { unbindKernelFilesystems } from '../../recover/finalize-mounts.js';
import { backupHostname, mediumCapture } from '../../recover/host.js';
import { notify } from '../../recover/notify.js';
import { RECOVER_REQUEST, RECOVER_STATE, type RecoverRequest } from '../../recover/request.js';
import { type RecoverState, writeState } from '../../recover/state.js';
import type { RunState } from '../../steps/context.js';
import { WorkflowStepError } from '../../steps/run.js';
import { stateFile } from './recover-steps.js';

/**
 * The end of every recovery run (recover, restoreonly, the rehearsal, layoutonly): the state file
 * says how it ended (a rerun reads it), recovery.notifyUrl hears the result, and the closing
 * line says where things are.
 */
export async function finishRecovery(state: RunState, failure: unknown): Promise<void> {
  const request = state.results.get(RECOVER_REQUEST) as RecoverRequest | undefined;
  if (!request) return;
  const { log } = state;
  const recoverState = state.results.get(RECOVER_STATE) as RecoverState | undefined;
  const seconds = (Date.now() - request.started) / 1000;
  if (failure !== undefined) {
    if (recoverState) {
      recoverState.failed = {
        stage: failure instanceof WorkflowStepError ? failure.step.stage : 'unknown',
        message:
          log
            .redact(errorMessage(failure instanceof WorkflowStepError ? failure.cause : failure))
            .split('\n')[0] ?? '',
        at: new Date().toISOString(),
      };
      await writeState(stateFile(request.workDir), recoverState).catch(() => {});
    }
    if (request.mode !== 'rehearsal')
      await unbindKernelFilesystems(request.target, log).catch(() => {});
  } else if (recoverState) {
    recoverState.completed = new Date().toISOString();
    await writeState(stateFile(request.workDir), recoverState);
  }
  if (request.mode !== 'layoutonly')
    await notify(
      state.effective.config.recovery.notifyUrl,
      {
        workflow: state.workflow,
        hostname: backupHostname(mediumCapture()),
        result: failure === undefined ? 'succeeded' : 'failed',
        ...(failure === undefined ? {} : { reason: log.redact(errorMessage(failure)) }),
        ...(recoverState?.backupId === undefined ? {} : { backupId: recoverState.backupId }),
        seconds,
      },
      log,
    );
  if (failure === undefined) log.info(closingLine(request, seconds.toFixed(1)));
}

function closingLine(request: RecoverRequest, seconds: string): string {
  switch (request.mode) {
    case 'rehearsal':
      return `recover: the backup is restored into ${request.target} in ${seconds} s (a rehearsal: no disk was touched)`;
    case 'recover':
      return `recover: the system is recovered in ${seconds} s; it boots from its disks now`;
    case 'restoreonly':
      return `restoreonly: restored and made bootable in ${seconds} s; ${request.target} is still mounted`;
    case 'layoutonly':
      return `layoutonly: the layout is recreated and mounted under ${request.target}`;
  }
}
