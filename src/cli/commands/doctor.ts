import { existsSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { execa } from 'execa';
import { builderImageStatus } from '../../engine/builder-image.js';
import { sweepKilledRuns } from '../../engine/container-registry.js';
import { connectEngine, engineVersion } from '../../engine/engine.js';
import { errorMessage, JobError } from '../../errors.js';
import type { Log } from '../../log/log.js';
import { IMAGES_DIR } from '../../paths.js';
import { buildAreaPid, sweepStale } from '../../util/stale.js';
import { type GlobalOptions, openSession } from '../session.js';

/**
 * `lifeboat doctor`: checks what lifeboat needs, and for each failed check prints the fix.
 * QEMU and OVMF are only needed for tests and --boot-test, so their absence is a warning.
 */
type Verdict = 'ok' | 'warn' | 'fail';

interface Check {
  name: string;
  verdict: Verdict;
  detail: string;
  fix?: string;
}

const GiB = 1024 ** 3;

async function checkEngine(): Promise<{ check: Check; engine?: ReturnType<typeof connectEngine> }> {
  try {
    const engine = connectEngine();
    const version = await engineVersion(engine);
    return {
      engine,
      check: {
        name: 'container engine',
        verdict: 'ok',
        detail: `${engine.endpoint.description} answers: ${version.product} ${version.version} (API ${version.apiVersion}, ${version.os}/${version.arch})`,
      },
    };
  } catch (error) {
    return {
      check: {
        name: 'container engine',
        verdict: 'fail',
        detail: errorMessage(error),
        fix: 'start the engine (dockerd, or systemctl start docker), or point DOCKER_HOST at one (unix://, tcp://, ssh://); ci/setup does both here',
      },
    };
  }
}

async function checkBuilder(
  engine: ReturnType<typeof connectEngine> | undefined,
  name: string,
  baseImage: string,
): Promise<Check> {
  if (!engine)
    return { name: 'builder image', verdict: 'fail', detail: 'not checked: no engine answers' };
  try {
    const status = await builderImageStatus({ engine, imagesDir: IMAGES_DIR, name, baseImage });
    if (status.present)
      return {
        name: 'builder image',
        verdict: 'ok',
        detail: `${status.tag} is present and up to date`,
      };
    return {
      name: 'builder image',
      verdict: 'warn',
      detail: `${status.tag} is not built yet (its base ${baseImage} is present)`,
      fix: 'lifeboat builder build (a few minutes, once; any build does it too)',
    };
  } catch (error) {
    return {
      name: 'builder image',
      verdict: 'fail',
      detail: errorMessage(error),
      fix:
        error instanceof JobError && error.hint
          ? error.hint
          : 'see builder.image and builder.baseImage in lifeboat dump',
    };
  }
}

async function checkQemu(): Promise<Check> {
  const missing: string[] = [];
  let version = '';
  try {
    const result = await execa('qemu-system-x86_64', ['--version'], { timeout: 10_000 });
    version = result.stdout.split('\n')[0] ?? '';
  } catch {
    missing.push('qemu-system-x86_64');
  }
  if (!existsSync('/usr/share/ovmf/OVMF.fd')) missing.push('OVMF (/usr/share/ovmf/OVMF.fd)');
  if (missing.length === 0)
    return { name: 'QEMU and OVMF', verdict: 'ok', detail: `${version}; OVMF present` };
  return {
    name: 'QEMU and OVMF',
    verdict: 'warn',
    detail: `missing: ${missing.join(', ')} (needed only for tests and --boot-test)`,
    fix: 'apt-get install qemu-system-x86 ovmf',
  };
}

function checkDisk(workDir: string): Check {
  let dir = workDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const stats = statfsSync(dir);
  const free = (stats.bavail * stats.bsize) / GiB;
  const detail = `${free.toFixed(1)} GiB free in ${dir}${dir === workDir ? '' : ` (for ${workDir})`}`;
  if (free < 2)
    return {
      name: 'disk space',
      verdict: 'fail',
      detail,
      fix: 'free space there, or set paths.workDir to a larger disk (a build needs about 2 GiB)',
    };
  if (free < 10)
    return {
      name: 'disk space',
      verdict: 'warn',
      detail,
      fix: 'builds with backups want 10 GiB or more',
    };
  return { name: 'disk space', verdict: 'ok', detail };
}

/**
 * What killed runs left (a SIGKILL or a power cut: no cleanup ran), removed here as the next
 * build would: build areas and containers whose lifeboat process is gone. (This run's session
 * already swept the temporary directories of killed runs.)
 */
async function sweepLeftovers(
  workDir: string,
  engine: ReturnType<typeof connectEngine> | undefined,
  log: Log,
): Promise<Check> {
  const areas = sweepStale(join(workDir, 'build'), buildAreaPid);
  const containers = engine ? await sweepKilledRuns(engine, log) : 0;
  const removed = [
    ...(areas.length > 0 ? [`${areas.length} build area(s) (${areas.join(', ')})`] : []),
    ...(containers > 0 ? [`${containers} container(s)`] : []),
  ];
  return {
    name: 'leftovers',
    verdict: 'ok',
    detail:
      removed.length > 0
        ? `removed what killed runs left: ${removed.join(', ')}`
        : 'no killed run left anything behind',
  };
}

export function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks
    .map((c) => {
      const line = `${c.verdict.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`;
      return c.fix ? `${line}\n${' '.repeat(width + 8)}fix: ${c.fix}` : line;
    })
    .join('\n');
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check the container engine, builder image, QEMU and disk space, and say how to fix what is missing',
    )
    .action(async (_options: unknown, command: Command) => {
      const session = await openSession('doctor', command.optsWithGlobals<GlobalOptions>());
      const { config } = session.effective;
      const { check: engineCheck, engine } = await checkEngine();
      const checks = [
        engineCheck,
        await checkBuilder(engine, config.builder.image, config.builder.baseImage),
        await checkQemu(),
        checkDisk(config.paths.workDir),
        await sweepLeftovers(config.paths.workDir, engine, session.log),
      ];
      process.stdout.write(`${formatChecks(checks)}\n`);
      session.log.detail(formatChecks(checks));
      const failed = checks.filter((c) => c.verdict === 'fail');
      if (failed.length > 0) {
        throw new JobError(
          `doctor: ${failed.length} check(s) failed: ${failed.map((c) => c.name).join(', ')}`,
        );
      }
    });
}
