import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sandbox } from '../support/cli.js';
import { GUEST_TREE } from '../support/host-files.js';
import { type PrivateNfsServer, startNfsServer } from '../support/nfs-server.js';
import { closedPort } from '../support/ports.js';
import { type GuestResult, runInRescueGuest } from '../support/rescue-guest.js';
import { type PrivateSmbServer, startSmbServer } from '../support/smb-server.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * The mounted backup destinations, for real: inside the rescue system under QEMU (its Debian
 * kernel has the NFS and CIFS clients this machine's kernel lacks), `lifeboat mkbackuponly` writes
 * a backup of a small tree to each of
 *   nfs://   NFS-Ganesha on this machine's loopback (NFSv4, a high port)
 *   cifs://  Samba's smbd on this machine's loopback (a user and password in a credentials file)
 *   usb://   a partition labelled LBUSB on a second disk
 * and `lifeboat recover --into` restores it from there; every file must come back the same.
 * Then: an NFS server that does not answer is one sentence and exit 1, with no archive started;
 * and a full `recover` onto a disk too small for the layout is refused, with no disk written.
 */
const why =
  (await engineMissing()) ??
  qemuMissing() ??
  (existsSync('/usr/bin/ganesha.nfsd') ? undefined : 'nfs-ganesha is not installed') ??
  (existsSync('/usr/sbin/smbd') ? undefined : 'samba is not installed');

/** The passphrase of the LUKS volume the full recover recreates (layout.luksKey). */
const LUKS_KEY = 'lifeboat-test-luks-key';

