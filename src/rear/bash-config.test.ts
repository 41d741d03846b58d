import { describe, expect, it } from 'vitest';
import { readRearConfig } from './bash-config.js';

const read = (text: string, more: { file: string; text: string }[] = []) =>
  readRearConfig([...more, { file: 'local.conf', text }]);
const values = (text: string) =>
  Object.fromEntries([...read(text).variables.values()].map((v) => [v.name, v.value]));

describe("reading ReaR's bash configuration without running it", () => {
  it('takes plain assignments, with every kind of quoting, and export', () => {
    expect(
      values(`OUTPUT=ISO
BACKUP_URL="nfs://server/export" # a comment
BACKUP_OPTIONS='nfsvers=3,nolock'
ISO_VOLID=RE\\ AR
export SSH_ROOT_PASSWORD="\\$6\\$salt\\$hash"
EMPTY=
QUOTED="a \\"b\\" c"`),
    ).toEqual({
      OUTPUT: 'ISO',
      BACKUP_URL: 'nfs://server/export',
      BACKUP_OPTIONS: 'nfsvers=3,nolock',
      ISO_VOLID: 'RE AR',
      SSH_ROOT_PASSWORD: '$6$salt$hash',
      EMPTY: '',
      QUOTED: 'a "b" c',
    });
  });

  it('takes arrays over several lines, with comments, and appends with +=', () => {
    const config = read(`PROGS+=( jq
  # the editor too
  vim 'a b' )
PROGS+=( curl )
BACKUP_PROG_EXCLUDE=( '/tmp/*' )`);
    expect(config.variables.get('PROGS')).toMatchObject({
      value: ['jq', 'vim', 'a b', 'curl'],
      appends: true,
      line: 4,
    });
    expect(config.variables.get('BACKUP_PROG_EXCLUDE')).toMatchObject({
      value: ['/tmp/*'],
      appends: false,
    });
    expect(config.notImported).toEqual([]);
  });

  it('resolves references to what earlier files and lines set, and splices arrays', () => {
    const config = read(
      `SERVER=nas
BACKUP_URL=nfs://$SERVER/rear/\${NAME}
PROGS=( "\${BASE[@]}" jq $MORE )`,
      [{ file: 'site.conf', text: 'NAME=site\nBASE=( tar zstd )\nMORE="lsattr chattr"\n' }],
    );
    expect(config.variables.get('BACKUP_URL')?.value).toBe('nfs://nas/rear/site');
    expect(config.variables.get('PROGS')?.value).toEqual(['tar', 'zstd', 'jq', 'lsattr', 'chattr']);
    expect(config.variables.get('BACKUP_URL')?.file).toBe('local.conf');
  });

  it('leaves out, by line and with the reason, what it would have to run or guess', () => {
    const config = read(`OUTPUT_PREFIX=$HOSTNAME
KERNEL=$(uname -r)
STAMP=\`date\`
SIZE=$((4 * 1024))
DIR=\${TMPDIR:-/tmp}
HOME_KEYS=~root/keys
test -d /srv && BACKUP_URL=file:///srv
LANG=C rear mkrescue
echo hello
if [ -e /etc/fast ]; then
  OUTPUT=USB
else
  OUTPUT=ISO
fi
setup() {
  PROGS=( jq )
}
BACKUP=NETFS`);
    expect(config.notImported).toEqual([
      expect.objectContaining({ line: 1, reason: expect.stringMatching(/refers to \$HOSTNAME/) }),
      expect.objectContaining({ line: 2, reason: 'command substitution $(...)' }),
      expect.objectContaining({ line: 3, reason: 'command substitution `...`' }),
      expect.objectContaining({ line: 4, reason: 'arithmetic $((...))' }),
      expect.objectContaining({ line: 5, reason: 'the parameter operation ${TMPDIR:-/tmp}' }),
      expect.objectContaining({ line: 6, reason: 'a ~ home directory' }),
      expect.objectContaining({ line: 7, reason: 'commands joined by &&' }),
      expect.objectContaining({ line: 8, reason: expect.stringMatching(/a command \(rear\)/) }),
      expect.objectContaining({ line: 9, reason: 'a command (echo), which import never runs' }),
      expect.objectContaining({ line: 10, reason: 'a conditional (if)' }),
      expect.objectContaining({ line: 10, reason: 'inside the if on line 10' }),
      expect.objectContaining({ line: 11, reason: 'inside the if on line 10' }),
      expect.objectContaining({ line: 12, reason: 'inside the if on line 10' }),
      expect.objectContaining({ line: 13, reason: 'inside the if on line 10' }),
      expect.objectContaining({ line: 15, reason: 'a function definition' }),
      expect.objectContaining({ line: 16, reason: 'inside the function on line 15' }),
    ]);
    expect([...config.variables.keys()]).toEqual(['BACKUP']);
  });
});
