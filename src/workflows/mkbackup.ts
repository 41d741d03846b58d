import { backupMethodFor } from '../backup/methods.js';
import { requestedOutputs } from '../outputs/registry.js';
import { BACKUP_STEPS } from './steps/backup-steps.js';
import { MEDIA_STEPS } from './steps/media-steps.js';
import type { Workflow } from './workflow.js';

/** mkbackup: mkrescue, then a backup of the host with the configured method. */
export const mkbackup: Workflow = {
  name: 'mkbackup',
  summary: 'make the rescue media and a backup',
  stages: ['prep', 'capture', 'build', 'pack', 'output', 'backup', 'cleanup'],
  steps: [...MEDIA_STEPS, ...BACKUP_STEPS],
  check(config) {
    requestedOutputs(config);
    backupMethodFor(config, 'backup');
    // The media it makes restore with the same method.
    backupMethodFor(config, 'rescue');
  },
};
