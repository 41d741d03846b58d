import type { Config, OutputMethod } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { isoOutput } from './iso.js';
import { obdrOutput } from './obdr.js';
import type { Output } from './output.js';
import { pxeOutput } from './pxe.js';
import { ramdiskOutput } from './ramdisk.js';
import { rawdiskOutput } from './rawdisk.js';
import { usbOutput } from './usb.js';

/**
 * Every output this version makes, by output.methods name: one line per output module. A name
 * the configuration schema knows that is not here (a site's own, registered below) is refused
 * before any work.
 */
const OUTPUTS = new Map<string, Output>([
  [isoOutput.name, isoOutput],
  [ramdiskOutput.name, ramdiskOutput],
  [pxeOutput.name, pxeOutput],
  [rawdiskOutput.name, rawdiskOutput],
  [usbOutput.name, usbOutput],
  [obdrOutput.name, obdrOutput],
]);

/**
 * Adds an output module that lives outside this list (a site's own, a test's). Refuses a name
 * that is taken unless `replace` says so: an output is never replaced behind the user's back.
 */
export function registerOutput(output: Output, options: { replace?: boolean } = {}): void {
  if (OUTPUTS.has(output.name) && !options.replace)
    throw new Error(`an output named ${output.name} is registered already`);
  OUTPUTS.set(output.name, output);
}

export function knownOutputs(): string[] {
  return [...OUTPUTS.keys()];
}

/**
 * The outputs `config` asks for, in its order, each checked against the configuration. One
 * UsageError (exit 2) for everything wrong: names this version does not make and each output's
 * own complaints. Called before the builder image, the capture or anything else runs.
 */
export function requestedOutputs(config: Config): Output[] {
  const problems: string[] = [];
  const outputs: Output[] = [];
  const missing = config.output.methods.filter((name) => !OUTPUTS.has(name));
  if (missing.length > 0)
    problems.push(
      `output.methods: ${missing.join(', ')} cannot be made by this version (it makes ${knownOutputs().join(', ')})`,
    );
  for (const name of new Set<OutputMethod>(config.output.methods)) {
    const output = OUTPUTS.get(name);
    if (!output) continue;
    outputs.push(output);
    problems.push(...output.check(config));
  }
  if (problems.length > 0)
    throw new UsageError(problems.join('; '), { hint: 'Nothing was built or captured.' });
  return outputs;
}

/**
 * The requested outputs that write to the backup's medium before the backup (writeBeforeBackup:
 * OBDR), each checked against the configuration: mkbackuponly makes no media, yet writes these.
 * One UsageError (exit 2) for everything they refuse.
 */
export function outputsBeforeBackup(config: Config): Output[] {
  const outputs = config.output.methods
    .map((name) => OUTPUTS.get(name))
    .filter((output): output is Output => output?.writeBeforeBackup !== undefined);
  const problems = [...new Set(outputs)].flatMap((output) => output.check(config));
  if (problems.length > 0)
    throw new UsageError(problems.join('; '), { hint: 'Nothing was written.' });
  return [...new Set(outputs)];
}
