/**
 * Workflows are ordered stages (ReaR's workflows, DESIGN.md). Steps from every source are
 * merged into these stages. A stage in ALWAYS_RUN runs even after a failure: it cleans up.
 */
export interface Workflow {
  name: string;
  summary: string;
  stages: readonly string[];
}

export const WORKFLOWS = {
  mkrescue: {
    name: 'mkrescue',
    summary: 'capture this host and build its rescue media',
    stages: ['prep', 'capture', 'build', 'pack', 'output', 'cleanup'],
  },
  mkbackup: {
    name: 'mkbackup',
    summary: 'make the rescue media and a backup',
    stages: ['prep', 'capture', 'build', 'pack', 'output', 'backup', 'cleanup'],
  },
  mkbackuponly: {
    name: 'mkbackuponly',
    summary: 'make a backup only',
    stages: ['prep', 'backup', 'cleanup'],
  },
  recover: {
    name: 'recover',
    summary: 'recreate the disks, restore the backup and make the system bootable',
    stages: ['config', 'verify', 'recreate', 'restore', 'finalize', 'wrapup'],
  },
  restoreonly: {
    name: 'restoreonly',
    summary: 'restore the backup onto disks that are already there',
    stages: ['config', 'verify', 'restore', 'finalize', 'wrapup'],
  },
  layoutonly: {
    name: 'layoutonly',
    summary: 'recreate the disk layout and mount it, restore nothing',
    stages: ['config', 'verify', 'recreate', 'wrapup'],
  },
} as const satisfies Record<string, Workflow>;

export type WorkflowName = keyof typeof WORKFLOWS;

export const ALWAYS_RUN_STAGES: ReadonlySet<string> = new Set(['cleanup']);

/** Every stage name of every workflow: the subdirectories a step directory may have. */
export const ALL_STAGES: readonly string[] = [
  ...new Set(Object.values(WORKFLOWS).flatMap((w) => w.stages)),
];
