import { backupMethodFor } from '../backup/methods.js';
import { outputsBeforeBackup } from '../outputs/registry.js';
import { BACKUP_STEPS } from './steps/backup-steps.js';
import { BUILD_AREA, REMOVE_BUILD_AREA } from './steps/media-steps.js';
import type { Workflow } from './workflow.js';

/** mkbackuponly: the backup alone; no engine, no media (an OBDR tape gets output.dir's ISO). */
export const mkbackuponly: Workflow = {
  name: 'mkbackuponly',
  summary: 'make a backup only',
  stages: ['prep', 'backup', 'cleanup'],
  steps: [BUILD_AREA, ...BACKUP_STEPS, REMOVE_BUILD_AREA],
  check(config) {
    backupMethodFor(config, 'backup');
    // An OBDR tape gets the ISO a build left in output.dir, before the backup.
    outputsBeforeBackup(config);
  },
};
