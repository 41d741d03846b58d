import { execa } from 'execa';
import { fixturePrerequisitesMissing } from './fixtures.js';

/**
 * Before any test: build the CLI bundle (the CLI tests run the real program), and make the Debian
 * fixture root once (a few minutes on a fresh machine, instant when cached) so that parallel test
 * files find it ready.
 */
export default async function setup(): Promise<void> {
  await execa('node', ['ci/build.mjs'], { stdio: 'inherit' });
  if (fixturePrerequisitesMissing() === undefined) {
    const started = Date.now();
    const made = await execa('ci/fixtures/debian-root', ['host'], {
      reject: false,
      timeout: 20 * 60_000,
    });
    const took = Math.round((Date.now() - started) / 1000);
    if (took > 5) process.stderr.write(`test fixture: Debian root ready in ${took} s\n`);
    if (made.exitCode !== 0)
      process.stderr.write(`test fixture: ${made.stderr.trim().slice(-500)}\n`);
  }
}
