import { FLAG_AND_CONFIG_CASES } from './bad-input-cases-cli.js';
import { FILE_CASES } from './bad-input-cases-files.js';

/**
 * Bad input a user can hit without a container engine, with what lifeboat must answer. Every case
 * is run against the bundled CLI by test/cli/bad-input.test.ts, and docs/errors.md is rendered
 * from what those runs print (`npm run errors-doc`), so the table cannot say what lifeboat no
 * longer does.
 *
 * In `args`, `{dir}` is the case's own sandbox directory and `{etc}` its /etc/lifeboat; the docs
 * show `{dir}` as it is and `{etc}` as /etc/lifeboat.
 */
export interface BadInputCase {
  group: BadInputGroup;
  /** What the user did, short. */
  title: string;
  /** The command line after `lifeboat`, with placeholders. */
  args: string[];
  /** Makes the files the case needs in the sandbox before the command runs. */
  setup?: (box: CaseBox) => void | Promise<void>;
  exitCode: 1 | 2;
  /** A distinctive part of what lifeboat prints on stderr. */
  says: string | RegExp;
}

/** The groups of docs/errors.md, in the order they appear there. */
export const GROUPS = [
  'Command line',
  'Configuration',
  'Capture',
  'Disk layout',
  'Build and verify',
  'Backup and recover',
] as const;
export type BadInputGroup = (typeof GROUPS)[number];

/** A case's sandbox, for its setup. */
export interface CaseBox {
  dir: string;
  etc: string;
  /** Runs lifeboat in the sandbox and fails unless it exits 0. */
  ok: (args: string[]) => Promise<void>;
}

export const BAD_INPUT_CASES: BadInputCase[] = [...FLAG_AND_CONFIG_CASES, ...FILE_CASES];
