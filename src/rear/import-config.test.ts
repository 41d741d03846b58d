import { describe, expect, it } from 'vitest';
import { readRearConfig } from './bash-config.js';
import { importRearConfig } from './import-config.js';

const imported = (text: string) => importRearConfig(readRearConfig([{ file: 'local.conf', text }]));

describe('ReaR variables into a lifeboat configuration', () => {
  it('maps names through the ReaR table and converts values as its notes say', () => {
    const { layer } = imported(`OUTPUT=ISO
BACKUP=NETFS
BACKUP_URL=nfs://nas/rear
BACKUP_PROG_EXCLUDE+=( '/tmp/*' /var/cache )
MODULES=( all_modules )
ISO_DEFAULT=automatic
USER_INPUT_TIMEOUT=10
AUTOEXCLUDE_DISKS=n
USE_STATIC_NETWORKING=y
EXTERNAL_BACKUP="/opt/backup/run --full --to /srv"
REQUESTRESTORE_FINISHED_FILE=/mnt/local/done
PROGS=( jq curl )`);
    expect(layer).toEqual({
      output: { methods: ['iso'] },
      backup: { method: 'netfs', url: 'nfs://nas/rear', 'exclude+': ['/tmp/*', '/var/cache'] },
      rescue: { modules: 'all', programs: ['jq', 'curl'] },
      boot: { default: 'recover', timeout: 10 },
      layout: { autoExcludeDisks: false },
      network: { mode: 'static' },
      external: { backup: ['/opt/backup/run', '--full', '--to', '/srv'] },
      requestrestore: { finishedFile: 'done' },
    });
  });

  it('puts a list of MODULES into rescue.extraModules', () => {
    expect(imported('MODULES=( nvme raid1 )').layer).toEqual({
      rescue: { extraModules: ['nvme', 'raid1'] },
    });
  });

  it('says why it leaves a variable out: no key, a value the key refuses, a plain password', () => {
    const { layer, rows } = imported(`NETFS_KEEP_OLD_BACKUP_COPY=y
BACKUP=BORG
USER_INPUT_TIMEOUT=soon
SSH_ROOT_PASSWORD=secret123
EXTERNAL_CHECK="test -d /srv && true"`);
    expect(layer).toEqual({});
    const why = Object.fromEntries(rows.map((r) => [r.rear, r.why]));
    expect(why.NETFS_KEEP_OLD_BACKUP_COPY).toBe('lifeboat has no setting for it');
    expect(why.BACKUP).toMatch(/^not a value backup\.method takes/);
    expect(why.USER_INPUT_TIMEOUT).toMatch(/^not a value boot\.timeout takes/);
    expect(why.SSH_ROOT_PASSWORD).toMatch(/crypt\(3\) hash/);
    expect(why.EXTERNAL_CHECK).toMatch(/more than words/);
  });

  it('never shows a secret in its report, though the configuration keeps it', () => {
    const { layer, rows } = imported(`BACKUP_PROG_CRYPT_KEY="s3cret-key"
BACKUP_OPTIONS="username=u,pass=hunter2"
BORG_PASSPHRASE=horse`);
    expect(layer).toEqual({
      backup: { encryptionKey: 's3cret-key', mountOptions: 'username=u,pass=hunter2' },
    });
    const shown = rows.map((r) => r.value).join(' ');
    for (const secret of ['s3cret-key', 'hunter2', 'horse']) expect(shown).not.toContain(secret);
  });
});
