import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the slowest test files with the run's total (what to look at when the suite grows
 * past its budget), then one plain closing line, `lifeboat: N passed, N failed, N skipped`, that
 * CI logs and the workplace's CI reader understand whatever the test runner.
 */
export default class SummaryReporter implements Reporter {
  private started = Date.now();

  onTestRunStart(): void {
    this.started = Date.now();
  }

  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
  ): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of testModules) {
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(slowestFiles(testModules, (Date.now() - this.started) / 1000));
    process.stdout.write(`\nlifeboat: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

const SLOWEST = 12;

/**
 * The SLOWEST files by the time their tests ran; then, per project of vitest.config.ts, the sum
 * over its files (each project runs one file at a time, the projects side by side); then the
 * run's wall time, which is about the larger sum.
 */
function slowestFiles(testModules: ReadonlyArray<TestModule>, wallSeconds: number): string {
  const files = testModules
    .map((module) => ({
      name: relative(process.cwd(), module.moduleId),
      project: module.project.name,
      seconds: module.diagnostic().duration / 1000,
    }))
    .sort((a, b) => b.seconds - a.seconds);
  const projects = [...new Set(files.map((file) => file.project))].sort();
  const sums = projects.map((project) => {
    const own = files.filter((file) => file.project === project);
    return {
      name: `${project || 'all'}: ${own.length} files, one at a time`,
      seconds: own.reduce((sum, file) => sum + file.seconds, 0),
    };
  });
  const width = Math.max(
    4,
    ...files.slice(0, SLOWEST).map((file) => file.name.length),
    ...sums.map((sum) => sum.name.length),
  );
  const row = (name: string, seconds: string) =>
    `| ${name.padEnd(width)} | ${seconds.padStart(9)} |`;
  return [
    '',
    `slowest test files (${Math.min(SLOWEST, files.length)} of ${files.length}):`,
    row('file', 'seconds'),
    row('-'.repeat(width), '-'.repeat(9)),
    ...files.slice(0, SLOWEST).map((file) => row(file.name, file.seconds.toFixed(1))),
    ...sums.map((sum) => row(sum.name, sum.seconds.toFixed(1))),
    row('wall time, projects side by side', wallSeconds.toFixed(1)),
    '',
  ].join('\n');
}
