import { stringify } from 'yaml';
import { secretPaths } from '../config/layer.js';
import type { Config } from '../config/schema.js';
import { URL_KEYS, urlPasswords, urlWithoutPasswordPart } from '../config/url-credentials.js';
import { KEY_WITHHELD_FILE, URL_PASSWORDS_WITHHELD_FILE } from './backup-key.js';

/**
 * The recovery configuration the build puts into the rescue system, so `lifeboat recover` there
 * needs no flags: the host's effective `backup`, `recovery`, `layout`, `tape`, `external`,
 * `requestrestore`, `tsm` and `networker` sections, and `output.methods` (where a tape's backup is), as the rescue system's site layer
 * (/etc/lifeboat/site.yaml, read by its lifeboat like any site file).
 *
 * Secrets in them (backup.encryptionKey, the backup's login key, layout.luksKey) go in only when
 * recovery.embedBackupKey is true; otherwise /etc/lifeboat/backup-key-withheld says that the
 * backup key exists and was left out, so recovery asks for it (or, unattended, refuses).
 * A password in a URL there (backup.url cifs://user:PASSWORD@..., recovery.notifyUrl) is such a
 * secret too: without embedBackupKey the URL goes in without it, and
 * /etc/lifeboat/url-passwords-withheld names the key and the URL as written, so recovery asks for
 * backup.url's password (or, unattended, refuses) when that URL is still the one it uses.
 * The YAML is written with sorted keys: the same configuration gives the same bytes.
 *
 * Beside it, /etc/lifeboat/network.mode carries network.mode to the rescue system's /init, which
 * reads it before YAML could be parsed (no lifeboat runs that early): one `mode` setting line in
 * the format of the other /etc/lifeboat/network.* files (skel/default/init, "3. network").
 */
export const RECOVERY_SECTIONS = [
  'backup',
  'recovery',
  'layout',
  'tape',
  'external',
  'requestrestore',
  'tsm',
  'networker',
] as const;

export interface RescueFile {
  /** Relative to the rescue root. */
  path: string;
  content: string;
  mode: number;
}

type Sections = Record<string, Record<string, unknown>>;

/**
 * A copy of the host's recovery sections, as the rescue system's site layer holds them, and the
 * media it was made as (output.methods): an OBDR tape's backup follows the ISO's file marks.
 */
function recoverySections(config: Config): Sections {
  return structuredClone({
    ...Object.fromEntries(RECOVERY_SECTIONS.map((s) => [s, config[s]])),
    output: { methods: config.output.methods },
  }) as Sections;
}

/** The secrets in the recovery sections: keys that are secrets, and URL keys with a password. */
function recoverySecrets(sections: Sections): { keys: string[]; urlKeys: string[] } {
  const keys = secretPaths().filter((path) => {
    const [section, key, ...rest] = path.split('.');
    const parent = section === undefined ? undefined : sections[section];
    return parent !== undefined && key !== undefined && rest.length === 0 && key in parent;
  });
  const urlKeys = URL_KEYS.filter((path) => {
    const [section, key] = path.split('.') as [string, string];
    const value = sections[section]?.[key];
    return typeof value === 'string' && urlPasswords(value).length > 0;
  });
  return { keys, urlKeys };
}

export function rescueRecoveryFiles(config: Config): RescueFile[] {
  const sections = recoverySections(config);
  const embed = config.recovery.embedBackupKey;
  const withheld: string[] = [];
  const withheldUrls: string[] = [];
  if (!embed) {
    const secrets = recoverySecrets(sections);
    for (const path of secrets.keys) {
      const [section, key] = path.split('.') as [string, string];
      delete sections[section]?.[key];
      withheld.push(path);
    }
    for (const path of secrets.urlKeys) {
      const [section, key] = path.split('.') as [string, string];
      const parent = sections[section] as Record<string, unknown>;
      parent[key] = urlWithoutPasswordPart(parent[key] as string);
      withheldUrls.push(`${path} ${parent[key]}`);
    }
  }
  const files: RescueFile[] = [
    {
      path: 'etc/lifeboat/site.yaml',
      content: [
        '# The recovery configuration of the host this rescue system was made for (lifeboat build):',
        `# its backup, recovery, layout, tape, external, requestrestore, tsm and networker sections and output.methods${embed ? ', secrets included (recovery.embedBackupKey)' : ', without secrets'}.`,
        stringify(sections, { sortMapEntries: true }),
      ].join('\n'),
      // Private either way: it says where the backups are.
      mode: 0o600,
    },
  ];
  files.push(networkModeFile(config.network.mode));
  if (withheld.includes('backup.encryptionKey'))
    files.push({
      path: `etc/lifeboat/${KEY_WITHHELD_FILE}`,
      content:
        'backup.encryptionKey\n# The backup is encrypted; its key was left out of this image (recovery.embedBackupKey is false).\n',
      mode: 0o644,
    });
  if (withheldUrls.length > 0)
    files.push({
      path: `etc/lifeboat/${URL_PASSWORDS_WITHHELD_FILE}`,
      content: [
        '# Passwords left out of the URLs in site.yaml (recovery.embedBackupKey is false): the key',
        '# and the URL as site.yaml has it.',
        ...withheldUrls,
        '',
      ].join('\n'),
      // It names the servers, as site.yaml does.
      mode: 0o600,
    });
  return files;
}

export const NETWORK_MODE_FILE = 'etc/lifeboat/network.mode';

/** The rescue system's network: dhcp everywhere, the captured host's static settings, or none. */
export function networkModeFile(mode: Config['network']['mode']): RescueFile {
  return {
    path: NETWORK_MODE_FILE,
    content: [
      '# network.mode of the build, read by /init: dhcp (DHCP on every ethernet interface; the',
      "# captured host's settings in network.capture are not applied), static (network.capture) or",
      '# none (no interface but lo). A kernel ip= argument overrides it for one boot.',
      `mode ${mode}`,
      '',
    ].join('\n'),
    mode: 0o644,
  };
}

/**
 * The secrets the rescue image will hold, by key: those of the recovery sections and the URL
 * passwords when recovery.embedBackupKey is true, and ssh.rootPasswordHash when set. Outputs
 * whose files anyone on the network can fetch (a PXE tree) warn about them.
 */
export function secretsInImage(config: Config): string[] {
  const held: string[] = [];
  if (config.recovery.embedBackupKey) {
    const secrets = recoverySecrets(recoverySections(config));
    held.push(...secrets.keys, ...secrets.urlKeys.map((path) => `${path} (its password)`));
  }
  if (config.ssh.rootPasswordHash) held.push('ssh.rootPasswordHash');
  return held;
}
