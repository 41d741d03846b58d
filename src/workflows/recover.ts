import { backupMethodFor } from '../backup/methods.js';
import { finishRecovery } from './steps/recover-outcome.js';
import { RECOVER_STEPS } from './steps/recover-steps.js';
import type { Workflow } from './workflow.js';

/** recover (in the rescue system): verify, recreate the layout, restore, make it bootable. */
export const recover: Workflow = {
  name: 'recover',
  summary: 'recreate the disks, restore the backup and make the system bootable',
  stages: ['config', 'verify', 'recreate', 'restore', 'finalize', 'wrapup'],
  steps: RECOVER_STEPS,
  check(config) {
    backupMethodFor(config, 'restore');
  },
  finish: finishRecovery,
};
