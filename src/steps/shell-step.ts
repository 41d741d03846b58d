import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { redactedConfig } from '../config/dump.js';
import { JobError } from '../errors.js';
import { runTempParent } from '../util/run-temp.js';
import { stepEnvironment } from './environment.js';
import type { StepContext } from './types.js';

/**
 * A shell step runs as `bash -e FILE` (a failing command fails the step) in the build area,
 * with the context in its environment (see environment.ts). It changes the configuration or
 * passes variables on by writing lines to the file named by $LIFEBOAT_SET:
 *
 *   echo 'PROGS+=curl' >>"$LIFEBOAT_SET"
 *   echo 'MY_DISK=/dev/vdb' >>"$LIFEBOAT_SET"
 *
 * Those lines take effect when the step exits 0, in order, exactly as `ctx.set()` would.
 */
export class StepFailed extends JobError {
  constructor(
    readonly origin: string,
    readonly exitCode_: number | undefined,
    detail: string,
  ) {
    super(`${origin} ${detail}`);
  }
}

export async function runShellStep(file: string, ctx: StepContext): Promise<void> {
  const channelDir = mkdtempSync(join(runTempParent(), 'lifeboat-step-'));
  try {
    const channel = join(channelDir, 'set');
    const configJson = join(channelDir, 'config.json');
    writeFileSync(channel, '', { mode: 0o600 });
    writeFileSync(configJson, `${JSON.stringify(redactedConfig(ctx.config), null, 2)}\n`, {
      mode: 0o600,
    });

    const child = execa('bash', ['-e', file], {
      cwd: ctx.dirs.build,
      env: stepEnvironment(ctx, { channel, configJson }),
      stdin: 'ignore',
      all: true,
      reject: false,
      cancelSignal: ctx.signal,
    });
    for await (const line of child.iterable({ from: 'all' })) ctx.output(String(line));
    const result = await child;
    if (result.isCanceled) throw new StepFailed(file, undefined, 'was interrupted');
    if (result.exitCode !== 0) {
      const how =
        result.exitCode === undefined
          ? `was killed by ${result.signal}`
          : `exited with code ${result.exitCode}`;
      throw new StepFailed(file, result.exitCode, how);
    }

    readFileSync(channel, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (line.trim() === '' || line.trimStart().startsWith('#')) return;
        ctx.set(line, `${file} ($LIFEBOAT_SET line ${index + 1})`);
      });
  } finally {
    rmSync(channelDir, { recursive: true, force: true });
  }
}
