import { errorMessage } from '../errors.js';
import type { RootView } from './fs-root.js';
import { emptyFragment, type NetworkFragment } from './network-model.js';

/**
 * Reading configuration files best effort: a file that cannot be parsed costs a warning naming
 * it, never the capture. A broken file in /etc/NetworkManager must not stop a disaster-recovery
 * image from being made; the person reading the warnings fixes the network by hand if needed.
 */

/** Parses one file of the root, or undefined (and a warning in `into`) when it cannot be. */
export async function parseRootFile<T>(
  view: RootView,
  path: string,
  into: NetworkFragment,
  parse: (text: string) => T,
): Promise<T | undefined> {
  const bytes = await view.readFile(path);
  if (bytes === undefined) return undefined;
  try {
    const parsed = parse(bytes.toString('utf8'));
    into.files.push(path);
    return parsed;
  } catch (error) {
    into.warnings.push(`${path}: cannot be parsed, skipped: ${errorMessage(error)}`);
    return undefined;
  }
}

/** One fragment per file, each parsed by `toFragment`; unparsable files become warnings. */
export async function fragmentsOfFiles(
  view: RootView,
  paths: readonly string[],
  toFragment: (text: string, path: string) => NetworkFragment,
): Promise<NetworkFragment[]> {
  const fragments: NetworkFragment[] = [];
  for (const path of paths) {
    const status = emptyFragment();
    const parsed = await parseRootFile(view, path, status, (text) => toFragment(text, path));
    fragments.push(status);
    if (parsed !== undefined) fragments.push(parsed);
  }
  return fragments;
}
