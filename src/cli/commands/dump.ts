import type { Command } from 'commander';
import { formatDumpJson, formatDumpText } from '../../config/dump.js';
import { type GlobalOptions, loadSessionConfig } from '../session.js';

export function registerDump(program: Command): void {
  program
    .command('dump')
    .description('print the effective configuration and the layer each value came from')
    .option('--json', 'print JSON instead of text')
    .action(async (options: { json?: boolean }, command: Command) => {
      const effective = await loadSessionConfig(command.optsWithGlobals<GlobalOptions>());
      process.stdout.write(options.json ? formatDumpJson(effective) : formatDumpText(effective));
    });
}
