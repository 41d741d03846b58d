import { backupMethodFor } from '../backup/methods.js';
import { finishRecovery } from './steps/recover-outcome.js';
import { RECOVER_STEPS } from './steps/recover-steps.js';
import type { Workflow } from './workflow.js';

/**
 * layoutonly: recreate the disk layout and mount it under the target, restoring nothing. The same
 * steps as recover's config, verify and recreate stages (the backup's verification does nothing
 * here), so site steps and pre/post scripts run as they do in a recovery.
 */
export const layoutonly: Workflow = {
  name: 'layoutonly',
  summary: 'recreate the disk layout and mount it, restore nothing',
  stages: ['config', 'verify', 'recreate', 'wrapup'],
  steps: RECOVER_STEPS,
  check(config) {
    // Only to know which disks hold the backups (usb://): none is fine.
    backupMethodFor(config, 'rescue');
  },
  finish: finishRecovery,
};
