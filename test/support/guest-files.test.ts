import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli.js';
import { GUEST_FILES } from './guest-files.js';

/** Every test file under test/, relative to the checkout. */
function testFiles(): string[] {
  return readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((rel) => rel.endsWith('.test.ts'))
    .map((rel) => `test/${rel}`);
}

describe('the guest files (vitest.config.ts runs them one at a time)', () => {
  it('are exactly the test files that declare the boot or drill tier', () => {
    const declaring = testFiles().filter((file) =>
      /describeTier\(\s*'(boot|drill)'/.test(readFileSync(join(ROOT, file), 'utf8')),
    );
    // A guest file missing from the list would run beside the other guests and starve them.
    expect(declaring.sort()).toEqual([...GUEST_FILES].sort());
  });
});
