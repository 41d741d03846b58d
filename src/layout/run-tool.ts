import { execa } from 'execa';
import type { ToolRunner } from './capture.js';

/**
 * The tools of this machine, run with argument lists (never a shell), in the C locale so their
 * text is the text the parsers know, with no prompt possible (stdin closed).
 */
export const runHostTool: ToolRunner = async (program, args) => {
  // ENOENT (no such program) comes back as a failed result too: LVM may simply not be there.
  const result = await execa(program, [...args], {
    reject: false,
    stdin: 'ignore',
    env: { LC_ALL: 'C', LVM_SUPPRESS_FD_WARNINGS: '1' },
    timeout: 120_000,
  });
  return {
    exitCode: result.exitCode ?? 1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
};
