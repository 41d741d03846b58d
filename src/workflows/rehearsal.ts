import { backupMethodFor } from '../backup/methods.js';
import { finishRecovery } from './steps/recover-outcome.js';
import { RECOVER_STEPS } from './steps/recover-steps.js';
import type { Workflow } from './workflow.js';

/**
 * The rehearsal (recover --into DIR): verify the backup and restore it into a directory. No
 * recreate, no finalize, no wrapup: it touches no disk. It runs as `recover`, so a site's recover
 * steps of these stages run in it too.
 */
export const rehearsal: Workflow = {
  name: 'recover',
  summary: 'restore the backup into a directory, touching no disk',
  stages: ['config', 'verify', 'restore'],
  steps: RECOVER_STEPS,
  check(config) {
    backupMethodFor(config, 'restore');
  },
  finish: finishRecovery,
};
