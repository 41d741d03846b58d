import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { errorMessage, JobError, UsageError } from '../../errors.js';
import { captureLayout } from '../../layout/capture.js';
import { diffLayouts, formatLayoutChanges } from '../../layout/diff.js';
import type { Layout } from '../../layout/model.js';
import { runHostTool } from '../../layout/run-tool.js';
import { formatLayoutTree } from '../../layout/show.js';
import { readLayout, SAVED_LAYOUT, writeLayout } from '../../layout/store.js';
import type { RecoverRequest } from '../../recover/request.js';
import { layoutonly } from '../../workflows/layoutonly.js';
import { askSecret, askYesNo } from '../prompt.js';
import { type GlobalOptions, openSession } from '../session.js';
import { defaultLayoutFile, readDiskMapping, refuseQuestion, runRecovery } from './recover.js';

export function registerLayout(program: Command): void {
  program
    .command('savelayout')
    .description('capture the disk layout of this machine into layout.json (reads only)')
    .option('-o, --out <file>', `where to write it (default ${SAVED_LAYOUT})`)
    .action(async (options: { out?: string }, command: Command) => {
      const file = resolve(options.out ?? SAVED_LAYOUT);
      // --out names the file, as --layout does where checklayout and layoutonly read it back.
      if (isDirectory(file))
        throw new UsageError(
          `--out ${file}: is a directory, not a file; give the file to write, such as ${join(file, 'layout.json')}`,
        );
      const globals = command.optsWithGlobals<GlobalOptions>();
      const session = await openSession('savelayout', globals);
      const started = Date.now();
      const layout = await captureLayout({
        run: runHostTool,
        root: resolve(globals.root ?? '/'),
        warn: (message) => session.log.warn(message),
      });
      await writeLayout(file, layout);
      session.log.info(
        `layout saved in ${((Date.now() - started) / 1000).toFixed(1)} s → ${file}: ${layout.disks.length} disk(s), ${layout.raids.length} RAID, ${layout.volumeGroups.length} VG, ${layout.encrypted.length} LUKS, ${layout.filesystems.length} file system(s), ${layout.swaps.length} swap`,
      );
    });

  program
    .command('layout')
    .description('show a saved disk layout as a tree')
    .command('show')
    .description('show a layout.json as a tree (default: the saved layout, else the medium’s)')
    .argument('[file]', 'a layout.json')
    .action(async (file: string | undefined) => {
      process.stdout.write(
        formatLayoutTree(await readLayout(resolve(file ?? defaultLayoutFile()))),
      );
    });

  program
    .command('checklayout')
    .description('compare the disk layout now with the saved one: exit 0 unchanged, 1 changed')
    .option('--layout <file>', 'the layout to compare with (default: the saved one)')
    .action(async (options: { layout?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const session = await openSession('checklayout', globals);
      let saved: Layout;
      let now: Layout;
      try {
        saved = await readLayout(resolve(options.layout ?? defaultLayoutFile()));
        now = await captureLayout({
          run: runHostTool,
          root: resolve(globals.root ?? '/'),
          warn: (message) => session.log.debug(message),
        });
      } catch (error) {
        // Exit 2, not 1: scripts read 1 as "changed" (ReaR's checklayout contract).
        throw new UsageError(`checklayout: ${errorMessage(error)}`);
      }
      const changes = diffLayouts(saved, now);
      if (changes.length === 0) {
        session.log.info('checklayout: the disk layout is unchanged');
        return;
      }
      process.stdout.write(formatLayoutChanges(changes));
      throw new JobError(`checklayout: ${changes.length} change(s) since the layout was saved`, {
        hint: 'Make new rescue media (lifeboat mkrescue), or save the layout again (lifeboat savelayout).',
      });
    });

  program
    .command('layoutonly')
    .description('recreate the disk layout and mount it under /mnt/local, restore nothing')
    .option('--layout <file>', 'the layout to recreate (default: the saved one, else the medium’s)')
    .option('--target <dir>', 'where to mount it', '/mnt/local')
    .option('--unattended', 'ask nothing; refuse where a question would be needed')
    .option('--edit', 'open the recreate script in $EDITOR before it runs')
    .option('--luks-key-file <file>', 'the key for the LUKS volumes the layout has')
    .option('--disk-mapping <file>', 'OLD NEW lines: which disk here takes which captured disk')
    .option('--simulate', 'print the steps that would run, in order and with their origin')
    .action(
      async (
        options: {
          layout?: string;
          target: string;
          unattended?: boolean;
          edit?: boolean;
          luksKeyFile?: string;
          diskMapping?: string;
          simulate?: boolean;
        },
        command: Command,
      ) => {
        const globals = command.optsWithGlobals<GlobalOptions>();
        const session = await openSession('layoutonly', globals);
        const unattended = options.unattended === true;
        const request: RecoverRequest = {
          mode: 'layoutonly',
          target: resolve(options.target),
          unattended,
          layoutFile: resolve(options.layout ?? defaultLayoutFile()),
          ...(options.diskMapping ? { diskMapping: readDiskMapping(options.diskMapping) } : {}),
          ...(options.luksKeyFile ? { luksKeyFile: resolve(options.luksKeyFile) } : {}),
          workDir: join(session.effective.config.paths.workDir, 'layout'),
          confirm: unattended ? refuseQuestion : askYesNo,
          askSecret: unattended ? refuseQuestion : askSecret,
          edit: options.edit === true,
          started: Date.now(),
        };
        await runRecovery(layoutonly, request, session, options.simulate === true);
      },
    );
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}
