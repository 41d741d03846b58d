import { Command, CommanderError, Option } from 'commander';
import { suggest } from '../config/explain.js';
import { installInterruptCleanup } from '../engine/container.js';
import { ExitCode, LifeboatError } from '../errors.js';
import { VERSION } from '../paths.js';
import { registerBuild } from './commands/build.js';
import { registerBuilder } from './commands/builder.js';
import { registerCapture } from './commands/capture.js';
import { registerDoctor } from './commands/doctor.js';
import { registerDump } from './commands/dump.js';
import { registerFormat } from './commands/format.js';
import { registerImportRear } from './commands/import-rear.js';
import { registerLayout } from './commands/layout.js';
import { registerRecover } from './commands/recover.js';
import { registerWorkflows } from './commands/workflow.js';
import { openedSession } from './session.js';

/**
 * lifeboat's command line. Exit codes: 0 the job succeeded, 1 the job failed, 2 usage or
 * configuration error (nothing was run). Errors are one or two sentences, never a stack trace;
 * the log file has the detail.
 */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function buildProgram(): Command {
  const program = new Command('lifeboat')
    .description('Rescue media and disaster recovery for Linux, built reproducibly in containers.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .addOption(
      new Option(
        '-c, --config <file>',
        'add a configuration file (after site and local; repeatable)',
      ).argParser(collect),
    )
    .addOption(new Option('-r, --recipe <name|file>', 'a shipped recipe name or a recipe file'))
    .addOption(
      new Option(
        '-s, --set <key=value>',
        'set a configuration value; key+=v appends to a list (repeatable)',
      ).argParser(collect),
    )
    .option('--root <dir>', 'the root filesystem of the protected host', '/')
    .addOption(new Option('-v, --verbose', 'show every detail on the console').conflicts('quiet'))
    .option('-q, --quiet', 'show only warnings and errors')
    .showHelpAfterError('(lifeboat --help lists the commands and options)')
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 the job failed, 2 usage or configuration error.\nConfiguration: docs/configuration.md; steps: docs/steps.md.',
    )
    .exitOverride();

  registerDoctor(program);
  registerDump(program);
  registerBuilder(program);
  registerCapture(program);
  registerLayout(program);
  registerBuild(program);
  registerWorkflows(program);
  registerRecover(program);
  registerFormat(program);
  registerImportRear(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

function fail(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version "errors" are how commander says it printed what was asked.
    if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code))
      return ExitCode.ok;
    return ExitCode.usage;
  }
  if (error instanceof LifeboatError) {
    const log = openedSession()?.log;
    log?.detail(`failed: ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
    process.stderr.write(`lifeboat: ${log ? log.redact(error.message) : error.message}\n`);
    if (error.hint) process.stderr.write(`  ${error.hint}\n`);
    if (log?.file && !error.hint?.includes(log.file)) process.stderr.write(`  log: ${log.file}\n`);
    return error.exitCode;
  }
  // Anything else is lifeboat's own bug: say so, and keep the stack for the report.
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const log = openedSession()?.log;
  log?.detail(`internal error: ${stack}`);
  process.stderr.write(
    `lifeboat: internal error: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.stderr.write(
    '  This is a bug in lifeboat; please report it with the output of --verbose.\n',
  );
  if (log?.file) process.stderr.write(`  log (with the stack trace): ${log.file}\n`);
  if (process.argv.includes('--verbose') || process.argv.includes('-v'))
    process.stderr.write(`${stack}\n`);
  return ExitCode.jobFailed;
}

/** Global options that take a value: the word after them is no command. */
const VALUE_OPTIONS = new Set(['-c', '--config', '-r', '--recipe', '-s', '--set', '--root']);

/**
 * The first word that names no command. commander checks commands only after --help, so
 * `lifeboat nosuchcommand --help` would print the top-level help and exit 0; and
 * `lifeboat help nosuchcommand` prints the top-level help and exits 0 too.
 */
function unknownCommand(program: Command, args: readonly string[]): CommanderError | undefined {
  const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') return undefined;
    if (arg.startsWith('-')) {
      if (VALUE_OPTIONS.has(arg)) i++;
      continue;
    }
    if (arg === 'help') {
      const topic = args[i + 1];
      if (topic === undefined || topic.startsWith('-') || topic === 'help' || names.includes(topic))
        return undefined;
      return refuseUnknown(topic, names);
    }
    return names.includes(arg) ? undefined : refuseUnknown(arg, names);
  }
  return undefined;
}

function refuseUnknown(arg: string, names: string[]): CommanderError {
  const close = suggest(arg, names);
  process.stderr.write(
    `error: unknown command '${arg}'${close ? `\n(Did you mean ${close}?)` : ''}\n(lifeboat --help lists the commands and options)\n`,
  );
  return new CommanderError(ExitCode.usage, 'commander.unknownCommand', `unknown command '${arg}'`);
}

async function main(): Promise<void> {
  // `lifeboat help | head`: the reader went away; what is left to print has nobody to read it.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const uninstall = installInterruptCleanup();
  try {
    const program = buildProgram();
    const unknown = unknownCommand(program, process.argv.slice(2));
    if (unknown) throw unknown;
    await program.parseAsync(process.argv);
    const session = openedSession();
    if (session?.log.file && session.verbosity !== 'quiet')
      process.stderr.write(`log: ${session.log.file}\n`);
  } catch (error) {
    process.exitCode = fail(error);
  } finally {
    openedSession()?.log.close();
    uninstall();
  }
}

await main();
