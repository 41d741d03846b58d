import { defineConfig } from 'vitest/config';
import { GUEST_FILES } from './test/support/guest-files.js';

const common = {
  // Runs after each file's own after-hooks: removes the file's CLI sandboxes.
  setupFiles: ['test/support/file-cleanup.ts'],
  maxConcurrency: 2,
  testTimeout: 30_000,
  hookTimeout: 600_000,
};

// One run covers every tier (unit, host, engine, fixture, boot, drill); tiers that need real
// components guard themselves with test/support/tiers.ts and fail under CI=true when they can't run.
//
// Two projects run side by side, each one file at a time (fileParallelism: false applies to
// each pool): `guests` in the forks pool and `other` (unit, host, engine and fixture tiers: a
// process or a container at a time, mostly one core) in the threads pool. Vitest runs the two
// pools concurrently, so the suite's time is about the guests' sum, not the sum of every file.
// The other project's worker lowers its own priority (test/support/lower-priority.ts) so that a
// guest keeps its cores and its timeouts mean what they say.
export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    fileParallelism: false,
    projects: [
      {
        test: { ...common, name: 'guests', include: GUEST_FILES, pool: 'forks' },
      },
      {
        test: {
          ...common,
          name: 'other',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: GUEST_FILES,
          setupFiles: ['test/support/lower-priority.ts', ...common.setupFiles],
          // Niced beside guests that keep both cores busy, a test here may wait seconds for a
          // core between its commands: 30 s timed out tests that take 4 s on their own.
          testTimeout: 120_000,
          pool: 'threads',
        },
      },
    ],
  },
});
