import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { configDir, RECIPES_DIR } from '../paths.js';
import { builtinDefaults } from './defaults.js';
import { type HostFacts, readHostFacts } from './facts.js';
import {
  type LayerKind,
  layerOperations,
  type Operation,
  type Origin,
  secretPaths,
} from './layer.js';
import { applyOperations, emptyMerged, valueAt } from './merge.js';
import { applicableProfiles } from './profiles.js';
import { type Config, configSchema } from './schema.js';
import {
  type ConfigScriptContext,
  fileOperations,
  findLayerFile,
  findProjectFile,
  flagOperations,
  hostHasProgram,
} from './sources.js';
import { URL_KEYS, urlPasswords } from './url-credentials.js';

/**
 * The layer stack, later wins:
 *   default → os profile → site → local → config (--config) → recipe (--recipe) → flag (--set)
 * ReaR's order (default.conf, $ARCH/$OS confs, site.conf, local.conf) with lifeboat's recipe
 * and flags on top.
 */
export const LAYER_ORDER: LayerKind[] = [
  'default',
  'os profile',
  'site',
  'local',
  'config',
  'recipe',
  'flag',
];

export interface LoadOptions {
  /** Directory of site.* and local.* (default /etc/lifeboat or $LIFEBOAT_CONFIG_DIR). */
  configDir?: string;
  /** Where lifeboat.config.* / .lifeboatrc* are looked for (default: the working directory). */
  cwd?: string;
  /** --config FILE, in order. */
  configFiles?: string[];
  /** --recipe NAME|FILE. */
  recipe?: string;
  /** --set KEY=VALUE, in order. */
  sets?: string[];
  /** The root being protected, for facts and hostHas() (default /). */
  root?: string;
  /** Override the facts (tests, or a capture of another host). */
  facts?: HostFacts;
  env?: NodeJS.ProcessEnv;
}

export interface LayerInfo {
  kind: LayerKind;
  source: string;
}

export interface EffectiveConfig {
  config: Config;
  /** Every key path (dotted) that has a value → the layers that gave it. */
  origins: Map<string, Origin[]>;
  /** The layers that were read, in order. */
  layers: LayerInfo[];
  facts: HostFacts;
  /** The recipe's name and description, when a recipe was given. */
  recipe?: { file: string; name?: string; description?: string };
  /** Values of secret keys that are set: the log redacts them. */
  secretValues: string[];
}

/** `--recipe default` is recipes/default.yaml; anything with a slash or extension is a path. */
export function resolveRecipe(recipe: string): string {
  if (recipe.includes('/') || /\.(ya?ml|json|m?js)$/.test(recipe)) return recipe;
  const shipped = join(RECIPES_DIR, `${recipe}.yaml`);
  if (existsSync(shipped)) return shipped;
  throw new UsageError(`--recipe ${recipe}: no such recipe`, {
    hint: `Give a path to a recipe file, or one of the shipped recipes in ${RECIPES_DIR}.`,
  });
}

export async function loadConfig(options: LoadOptions = {}): Promise<EffectiveConfig> {
  const env = options.env ?? process.env;
  const root = options.root ?? '/';
  const facts = options.facts ?? readHostFacts(root);
  const merged = emptyMerged();
  const layers: LayerInfo[] = [];
  const add = (kind: LayerKind, source: string, operations: Operation[]) => {
    applyOperations(merged, operations);
    layers.push({ kind, source });
  };
  const script = (): ConfigScriptContext => ({
    facts,
    root,
    current: structuredClone(merged.values),
    hostHas: (program) => hostHasProgram(root, program),
  });

  add(
    'default',
    'built-in',
    layerOperations(builtinDefaults(env), { layer: 'default', source: 'built-in' }),
  );
  for (const profile of applicableProfiles(facts)) {
    add(
      'os profile',
      profile.name,
      layerOperations(profile.values, { layer: 'os profile', source: profile.name }),
    );
  }

  const dir = options.configDir ?? configDir(env);
  const fileLayers: { kind: LayerKind; file: string | undefined }[] = [
    { kind: 'site', file: findLayerFile(dir, 'site') },
    { kind: 'local', file: findLayerFile(dir, 'local') },
    { kind: 'local', file: findProjectFile(options.cwd ?? process.cwd()) },
    ...(options.configFiles ?? []).map((file) => ({ kind: 'config' as const, file })),
  ];
  for (const { kind, file } of fileLayers) {
    if (file) add(kind, file, (await fileOperations(file, { layer: kind }, script())).operations);
  }

  let recipe: EffectiveConfig['recipe'];
  if (options.recipe !== undefined) {
    const file = resolveRecipe(options.recipe);
    const loaded = await fileOperations(file, { layer: 'recipe' }, script(), { recipe: true });
    add('recipe', file, loaded.operations);
    recipe = { file, ...(loaded.meta as { name?: string; description?: string }) };
  }

  for (const flag of options.sets ?? [])
    add('flag', `--set ${flag.split('=')[0]}`, flagOperations(flag));

  // Every layer was checked on its own; this catches what only the whole can show.
  const config = configSchema.parse(merged.values) as Config;
  const secretValues = [
    ...secretPaths().map((path) => valueAt(merged.values, path)),
    ...URL_KEYS.flatMap((path) => {
      const url = valueAt(merged.values, path);
      return typeof url === 'string' ? urlPasswords(url) : [];
    }),
  ].filter((v): v is string => typeof v === 'string');
  return {
    config,
    origins: merged.origins,
    layers,
    facts,
    ...(recipe ? { recipe } : {}),
    secretValues,
  };
}
