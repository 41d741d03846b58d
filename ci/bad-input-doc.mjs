#!/usr/bin/env node
// Writes docs/errors.md: runs every case of test/cli/bad-input-cases.ts against the bundled CLI
// (dist/lifeboat.mjs; `npm run errors-doc` builds it first) and renders what lifeboat said.
// test/cli/bad-input.test.ts fails when the file differs from what the same cases render.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

// The cases are TypeScript and Node 20 runs none: bundle them as ci/build.mjs bundles the CLI.
// The bundle sits two directories below the repository, as test/cli does, so that
// test/support/cli.ts finds the repository (and the CLI in it) at the same relative place.
const bundle = `${root}dist/bad-input/errors-doc.mjs`;
await build({
  stdin: {
    contents: [
      "export { BAD_INPUT_CASES } from './test/cli/bad-input-cases.ts';",
      "export { observeAll, problemsWith } from './test/cli/bad-input-run.ts';",
      "export { ERRORS_DOC, renderErrorsDoc } from './test/cli/bad-input-doc.ts';",
    ].join('\n'),
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
  outfile: bundle,
});
const { BAD_INPUT_CASES, observeAll, problemsWith, ERRORS_DOC, renderErrorsDoc } = await import(
  bundle
);

const seen = await observeAll(BAD_INPUT_CASES);
// A table that documents what the tests refuse would be wrong: write nothing then.
const wrong = BAD_INPUT_CASES.flatMap((kase) =>
  problemsWith(kase, seen.get(kase)).map((problem) => `  ${kase.group}: ${kase.title}: ${problem}`),
);
if (wrong.length > 0) {
  process.stderr.write(
    `bad-input-doc: ${ERRORS_DOC} not written; these cases fail:\n${wrong.join('\n')}\n`,
  );
  process.exit(1);
}
writeFileSync(`${root}${ERRORS_DOC}`, renderErrorsDoc(BAD_INPUT_CASES, seen));
process.stdout.write(`${ERRORS_DOC}: ${BAD_INPUT_CASES.length} bad inputs\n`);
