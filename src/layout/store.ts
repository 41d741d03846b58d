import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { canonicalJson } from '../capture/canonical-json.js';
import { UsageError } from '../errors.js';
import { LAYOUT_SCHEMA, type Layout } from './model.js';

/**
 * layout.json: a Layout as canonical JSON, so two captures of an unchanged layout are the same
 * bytes and `diff` of two is readable. Where lifeboat looks for one:
 *
 *   SAVED_LAYOUT    what `lifeboat savelayout` wrote last on this machine (in the rescue system:
 *                   the layout saved there, which layoutonly and recover then use)
 *   MEDIUM_LAYOUT   the layout that came with the rescue medium (the build puts it there)
 */
export const SAVED_LAYOUT = '/var/lib/lifeboat/layout/layout.json';
export const MEDIUM_LAYOUT = '/etc/lifeboat/layout.json';

export async function writeLayout(file: string, layout: Layout): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // A temporary name first: a crash never leaves half a layout where recover would read it.
  const partial = `${file}.partial-${process.pid}`;
  try {
    await writeFile(partial, canonicalJson(layout), { mode: 0o600 });
    await chmod(partial, 0o600);
    await rename(partial, file);
  } catch (error) {
    // Nothing reads a partial: left behind it is litter. Removing it must not hide why it failed.
    await rm(partial, { force: true }).catch(() => undefined);
    throw error;
  }
}

export async function readLayout(file: string): Promise<Layout> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: no such layout file`, {
      hint: 'Write one with `lifeboat savelayout`, or name one with --layout FILE.',
    });
  }
  let layout: Layout;
  try {
    layout = JSON.parse(text) as Layout;
  } catch (error) {
    throw new UsageError(`${file}: not JSON (${(error as Error).message})`);
  }
  if (layout?.schema !== LAYOUT_SCHEMA)
    throw new UsageError(
      `${file}: not a lifeboat layout (schema ${String(layout?.schema)}, expected ${LAYOUT_SCHEMA})`,
    );
  return layout;
}
