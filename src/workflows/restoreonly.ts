import { backupMethodFor } from '../backup/methods.js';
import { finishRecovery } from './steps/recover-outcome.js';
import { RECOVER_STEPS } from './steps/recover-steps.js';
import type { Workflow } from './workflow.js';

/** restoreonly: restore onto the file systems mounted at the target, then make it bootable. */
export const restoreonly: Workflow = {
  name: 'restoreonly',
  summary: 'restore the backup onto disks that are already there',
  stages: ['config', 'verify', 'restore', 'finalize', 'wrapup'],
  steps: RECOVER_STEPS,
  check(config) {
    backupMethodFor(config, 'restore');
  },
  finish: finishRecovery,
};
