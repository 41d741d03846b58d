import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { describeTier, hostMissing } from '../support/tiers.js';
import { BAD_INPUT_CASES } from './bad-input-cases.js';
import { ERRORS_DOC, renderErrorsDoc } from './bad-input-doc.js';
import { type Observation, observe, problemsWith } from './bad-input-run.js';

/**
 * Host tier: every bad input of bad-input-cases.ts, run against the bundled CLI, gets its exit
 * code and one clear message, never a stack trace; docs/errors.md shows exactly what they said.
 */
describeTier('host', hostMissing())('bad input', () => {
  const seen = new Map<(typeof BAD_INPUT_CASES)[number], Observation>();

  it.concurrent.each(
    BAD_INPUT_CASES.map((kase) => [`${kase.group}: ${kase.title}`, kase] as const),
  )('%s', async (_, kase) => {
    const observed = await observe(kase);
    seen.set(kase, observed);
    expect(problemsWith(kase, observed), observed.all).toEqual([]);
  });

  it(`${ERRORS_DOC} is current (npm run errors-doc)`, () => {
    const missing = BAD_INPUT_CASES.filter((kase) => !seen.has(kase)).map((kase) => kase.title);
    expect(missing, 'cases that did not run').toEqual([]);
    const current = readFileSync(join(ROOT, ERRORS_DOC), 'utf8');
    expect(current, `${ERRORS_DOC} differs from what lifeboat says: run npm run errors-doc`).toBe(
      renderErrorsDoc(BAD_INPUT_CASES, seen),
    );
  });
});