function guestScript(nfsUrl: string, cifsUrl: string, unreachableUrl: string): string {
  return `set -uo pipefail
# The tree to back up: modes, a link, an empty directory, and 4 MB that cannot be compressed.
${GUEST_TREE}

# The USB disk, as an administrator prepares one: a GPT partition with an ext4 labelled LBUSB.
usb=$(readlink -f /dev/disk/by-id/virtio-usb)
echo 'label: gpt
,,L' | sfdisk --quiet "$usb"
udevadm settle
mkfs.ext4 -q -L LBUSB "\${usb}1"
udevadm settle

roundtrip() {
  name=$1; shift
  lifeboat mkbackuponly --root $tree --set backup.method=netfs "$@" >$name.backup.log 2>&1
  echo $? >$name.backup.exit
  lifeboat recover --into /tmp/restored-$name --unattended --set backup.method=netfs "$@" >$name.recover.log 2>&1
  echo $? >$name.recover.exit
  fingerprint /tmp/restored-$name >$name.fp
  # Nothing stays mounted after either run.
  findmnt --raw --noheadings --output TARGET | grep -c lifeboat-backup-mnt >$name.mounts-left
}
roundtrip nfs --set backup.url=${nfsUrl}
roundtrip cifs --set backup.url=${cifsUrl} --set backup.mountOptions=credentials=/tmp/in/smb-credentials
roundtrip usb --set backup.url=usb:///dev/disk/by-label/LBUSB/lifeboat
mkdir -p /mnt/usb && mount LABEL=LBUSB /mnt/usb && (cd /mnt/usb && find lifeboat -name backup.json) >usb.listing
umount /mnt/usb

lifeboat mkbackuponly --root $tree --set backup.method=netfs --set backup.url=${unreachableUrl} \\
  --set backup.mountOptions=retry=0,timeo=50,retrans=1 >unreachable.log 2>&1
echo $? >unreachable.exit

# A full recover onto a disk too small: the layout of a 512 MiB disk (one 400 MiB ext4) mapped
# onto a 64 MiB one. The backup is there (NFS); unattended, the plan must refuse to shrink the
# layout, before any write.
big=$(readlink -f /dev/disk/by-id/virtio-big)
small=$(readlink -f /dev/disk/by-id/virtio-small)
echo 'label: gpt
,400M,L' | sfdisk --quiet "$big"
udevadm settle
mkfs.ext4 -q -L bigroot "\${big}1"
mkdir -p /mnt/big && mount "\${big}1" /mnt/big
lifeboat savelayout --out /tmp/out/big.json >savelayout.log 2>&1
umount /mnt/big
echo "$big $small" >/tmp/mapping
sha256sum "$big" "$small" >disks-before.sum
lifeboat recover --unattended --layout /tmp/out/big.json --disk-mapping /tmp/mapping \\
  --set backup.method=netfs --set backup.url=${nfsUrl} >small.log 2>&1
echo $? >small.exit
sha256sum "$big" "$small" >disks-after.sum

# A full recover onto LUKS: the host's data volume, /mnt/t/crypt, is ext4 in a LUKS2 partition.
# Its disk is lost (zeros); recover, unattended, takes the passphrase from the configuration
# (layout.luksKey), recreates the volume with its UUID and label, restores onto it, and leaves
# no key file behind. The other disks with a layout here are not the host's: excluded.
crypt=$(readlink -f /dev/disk/by-id/virtio-crypt)
printf %s '${LUKS_KEY}' >/tmp/crypt-key
{
  echo 'label: gpt
,,L' | sfdisk --quiet "$crypt"
  udevadm settle
  cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \\
    --label cryptdata --key-file /tmp/crypt-key "\${crypt}1"
  cryptsetup open --key-file /tmp/crypt-key "\${crypt}1" cryptdata
  mkfs.ext4 -q -L data /dev/mapper/cryptdata
  mkdir -p /mnt/t/crypt && mount /dev/mapper/cryptdata /mnt/t/crypt
  lifeboat savelayout --out /tmp/out/crypt.json
  blkid -o export "\${crypt}1" /dev/mapper/cryptdata | grep -v '^DEVNAME=' >/tmp/out/crypt.ids-before
  umount /mnt/t/crypt && cryptsetup close cryptdata
  ctree=/tmp/ctree
  mkdir -p $ctree/etc $ctree/mnt/t/crypt/records
  echo "$host" >$ctree/etc/hostname
  cp -a $tree/etc/app/secret.conf $tree/usr/blob $ctree/mnt/t/crypt/records/
  fingerprint $ctree/mnt/t/crypt/records >/tmp/out/crypt-source.fp
  lifeboat mkbackuponly --root $ctree --set backup.method=netfs --set backup.url=file:///tmp/crypt-backups
  dd if=/dev/zero of="$crypt" bs=1M oflag=direct status=none || true # to the end: "no space left"
  blockdev --rereadpt "$crypt"
  udevadm settle
  printf 'layout:\\n  luksKey: ${LUKS_KEY}\\n  exclude:\\n' >/tmp/crypt.yaml
  for other in usb big; do # (small is blank: not in the layout)
    printf '    - %s\\n' "$(readlink -f /dev/disk/by-id/virtio-$other)" >>/tmp/crypt.yaml
  done
} >crypt.setup.log 2>&1
lifeboat recover --unattended --layout /tmp/out/crypt.json --config /tmp/crypt.yaml \\
  --set paths.workDir=/tmp/crypt-work --set recovery.initramfsTool=auto --set backup.method=netfs \\
  --set backup.url=file:///tmp/crypt-backups >crypt.log 2>&1
echo $? >crypt.exit
find /tmp/crypt-work -name 'luks-key*' >crypt.keys-left
{
  [ -e /dev/mapper/cryptdata ] || cryptsetup open --key-file /tmp/crypt-key "\${crypt}1" cryptdata
  blkid -o export "\${crypt}1" /dev/mapper/cryptdata | grep -v '^DEVNAME=' >/tmp/out/crypt.ids-after
  mkdir -p /mnt/check && mount -o ro /dev/mapper/cryptdata /mnt/check
  fingerprint /mnt/check/records >/tmp/out/crypt.fp
} >>crypt.setup.log 2>&1
dmesg >dmesg.txt
`;
}

