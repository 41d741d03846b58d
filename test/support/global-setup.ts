import { execa } from 'execa';

/** The CLI tests run the real bundled program, so build it once before any test. */
export default async function setup(): Promise<void> {
  await execa('node', ['ci/build.mjs'], { stdio: 'inherit' });
}
