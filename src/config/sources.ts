import { accessSync, constants, existsSync } from 'node:fs';
import { basename, delimiter, dirname, extname, join, resolve } from 'node:path';
import { cosmiconfig } from 'cosmiconfig';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { errorMessage, UsageError } from '../errors.js';
import { jsonSyntaxError } from '../util/json-syntax.js';
import type { HostFacts } from './facts.js';
import { ConfigError, type Locate, layerOperations, type Operation, type Origin } from './layer.js';
import { recipeMetaKeys } from './schema.js';

/**
 * Reading configuration layers from files and flags. YAML and JSON keep their positions so an
 * error can name the line and column; JS and MJS files may export an object or a function of
 * the configuration so far (the scripting ReaR users do in local.conf).
 */

const EXTENSIONS = ['.yaml', '.yml', '.json', '.mjs', '.js', '.cjs'];

/** What a JS/MJS configuration function receives. */
export interface ConfigScriptContext {
  /** Architecture and OS of the host being protected. */
  facts: HostFacts;
  /** The root being protected ('/' for this host). */
  root: string;
  /** The configuration built by the layers before this one (a copy: changing it changes nothing). */
  current: Record<string, unknown>;
  /** Whether the protected root has this program on its PATH: `hostHas('curl')`. */
  hostHas(program: string): boolean;
}

interface ParsedYaml {
  contents: Node | null;
  lineCounter: LineCounter;
}

/** YAML and JSON documents by file, kept so errors can be placed at a line and column. */
const parsedDocuments = new Map<string, ParsedYaml>();

function loadYamlKeepingPositions(filepath: string, content: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(content, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return {
          where: `${filepath}:${pos.line}:${pos.col}`,
          key: '',
          message: `not valid ${extname(filepath) === '.json' ? 'JSON' : 'YAML'}: ${error.message.split('\n')[0]}`,
        };
      }),
    );
  }
  parsedDocuments.set(filepath, { contents: doc.contents, lineCounter });
  return doc.toJS() ?? {};
}

/**
 * JSON is read by the YAML parser too, for its positions, but YAML would accept what JSON does
 * not (a trailing comma) and word its errors in YAML's terms: JSON.parse judges first.
 */
function loadJsonKeepingPositions(filepath: string, content: string): unknown {
  // An empty file is no configuration, as an empty YAML file is.
  const syntax = content.trim() === '' ? undefined : jsonSyntaxError(content);
  if (syntax) {
    throw new ConfigError([
      {
        where: `${filepath}:${syntax.line}:${syntax.column}`,
        key: '',
        message: `not valid JSON: ${syntax.reason}`,
      },
    ]);
  }
  return loadYamlKeepingPositions(filepath, content);
}

function locatorFor(filepath: string): Locate | undefined {
  const parsed = parsedDocuments.get(filepath);
  if (!parsed) return undefined;
  return (rawPath, part) => {
    let node: unknown = parsed.contents;
    let keyNode: unknown;
    for (const segment of rawPath) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isScalar(p.key) && String(p.key.value) === String(segment),
        );
        if (!pair) return undefined;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        keyNode = node;
      } else {
        return undefined;
      }
    }
    const target = (part === 'key' ? keyNode : (node ?? keyNode)) as
      | { range?: [number, number, number] }
      | undefined;
    const offset = target?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = parsed.lineCounter.linePos(offset);
    return { line, column: col };
  };
}

const explorer = cosmiconfig('lifeboat', {
  searchStrategy: 'none',
  cache: false,
  loaders: {
    '.yaml': loadYamlKeepingPositions,
    '.yml': loadYamlKeepingPositions,
    '.json': loadJsonKeepingPositions,
    noExt: loadYamlKeepingPositions,
  },
});

