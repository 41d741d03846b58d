import type { Command } from 'commander';
import { ensureBuilderImage } from '../../engine/builder-image.js';
import { runContainer } from '../../engine/container.js';
import { connectEngine, engineVersion } from '../../engine/engine.js';
import { IMAGES_DIR } from '../../paths.js';
import { type GlobalOptions, openSession, type Session } from '../session.js';

interface BuilderOptions {
  image?: string;
  force?: boolean;
}

/** Connects to the engine and makes sure the builder image is there (building it if needed). */
async function readyBuilderImage(session: Session, options: BuilderOptions) {
  const { config } = session.effective;
  const engine = connectEngine();
  await engineVersion(engine);
  const image = await ensureBuilderImage({
    engine,
    imagesDir: IMAGES_DIR,
    name: options.image ?? config.builder.image,
    baseImage: config.builder.baseImage,
    log: session.log,
    force: options.force === true,
  });
  return { engine, image };
}

export function registerBuilder(program: Command): void {
  const builder = program
    .command('builder')
    .description('build or use the builder image that makes the media');

  builder
    .command('build')
    .description('build the builder image from images/NAME/Dockerfile, unless it is up to date')
    .option('--image <name>', 'the directory under images/ (default: builder.image)')
    .option('--force', 'rebuild even when up to date, without the layer cache')
    .action(async (options: BuilderOptions, command: Command) => {
      const session = await openSession('builder build', command.optsWithGlobals<GlobalOptions>());
      const started = Date.now();
      const { image } = await readyBuilderImage(session, options);
      const took = ((Date.now() - started) / 1000).toFixed(1);
      session.log.info(
        `${image.tag} ${image.upToDate ? `is up to date (checked in ${took} s)` : `built in ${took} s`} — ${image.id}`,
      );
    });

  builder
    .command('run')
    .description(
      'run a command in a fresh builder container (removed afterwards) and print its output',
    )
    .option('--image <name>', 'the directory under images/ (default: builder.image)')
    .argument('<command...>', 'the command and its arguments; put -- before it')
    .action(async (argv: string[], options: BuilderOptions, command: Command) => {
      const session = await openSession('builder run', command.optsWithGlobals<GlobalOptions>());
      const { engine, image } = await readyBuilderImage(session, { ...options, force: false });
      const result = await runContainer({ engine, image: image.tag, cmd: argv, log: session.log });
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      process.exitCode = result.exitCode;
    });
}
