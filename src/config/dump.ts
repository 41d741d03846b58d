import type { Origin } from './layer.js';
import { secretPaths } from './layer.js';
import { type EffectiveConfig, LAYER_ORDER } from './load.js';
import { URL_KEYS, urlPasswords, urlWithoutPassword } from './url-credentials.js';

/**
 * `lifeboat dump`: the effective configuration, one key per line with the layers that made its
 * value, secrets shown as <redacted>. ReaR's `rear dump` prints its variables the same way.
 */
export const REDACTED = '<redacted>';

/** A copy of the configuration with every secret that is set replaced by <redacted>. */
export function redactedConfig<T extends object>(config: T): T {
  return eachSecret(
    config,
    (parent, leaf) => {
      parent[leaf] = REDACTED;
    },
    (parent, leaf) => {
      parent[leaf] = urlWithoutPassword(parent[leaf] as string, REDACTED);
    },
  );
}

/**
 * A copy of the configuration with every secret left out: what may be written where anyone can
 * read it (a build manifest), secrets then coming from the configuration of whoever reads it.
 */
export function configWithoutSecrets<T extends object>(config: T): T {
  const drop = (parent: Record<string, unknown>, leaf: string) => {
    delete parent[leaf];
  };
  // A URL with a password goes whole, as a secret key does: the reader's configuration has it.
  return eachSecret(config, drop, drop);
}

/**
 * A copy with `change` applied to every secret key that is set, and `changeUrl` to every URL key
 * whose URL carries a password.
 */
function eachSecret<T extends object>(
  config: T,
  change: (parent: Record<string, unknown>, leaf: string) => void,
  changeUrl: (parent: Record<string, unknown>, leaf: string) => void,
): T {
  const copy = structuredClone(config) as Record<string, unknown>;
  const visit = (path: string, apply: typeof change, when: (value: unknown) => boolean) => {
    const keys = path.split('.');
    const leaf = keys.pop() as string;
    let parent: unknown = copy;
    for (const key of keys) parent = (parent as Record<string, unknown> | undefined)?.[key];
    if (parent && typeof parent === 'object' && leaf in parent) {
      const record = parent as Record<string, unknown>;
      if (when(record[leaf])) apply(record, leaf);
    }
  };
  for (const path of secretPaths()) visit(path, change, () => true);
  for (const path of URL_KEYS)
    visit(path, changeUrl, (v) => typeof v === 'string' && urlPasswords(v).length > 0);
  return copy as T;
}

export interface DumpEntry {
  key: string;
  value: unknown;
  origins: Origin[];
}

export function dumpEntries(effective: EffectiveConfig): DumpEntry[] {
  const secrets = new Set(secretPaths());
  const entries: DumpEntry[] = [];
  const walk = (value: unknown, path: string[]) => {
    const key = path.join('.');
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      !effective.origins.has(key)
    ) {
      for (const child of Object.keys(value).sort())
        walk((value as Record<string, unknown>)[child], [...path, child]);
      return;
    }
    entries.push({
      key,
      value: secrets.has(key)
        ? REDACTED
        : (URL_KEYS as readonly string[]).includes(key) && typeof value === 'string'
          ? urlWithoutPassword(value, REDACTED)
          : value,
      origins: effective.origins.get(key) ?? [],
    });
  };
  walk(effective.config, []);
  return entries;
}

function originText(origin: Origin, index: number): string {
  const place = origin.line === undefined ? origin.source : `${origin.source}:${origin.line}`;
  const what = origin.layer === 'default' ? 'default' : `${origin.layer} ${place}`;
  return index === 0 ? what : `+ ${what}`;
}

export function formatDumpText(effective: EffectiveConfig): string {
  const entries = dumpEntries(effective);
  const rendered = entries.map((e) => ({
    left: `${e.key} = ${e.value === REDACTED ? REDACTED : JSON.stringify(e.value)}`,
    right: e.origins.map(originText).join(', '),
  }));
  const width = Math.min(60, Math.max(...rendered.map((r) => r.left.length)));
  const { facts } = effective;
  const header = [
    `# lifeboat effective configuration (later layers win: ${LAYER_ORDER.join(' < ')})`,
    `# host: ${facts.arch}, ${facts.osId} ${facts.osVersion}${facts.osIdLike.length ? ` (like ${facts.osIdLike.join(' ')})` : ''}`,
    `# layers read: ${effective.layers.map((l) => (l.kind === 'default' ? 'default' : `${l.kind} ${l.source}`)).join('; ')}`,
  ];
  const lines = rendered.map((r) => `${r.left.padEnd(width)}  # ${r.right}`);
  return `${[...header, ...lines].join('\n')}\n`;
}

export function formatDumpJson(effective: EffectiveConfig): string {
  return `${JSON.stringify(
    {
      facts: effective.facts,
      layers: effective.layers,
      ...(effective.recipe ? { recipe: effective.recipe } : {}),
      values: dumpEntries(effective),
    },
    null,
    2,
  )}\n`;
}