/** Load one configuration file into operations, whatever its format. */
export async function fileOperations(
  filepath: string,
  origin: Omit<Origin, 'source'>,
  script: ConfigScriptContext,
  options: { recipe?: boolean } = {},
): Promise<{ operations: Operation[]; meta: Record<string, unknown> }> {
  const absolute = resolve(filepath);
  if (!existsSync(absolute)) {
    throw new UsageError(`${filepath}: no such file`, {
      hint: 'Check the path; configuration files may be YAML, JSON, JS or MJS.',
    });
  }
  const extension = extname(absolute);
  if (extension !== '' && !EXTENSIONS.includes(extension)) {
    throw new UsageError(
      `${absolute}: lifeboat reads configuration files ending in ${EXTENSIONS.join(', ')} (or none, read as YAML), not ${extension}`,
      extension === '.conf'
        ? {
            hint: `If it is ReaR's, convert it: lifeboat import-rear --from ${dirname(absolute)} --out local.yaml`,
          }
        : {},
    );
  }
  let loaded: unknown;
  try {
    loaded = (await explorer.load(absolute))?.config;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${absolute}: could not be read: ${errorMessage(error).split('\n')[0]}`);
  }
  if (typeof loaded === 'function') {
    try {
      loaded = await (loaded as (ctx: ConfigScriptContext) => unknown)(script);
    } catch (error) {
      throw new UsageError(`${absolute}: its exported function failed: ${errorMessage(error)}`);
    }
  }
  const meta: Record<string, unknown> = {};
  if (options.recipe && loaded !== null && typeof loaded === 'object' && !Array.isArray(loaded)) {
    const rest = { ...(loaded as Record<string, unknown>) };
    for (const key of recipeMetaKeys) {
      if (key in rest) meta[key] = rest[key];
      delete rest[key];
    }
    loaded = rest;
  }
  const operations = layerOperations(loaded, { ...origin, source: absolute }, locatorFor(absolute));
  return { operations, meta };
}

/** The one file among `base` + each extension in `dir`; two of them is an error, none is fine. */
export function findLayerFile(
  dir: string,
  base: string,
  extensions = EXTENSIONS,
): string | undefined {
  const found = extensions.map((ext) => join(dir, base + ext)).filter((f) => existsSync(f));
  if (found.length > 1) {
    throw new UsageError(`${found.join(' and ')}: more than one ${base} file`, {
      hint: `Keep one ${base} file in ${dir}; lifeboat would not know which one wins.`,
    });
  }
  return found[0];
}

/** The project's own configuration in a working directory: lifeboat.config.* or .lifeboatrc*. */
export function findProjectFile(cwd: string): string | undefined {
  const candidates = [
    findLayerFile(cwd, 'lifeboat.config'),
    findLayerFile(cwd, '.lifeboatrc', ['', ...EXTENSIONS]),
  ].filter((f): f is string => f !== undefined);
  if (candidates.length > 1) {
    throw new UsageError(`${candidates.join(' and ')}: more than one project configuration file`, {
      hint: `Keep either lifeboat.config.* or .lifeboatrc* in ${cwd}.`,
    });
  }
  return candidates[0];
}

/** Splits `key=value`, `key+=value`, `key-=value`; the value is read as YAML. */
export function parseAssignment(text: string): { rawKey: string; value: unknown } | undefined {
  const equals = text.indexOf('=');
  const rawKey = equals > 0 ? text.slice(0, equals) : '';
  if (!rawKey || !/^[A-Za-z0-9_.]+[+-]?$/.test(rawKey)) return undefined;
  const valueText = text.slice(equals + 1);
  if (valueText === '') return { rawKey, value: '' };
  // Anything YAML can't read as a value is taken as the plain string it is: a syntax error, or
  // a value that only fails when resolved (`*.skip` reads as an alias to an anchor `.skip`).
  const doc = parseDocument(valueText);
  if (doc.errors.length > 0) return { rawKey, value: valueText };
  try {
    return { rawKey, value: doc.toJS() };
  } catch {
    return { rawKey, value: valueText };
  }
}

/** The layer that a dotted key and a value stand for: `a.b+` → { a: { 'b+': value } }. */
export function assignmentLayer(rawKey: string, value: unknown): Record<string, unknown> {
  const segments = rawKey.split('.');
  const layer: Record<string, unknown> = {};
  let cursor = layer;
  segments.forEach((segment, i) => {
    const next = i === segments.length - 1 ? value : {};
    // Own properties whatever the name: `cursor[segment] =` with `__proto__` would set the
    // object's prototype (and the key would vanish instead of being refused as unknown).
    Object.defineProperty(cursor, segment, {
      value: next,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    cursor = next as Record<string, unknown>;
  });
  return layer;
}

/** `--set key=value`, `--set key+=value`, `--set key-=value`. */
export function flagOperations(flag: string): Operation[] {
  const parsed = parseAssignment(flag);
  if (!parsed) {
    throw new UsageError(`--set ${flag}: expected KEY=VALUE`, {
      hint: 'For example --set boot.timeout=10, --set output.methods=[iso,pxe] or --set rescue.programs+=curl.',
    });
  }
  // The source names the key only: a flag may carry a secret, and sources are printed.
  return layerOperations(assignmentLayer(parsed.rawKey, parsed.value), {
    layer: 'flag',
    source: `--set ${parsed.rawKey}`,
  });
}

/** `hostHas` for configuration scripts: is there an executable `program` on the root's PATH. */
export function hostHasProgram(
  root: string,
  program: string,
  path = process.env.PATH ?? '',
): boolean {
  if (program.includes('/')) return isExecutable(join(root, program));
  const dirs = new Set([
    ...path.split(delimiter),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ]);
  for (const dir of dirs) {
    if (dir.startsWith('/') && isExecutable(join(root, dir, basename(program)))) return true;
  }
  return false;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
