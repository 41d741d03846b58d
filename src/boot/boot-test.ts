import { JobError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { Output } from '../outputs/output.js';
import { VERSION } from '../paths.js';
import { type BootMedium, bootInQemu } from './qemu.js';

/**
 * --boot-test: boot each medium just built in QEMU (BIOS, TCG), as its output says it boots,
 * wait for the rescue system's ready line, and ask it for `lifeboat --version`. Proof that the
 * medium boots, not only that it exists.
 */
export const READY_LINE = /lifeboat-rescue: ready/;

export async function bootTest(
  outDir: string,
  outputs: readonly Output[],
  log: Log,
): Promise<void> {
  const bootable = outputs.flatMap((output) => {
    const medium = output.bootMedium(outDir);
    if (!medium) log.info(`boot test: the ${output.name} output cannot be booted here; skipped`);
    return medium ? [{ output, medium }] : [];
  });
  if (bootable.length === 0)
    throw new JobError(
      `boot test: none of the outputs (${outputs.map((o) => o.name).join(', ')}) can be booted in QEMU`,
    );
  for (const { output, medium } of bootable) await bootOne(output.name, medium, log);
}

function describeMedium(medium: BootMedium): string {
  switch (medium.kind) {
    case 'cdrom':
      return medium.iso;
    case 'kernel':
      return medium.kernel;
    case 'network':
      return `${medium.tftp} over TFTP as ${medium.mac}`;
    default:
      return medium.image;
  }
}

async function bootOne(name: string, medium: BootMedium, log: Log): Promise<void> {
  log.info(`boot test: booting the ${name} output (${describeMedium(medium)}) in QEMU (BIOS)...`);
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
    throw new JobError(
      `boot test (${name}): no ready line within 180 s; the console ended with:\n${tail}`,
    );
  }
  const readyLine = result.transcript.split('\n').find((l) => READY_LINE.test(l)) ?? '';
  log.info(`boot test: ${readyLine.trim()} (after ${result.readySeconds?.toFixed(1)} s)`);
  if (result.answers[0] === undefined)
    throw new JobError(
      `boot test (${name}): \`lifeboat --version\` did not answer in the rescue system`,
    );
  log.info(
    `boot test: lifeboat --version in the rescue system answered ${result.answers[0].trim()}`,
  );
}
