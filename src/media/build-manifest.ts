import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../capture/canonical-json.js';

/**
 * manifest.json, written beside the artifacts: the digest of every input and the sha256 and size
 * of every artifact. `lifeboat verify` rebuilds from the inputs it names and compares.
 */
export const BUILD_MANIFEST_SCHEMA = 'lifeboat.build/v1';

export interface BuildInputs {
  /** sha256 of the capture's capture.json (which holds the sha256 of every captured file). */
  capture: string;
  /**
   * Where the capture bundle was, for verify: a path on the building machine, or one relative to
   * the manifest's directory when the bundle was copied into the output (mkrescue).
   */
  captureDir: string;
  /**
   * sha256 of the effective configuration as canonical JSON (recipe and flags included), less
   * what cannot change the media: paths, output.dir and output.url, and sourceDateEpoch (below).
   */
  config: string;
  /** The recipe file and its sha256, when one was given. */
  recipe: { file: string; sha256: string } | null;
  /** The builder image's ID: it pins every Debian package of the rescue userland. */
  builderImage: string;
  lifeboatVersion: string;
  /** sha256 of lifeboat as the rescue system carries it (dist/rescue/lifeboat.mjs). */
  lifeboatBundle: string;
  /** sha256 of each skeleton layer used (skel/default, skel/<output method>), in order. */
  skeleton: string[];
  /** sha256 of each of the recipe's overlays (rescue.overlays), in order. */
  overlays: string[];
  sourceDateEpoch: number;
}

export interface Artifact {
  /** File name inside the output directory. */
  name: string;
  sha256: string;
  size: number;
}

export interface BuildManifest {
  schema: typeof BUILD_MANIFEST_SCHEMA;
  inputs: BuildInputs;
  /**
   * The configuration inputs.config is the digest of, secrets left out: `lifeboat verify` builds
   * with it again (a configuration layer), taking secrets from its own configuration.
   */
  configuration: unknown;
  artifacts: Artifact[];
  /**
   * The initrd's layers, in the order they are joined (base, then host): the base layer's digest
   * is the same for every host built with the same recipe, builder image and lifeboat.
   */
  initrdLayers?: { name: string; sha256: string; bytes: number }[];
}

export function sha256Of(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function describeArtifact(dir: string, name: string): Promise<Artifact> {
  const path = join(dir, name);
  const info = await stat(path);
  if (info.isDirectory()) return { name, ...(await treeDigest(path)) };
  return { name, sha256: await sha256OfFile(path), size: info.size };
}

/**
 * A directory artifact (a PXE tree) as one digest: a line per entry, sorted by path, with its
 * type, mode and either its content's sha256 or its link target. Equal digests, equal trees.
 */
async function treeDigest(root: string): Promise<{ sha256: string; size: number }> {
  const lines: string[] = [];
  let size = 0;
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(root, relative))).sort()) {
      const path = join(relative, name);
      const info = await lstat(join(root, path));
      const mode = (info.mode & 0o7777).toString(8);
      if (info.isSymbolicLink()) {
        lines.push(`${path} link ${mode} ${await readlink(join(root, path))}`);
      } else if (info.isDirectory()) {
        lines.push(`${path} dir ${mode}`);
        await walk(path);
      } else {
        lines.push(`${path} file ${mode} ${await sha256OfFile(join(root, path))}`);
        size += info.size;
      }
    }
  };
  await walk('');
  return { sha256: sha256Of(`${lines.join('\n')}\n`), size };
}

export function formatBuildManifest(manifest: BuildManifest): string {
  const artifacts = [...manifest.artifacts].sort((a, b) => (a.name < b.name ? -1 : 1));
  return canonicalJson({ ...manifest, artifacts });
}
