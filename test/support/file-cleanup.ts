import { afterAll } from 'vitest';
import { removeSandboxes } from './cli.js';

// A setup file (vitest.config.ts): registered before a test file's own hooks, so it runs after
// them (vitest runs after-hooks last registered first), when the file's servers and guests are
// gone. Sandboxes hold captures, builds and backups: hundreds of MiB each.
afterAll(() => removeSandboxes());
