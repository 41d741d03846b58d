import { z } from 'zod';
import { schemaAt, secretPaths, unwrap } from '../config/layer.js';
import { rearName } from '../config/rear-names.js';
import type { RearAssignment, RearConfig, RearValue } from './bash-config.js';
import { bashTokens } from './bash-words.js';

/**
 * ReaR's variables → a lifeboat configuration layer, through the ReaR-name mapping
 * (src/config/rear-names.ts, the table in docs/configuration.md). Each value is converted the way
 * the mapping's note says and checked against the key's schema; a variable that has no key, or
 * whose value the key cannot take, is reported with the reason and left out.
 */
export interface ImportRow {
  rear: string;
  /** The value as the files set it (secrets redacted). */
  value: string;
  /** The lifeboat key it became (with `+` when it appends to the default), or undefined. */
  key?: string;
  /** Why it was not imported. */
  why?: string;
  where: string;
}

export interface ImportedConfig {
  /** The configuration layer, nested: { backup: { method: 'netfs' } }. */
  layer: Record<string, unknown>;
  rows: ImportRow[];
}

export function importRearConfig(config: RearConfig): ImportedConfig {
  const layer: Record<string, unknown> = {};
  const rows: ImportRow[] = [];
  // Here, not at module load: every CLI command imports this module.
  const secrets = new Set(secretPaths());
  for (const variable of config.variables.values()) {
    const where = `${variable.file}:${variable.line}`;
    const converted = convert(variable);
    const secret =
      (converted.key !== undefined && secrets.has(converted.key)) || looksSecret(variable);
    const shown = secret ? '<redacted>' : show(variable.value);
    if ('why' in converted) {
      rows.push({ rear: variable.name, value: shown, why: converted.why, where });
      continue;
    }
    const key =
      variable.appends && Array.isArray(converted.value) ? `${converted.key}+` : converted.key;
    setAt(layer, key, converted.value);
    rows.push({ rear: variable.name, value: shown, key, where });
  }
  return { layer, rows };
}

/**
 * What the table must not print although lifeboat has no secret key for it: a variable named like
 * a secret (BORG_PASSPHRASE, a *_KEY), or mount options holding a password.
 */
function looksSecret(variable: RearAssignment): boolean {
  return (
    /PASS|SECRET|TOKEN|CRED|KEY/.test(variable.name) ||
    /\b(pass|password)=/i.test(show(variable.value))
  );
}

function show(value: RearValue): string {
  return typeof value === 'string' ? value : `( ${value.join(' ')} )`;
}

type Converted = { key: string; value: unknown } | { why: string; key?: string };

/** The mapping's key and the value converted for it, checked against its schema. */
function convert(variable: RearAssignment): Converted {
  const name = rearName(variable.name);
  if (name === undefined) return { why: 'lifeboat has no setting for it' };
  const special = SPECIAL[variable.name]?.(variable.value);
  if (special !== undefined && 'why' in special) return { ...special, key: name.key };
  const key = special?.key ?? name.key;
  const schema = schemaAt(key.split('.'));
  if (schema === undefined) return { why: `the mapping names ${key}, which is no key` };
  const value = special !== undefined ? special.value : byType(variable.value, schema);
  const checked = schema.safeParse(value);
  if (!checked.success)
    return { key, why: `not a value ${key} takes: ${checked.error.issues[0]?.message ?? ''}` };
  return { key, value };
}

/** Plain conversions by the key's type: lists split on blanks, y/n, numbers, lower-case names. */
function byType(value: RearValue, schema: z.ZodType): unknown {
  const inner = unwrap(schema);
  const scalar = typeof value === 'string' ? value : value.join(' ');
  if (inner instanceof z.ZodArray)
    return typeof value === 'string' ? value.split(/\s+/).filter((w) => w !== '') : value;
  if (inner instanceof z.ZodBoolean) {
    if (/^(y|yes|true|1)$/i.test(scalar)) return true;
    if (/^(n|no|false|0)$/i.test(scalar)) return false;
    return scalar;
  }
  if (inner instanceof z.ZodNumber) return scalar.trim() === '' ? scalar : Number(scalar);
  if (inner instanceof z.ZodEnum) return scalar.toLowerCase();
  return scalar;
}

const text = (value: RearValue) => (typeof value === 'string' ? value : value.join(' '));

/** A command ReaR evaluates as a string → its words, when it is no more than words. */
function commandWords(value: RearValue): Converted | { key?: string; value: unknown } {
  if (Array.isArray(value)) return { value };
  const tokens = bashTokens(value);
  const words: string[] = [];
  for (const token of tokens) {
    if (token.kind !== 'word' || token.parts.some((p) => p.text === undefined))
      return {
        why: 'ReaR runs it through bash; lifeboat runs a program with arguments, and this is more than words',
      };
    words.push(token.parts.map((p) => p.text).join(''));
  }
  return { value: words };
}

/** Where ReaR's value means something other than lifeboat's, as the mapping's notes say. */
const SPECIAL: Record<string, (value: RearValue) => Converted | { key?: string; value: unknown }> =
  {
    OUTPUT: (v) => ({ value: [text(v).toLowerCase()] }),
    BACKUP: (v) => ({ value: text(v).toLowerCase() }),
    MODULES: (v) => {
      const names = typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : v;
      if (names.length === 1 && names[0] === 'all_modules') return { value: 'all' };
      if (names.length === 1 && names[0] === 'loaded_modules') return { value: 'loaded' };
      return { key: 'rescue.extraModules', value: names };
    },
    ISO_DEFAULT: (v) => {
      const mode = { manual: 'rescue', automatic: 'recover', boothd: 'local' }[text(v)];
      return mode === undefined
        ? { why: `${text(v)} is not manual, automatic or boothd` }
        : { value: mode };
    },
    PXE_RECOVER_MODE: (v) =>
      ['automatic', 'unattended'].includes(text(v))
        ? { value: 'recover' }
        : text(v) === ''
          ? { value: 'rescue' }
          : { why: `${text(v)} is not automatic, unattended or empty` },
    USE_STATIC_NETWORKING: (v) =>
      /^(y|yes|true|1)$/i.test(text(v)) ? { value: 'static' } : { value: 'dhcp' },
    PXE_CREATE_LINKS: (v) => ({ value: text(v).toLowerCase() }),
    SSH_ROOT_PASSWORD: (v) =>
      /^\$[0-9a-z]+\$/.test(text(v))
        ? { value: text(v) }
        : { why: 'a plain password: lifeboat takes a crypt(3) hash only (mkpasswd -m sha-512)' },
    EXTERNAL_CHECK: commandWords,
    EXTERNAL_BACKUP: commandWords,
    EXTERNAL_RESTORE: commandWords,
    REQUESTRESTORE_COMMAND: commandWords,
    REQUESTRESTORE_FINISHED_FILE: (v) => ({ value: text(v).replace(/^\/mnt\/local\//, '') }),
    REQUESTRESTORE_ABORT_FILE: (v) => ({ value: text(v).replace(/^\/mnt\/local\//, '') }),
    RAWDISK_IMAGE_COMPRESSION_COMMAND: (v) => ({ value: text(v).split(/\s+/)[0] ?? '' }),
    OUTPUT_PREFIX_PXE: () => ({ value: true }),
  };

/** Sets a dotted key in a nested object. */
function setAt(layer: Record<string, unknown>, key: string, value: unknown): void {
  const path = key.split('.');
  let node = layer;
  for (const part of path.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}
