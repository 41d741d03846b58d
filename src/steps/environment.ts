import { osFamily } from '../config/facts.js';
import { secretPaths } from '../config/layer.js';
import { valueAt } from '../config/merge.js';
import { REAR_NAMES } from '../config/rear-names.js';
import { VERSION } from '../paths.js';
import type { StepContext } from './types.js';

/**
 * The environment of a shell step: the seed's variables, read-only ones and configuration ones.
 *
 * Read-only (a step that tries to set them fails): the directories, the facts, the run.
 * Configuration: every ReaR name of docs/configuration.md (PROGS, OUTPUT, BACKUP_URL...), lists
 * one item per line (`for p in $PROGS`, or `mapfile -t progs <<<"$PROGS"`), booleans true/false.
 * Secrets are never exported. $LIFEBOAT_CONFIG names a JSON file with the whole configuration.
 * Variables set by earlier steps follow.
 */
export const READ_ONLY_VARIABLES = [
  'CONFIG_DIR',
  'SHARE_DIR',
  'BUILD_DIR',
  'ROOTFS_DIR',
  'HOST_ROOT',
  'LOG_FILE',
  'WORKFLOW',
  'STAGE',
  'ARCH',
  'OS_ID',
  'OS_FAMILY',
  'OS_VERSION',
  'LIFEBOAT_VERSION',
  'LIFEBOAT_SET',
  'LIFEBOAT_CONFIG',
] as const;

function shellValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join('\n');
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function stepEnvironment(
  ctx: StepContext,
  files: { channel: string; configJson: string },
): Record<string, string> {
  const secrets = new Set(secretPaths());
  const env: Record<string, string> = {};
  for (const [name, value] of ctx.vars) env[name] = value;
  for (const { rear, key } of REAR_NAMES) {
    if (!secrets.has(key))
      env[rear] = shellValue(valueAt(ctx.config as unknown as Record<string, unknown>, key));
  }
  const readOnly: Record<(typeof READ_ONLY_VARIABLES)[number], string> = {
    CONFIG_DIR: ctx.dirs.config,
    SHARE_DIR: ctx.dirs.share,
    BUILD_DIR: ctx.dirs.build,
    ROOTFS_DIR: ctx.dirs.rootfs,
    HOST_ROOT: ctx.dirs.host,
    LOG_FILE: ctx.log.file ?? '',
    WORKFLOW: ctx.workflow,
    STAGE: ctx.stage,
    ARCH: ctx.facts.arch,
    OS_ID: ctx.facts.osId,
    OS_FAMILY: osFamily(ctx.facts),
    OS_VERSION: ctx.facts.osVersion,
    LIFEBOAT_VERSION: VERSION,
    LIFEBOAT_SET: files.channel,
    LIFEBOAT_CONFIG: files.configJson,
  };
  return { ...env, ...readOnly };
}
