import { backupMethodFor } from '../backup/methods.js';
import { requestedOutputs } from '../outputs/registry.js';
import { MEDIA_STEPS } from './steps/media-steps.js';
import type { Workflow } from './workflow.js';

/** mkrescue: capture this host, build its rescue system, make the media the outputs name. */
export const mkrescue: Workflow = {
  name: 'mkrescue',
  summary: 'capture this host and build its rescue media',
  stages: ['prep', 'capture', 'build', 'pack', 'output', 'cleanup'],
  steps: MEDIA_STEPS,
  check(config) {
    requestedOutputs(config);
    // The rescue system must be able to restore with the method (none is fine here).
    backupMethodFor(config, 'rescue');
  },
};
