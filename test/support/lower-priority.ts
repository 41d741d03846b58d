import { setPriority } from 'node:os';

// A setup file of the `other` project (vitest.config.ts), whose files run beside the guest
// files. Linux keeps a nice value per thread, and this runs in the file's worker thread: the
// thread and every process it starts (the CLI, tar, zstd, servers) yield the cores to QEMU, so
// a guest's timeouts hold whatever else is running.
setPriority(10);
