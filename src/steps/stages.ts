/**
 * The stages a workflow is made of (ReaR's stage names, in the order workflows use them). A
 * workflow (src/workflows/) picks its stages from these; a step directory's subdirectories are
 * named after them.
 */
export const ALL_STAGES = [
  // mkrescue, mkbackup, mkbackuponly
  'prep',
  'capture',
  'build',
  'pack',
  'output',
  'backup',
  'cleanup',
  // recover, restoreonly, layoutonly, recover --into
  'config',
  'verify',
  'recreate',
  'restore',
  'finalize',
  'wrapup',
] as const;

export type Stage = (typeof ALL_STAGES)[number];

/** Stages that run even after a failure: they clean up. */
export const ALWAYS_RUN_STAGES: ReadonlySet<string> = new Set<Stage>(['cleanup']);