describeTier('boot', why)(
  'backup destinations nfs://, cifs://, usb:// (QEMU guest, real servers on loopback)',
  () => {
    const box = sandbox();
    let nfs: PrivateNfsServer;
    let smb: PrivateSmbServer;
    let result: GuestResult;
    const out = (name: string) => readFileSync(join(result.out, name), 'utf8');
    const tell = (name: string) =>
      `${out('dmesg.txt').slice(-2000)}\n` +
      `${name}.backup.log:\n${out(`${name}.backup.log`)}\n${name}.recover.log:\n${out(`${name}.recover.log`)}`;

    beforeAll(async () => {
      nfs = await startNfsServer(join(box.dir, 'nfs'));
      smb = await startSmbServer(join(box.dir, 'smb'));
      // The server's administrator made the directory this host's backups go to.
      mkdirSync(join(nfs.exportDir, 'site'));
      const unreachable = await closedPort();
      result = await runInRescueGuest({
        script: guestScript(
          `nfs://10.0.2.2:${nfs.port}${nfs.pseudoPath}/site`,
          `cifs://10.0.2.2:${smb.port}/${smb.share}/site`,
          `nfs://10.0.2.2:${unreachable}${nfs.pseudoPath}/site`,
        ),
        files: { 'smb-credentials': `username=${smb.user}\npassword=${smb.password}\n` },
        disks: [
          { serial: 'usb', sizeMiB: 64 },
          { serial: 'big', sizeMiB: 512 },
          { serial: 'small', sizeMiB: 64 },
          { serial: 'crypt', sizeMiB: 64 },
        ],
        timeoutMs: 900_000,
      });
      expect(result.exitCode, `${result.console.slice(-3000)}`).toBe(0);
    }, 1_000_000);

    afterAll(() => {
      nfs?.stop();
      smb?.stop();
      result?.dispose();
      rmSync(box.dir, { recursive: true, force: true });
    });

    /** The backups a destination directory on this machine holds: HOST/ID/backup.json. */
    const backupsIn = (dir: string) =>
      readdirSync(dir).flatMap((host) =>
        readdirSync(join(dir, host))
          .filter((id) => existsSync(join(dir, host, id, 'backup.json')))
          .map((id) => `${host}/${id}`),
      );

    for (const name of ['nfs', 'cifs', 'usb'] as const) {
      it(`${name}://: mkbackuponly writes the backup there, recover --into restores every file the same`, () => {
        expect(out(`${name}.backup.exit`).trim(), tell(name)).toBe('0');
        expect(out(`${name}.recover.exit`).trim(), tell(name)).toBe('0');
        expect(out('source.fp')).toContain('usr/blob f 644');
        expect(out(`${name}.fp`)).toBe(out('source.fp'));
        expect(out(`${name}.mounts-left`).trim()).toBe('0');
      });
    }

    it('the backups are on the servers, written through the guest kernel’s NFS and CIFS clients', () => {
      const nfsBackups = backupsIn(join(nfs.exportDir, 'site'));
      const smbBackups = backupsIn(join(smb.shareDir, 'site'));
      expect(nfsBackups).toHaveLength(1);
      expect(smbBackups).toHaveLength(1);
      const [nfsBackup] = nfsBackups as [string];
      const manifest = JSON.parse(
        readFileSync(join(nfs.exportDir, 'site', nfsBackup, 'backup.json'), 'utf8'),
      ) as { archive: { name: string; bytes: number } };
      // The random 4 MB does not compress: the archive holds at least that much.
      expect(manifest.archive.bytes).toBeGreaterThan(4_000_000);
      expect(out('usb.listing').trim()).toMatch(/^lifeboat\/[^/]+\/[^/]+\/backup\.json$/);
      // The SMB password was only ever in the credentials file.
      expect(out('cifs.backup.log') + out('cifs.recover.log')).not.toContain(smb.password);
    });

    it('an NFS server that does not answer: one sentence, exit 1, no archive started', () => {
      expect(out('unreachable.exit').trim()).toBe('1');
      expect(out('unreachable.log')).toMatch(
        /backup\.url nfs:\/\/10\.0\.2\.2:\d+\/backups\/site: .* does not mount/,
      );
      expect(out('unreachable.log')).not.toMatch(/backup_archive|\bat .*\.js:\d+/);
    });

    it('a full recover onto a disk too small for the layout: refused before any disk is written', () => {
      // A refusal of what the user gave (the disks here) is exit 2, from a step as from anywhere.
      expect(out('small.exit').trim(), out('small.log')).toBe('2');
      expect(out('small.log')).toContain('step verify/300_disks failed');
      expect(out('small.log')).toMatch(
        /the layout does not fit the disks here: \/dev\/vd\w is 64 MiB, smaller than the 512 MiB of \/dev\/vd\w; unattended, a layout is never shrunk/,
      );
      expect(out('small.log')).toContain('Nothing was written.');
      expect(out('disks-after.sum')).toBe(out('disks-before.sum'));
    });

    it('a full recover onto LUKS: the volume comes back with its ids, the files on it, no key left', () => {
      const log = out('crypt.log');
      expect(out('crypt.exit').trim(), `${out('crypt.setup.log')}\n${log}`).toBe('0');
      // Only the LUKS disk was the host's: the others were left out (layout.exclude).
      expect(log).toMatch(/component\(s\) to recreate on \/dev\/vd[a-z]; script/);
      // LUKS UUID and label, PARTUUID, and the ext4 inside: all as they were.
      expect(out('crypt.ids-before')).toMatch(/TYPE=crypto_LUKS/);
      expect(out('crypt.ids-after')).toBe(out('crypt.ids-before'));
      expect(out('crypt-source.fp')).toContain('blob f 644');
      expect(out('crypt.fp')).toBe(out('crypt-source.fp'));
      // The passphrase was in a file only while the volumes were made, and never in the log.
      expect(out('crypt.keys-left').trim()).toBe('');
      expect(log).not.toContain(LUKS_KEY);
    });
  },
);
