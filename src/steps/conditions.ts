import { suggest } from '../config/explain.js';
import { type HostFacts, osFamily } from '../config/facts.js';
import type { Config } from '../config/schema.js';
import { UsageError } from '../errors.js';
import type { StepConditions } from './types.js';

/**
 * A user step says when it applies with a comment among its first lines:
 *
 *   # lifeboat-when: output=iso,usb backup=netfs arch=x86_64
 *   // lifeboat-when: os=debian osVersion=12        (in .mjs steps)
 *   # lifeboat-when: workflow=mkrescue,mkbackup      (prep steps the backup-only run skips)
 *
 * Values of one key are alternatives; every key given must match. Read from the text, so
 * planning (and --simulate) never runs a step's code.
 */
const CONDITION_KEYS = [
  'arch',
  'os',
  'osVersion',
  'backup',
  'output',
  'workflow',
] as const satisfies readonly (keyof StepConditions)[];
const HEADER = /^\s*(?:#|\/\/)\s*lifeboat-when:\s*(.*)$/;
const HEADER_LINES = 20;

export function parseConditionHeader(text: string, file: string): StepConditions {
  const lines = text.split('\n').slice(0, HEADER_LINES);
  const conditions: StepConditions = {};
  lines.forEach((line, index) => {
    const match = HEADER.exec(line);
    if (!match) return;
    for (const term of (match[1] ?? '').trim().split(/\s+/).filter(Boolean)) {
      const [key = '', values = ''] = term.split('=', 2);
      if (!(CONDITION_KEYS as readonly string[]).includes(key) || values === '') {
        const close = suggest(key, CONDITION_KEYS);
        throw new UsageError(
          `${file}:${index + 1}: lifeboat-when: "${term}" is not KEY=VALUE[,VALUE...] with KEY one of ${CONDITION_KEYS.join(', ')}${close && close !== key ? ` (did you mean "${close}"?)` : ''}`,
        );
      }
      conditions[key as keyof StepConditions] = values.split(',').filter(Boolean);
    }
  });
  return conditions;
}

function versionMatches(actual: string, wanted: string): boolean {
  return actual === wanted || actual.startsWith(`${wanted}.`);
}

/** Does a step with these conditions apply to this host and configuration? */
export function conditionsMatch(when: StepConditions, facts: HostFacts, config: Config): boolean {
  const anyOf = (wanted: string[] | undefined, actual: string[]) =>
    wanted === undefined || wanted.some((w) => actual.includes(w));
  return (
    anyOf(when.arch, [facts.arch]) &&
    anyOf(when.os, [facts.osId, osFamily(facts)]) &&
    (when.osVersion === undefined ||
      when.osVersion.some((v) => versionMatches(facts.osVersion, v))) &&
    anyOf(when.backup, [config.backup.method]) &&
    anyOf(when.output, config.output.methods)
  );
}

export function describeConditions(when: StepConditions): string {
  // Not the workflow: a plan lists only the steps of its own workflow, so it says nothing there.
  const parts = CONDITION_KEYS.filter((k) => k !== 'workflow' && when[k]).map(
    (k) => `${k}=${when[k]?.join(',')}`,
  );
  return parts.join(' ');
}
