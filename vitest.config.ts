import { defineConfig } from 'vitest/config';

// One run covers every tier (unit, host, engine, fixture, boot, drill); tiers that need real
// components guard themselves with test/support/tiers.ts and fail under CI=true when they can't run.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/file-cleanup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    pool: 'forks',
    // One test file at a time: the boot tiers run QEMU under TCG, two virtual CPUs a guest, and
    // more guests than cores starve each other past their timeouts. The suite's time is the sum
    // of its files. Within a file, tests marked concurrent run two at a time, their guests on
    // one virtual CPU each (SIDE_BY_SIDE_CPUS in src/boot/qemu.ts).
    fileParallelism: false,
    maxConcurrency: 2,
    testTimeout: 30_000,
    hookTimeout: 600_000,
  },
});
