import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the slowest test files with the run's total (what to look at when the suite grows
 * past its budget), then one plain closing line, `lifeboat: N passed, N failed, N skipped`, that
 * CI logs and the workplace's CI reader understand whatever the test runner.
 */
export default class SummaryReporter implements Reporter {
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
    process.stdout.write(slowestFiles(testModules));
    process.stdout.write(`\nlifeboat: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

const SLOWEST = 12;

/** The SLOWEST files by the time their tests ran, and the sum over every file (files run one at a time). */
function slowestFiles(testModules: ReadonlyArray<TestModule>): string {
  const files = testModules
    .map((module) => ({
      name: relative(process.cwd(), module.moduleId),
      seconds: module.diagnostic().duration / 1000,
    }))
    .sort((a, b) => b.seconds - a.seconds);
  const total = files.reduce((sum, file) => sum + file.seconds, 0);
  const width = Math.max(4, ...files.slice(0, SLOWEST).map((file) => file.name.length));
  const row = (name: string, seconds: string) =>
    `| ${name.padEnd(width)} | ${seconds.padStart(9)} |`;
  return [
    '',
    `slowest test files (${Math.min(SLOWEST, files.length)} of ${files.length}):`,
    row('file', 'seconds'),
    row('-'.repeat(width), '-'.repeat(9)),
    ...files.slice(0, SLOWEST).map((file) => row(file.name, file.seconds.toFixed(1))),
    row(`all ${files.length} files`, total.toFixed(1)),
    '',
  ].join('\n');
}
