import { join } from 'node:path';
import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import { VERSION } from '../paths.js';
import { bootInQemu } from './qemu.js';

/**
 * --boot-test: boot the media just built in QEMU (BIOS, TCG), wait for the rescue system's ready
 * line, and ask it for `lifeboat --version`. Proof that the medium boots, not only that it exists.
 */
export const READY_LINE = /lifeboat-rescue: ready/;

export async function bootTest(
  outDir: string,
  artifacts: readonly string[],
  log: Log,
): Promise<void> {
  const medium = artifacts.includes('lifeboat.iso')
    ? ({ kind: 'cdrom', iso: join(outDir, 'lifeboat.iso') } as const)
    : ({
        kind: 'kernel',
        kernel: join(outDir, 'vmlinuz'),
        initrd: join(outDir, 'initrd.img'),
        append: 'console=ttyS0,115200n8',
      } as const);
  log.info(
    `boot test: booting ${medium.kind === 'cdrom' ? medium.iso : medium.kernel} in QEMU (BIOS)...`,
  );
  const result = await bootInQemu({
    firmware: 'bios',
    medium,
    ready: READY_LINE,
    commands: [
      { send: 'lifeboat --version', expect: new RegExp(`^${VERSION.replace(/\./g, '\\.')}\\s*$`) },
    ],
    timeoutMs: 180_000,
    onLine: (line) => log.debug(`console: ${line}`),
  });
  if (!result.ready) {
    const tail = result.transcript.trim().split('\n').slice(-15).join('\n');
    throw new JobError(`boot test: no ready line within 180 s; the console ended with:\n${tail}`);
  }
  const readyLine = result.transcript.split('\n').find((l) => READY_LINE.test(l)) ?? '';
  log.info(`boot test: ${readyLine.trim()} (after ${result.readySeconds?.toFixed(1)} s)`);
  if (result.answers[0] === undefined)
    throw new JobError('boot test: `lifeboat --version` did not answer in the rescue system');
  log.info(
    `boot test: lifeboat --version in the rescue system answered ${result.answers[0].trim()}`,
  );
}
