import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import {
  type BootMedium,
  bootInQemu,
  type Firmware,
  SIDE_BY_SIDE_CPUS,
} from '../../src/boot/qemu.js';
import { lifeboat, ROOT, sandbox } from '../support/cli.js';
import {
  copyDrillHostDisk,
  DRILL_HOST_SERIAL,
  type DrillResult,
  drillHostDisk,
  drillHostMissing,
  fileChecksums,
  readChecksums,
  runInDrillHost,
} from '../support/drill-host.js';
import { type PrivateSshd, startSshd } from '../support/sshd.js';
import { formattedStick, withStickData } from '../support/stick.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

/**
 * The disaster-recovery drill (test tier 4, docs/architecture.md). Step 1 runs once; steps 2 to 5
 * run twice, side by side, each recovering the same backup onto its own blank disk: on BIOS from the rescue ISO
 * and the backup server, on UEFI from a rescue stick alone.
 *
 *   1. the protected host (a real Debian disk: GPT, BIOS boot partition, ESP, LVM root and swap,
 *      ext4, GRUB for both firmwares, Debian's generic kernel) boots, installs lifeboat's Debian
 *      package (ci/package.mjs) and runs it: `capture` (live: its layout too, with a backup disk
 *      plugged in that recovery must leave out) and `mkbackuponly` to sftp:// on this machine's loopback
 *      (a private sshd, reached from the guest at 10.0.2.2); it fingerprints itself (every
 *      file's sha256, layout ids)
 *   2. here, `lifeboat build` makes its rescue media from that capture: for BIOS the ISO, with
 *      the configuration the host used (the recovery part and the sftp key go into the image,
 *      as asked); for UEFI a stick (below)
 *   3. the disk is lost: replaced by zeros of the same size
 *   4. BIOS: the ISO boots with the blank disk; its default entry recovers unattended
 *      (lifeboat.recover=auto) from the sftp:// server, then powers off.
 *      UEFI: a stick made by `lifeboat format` holds the host's rescue system (the usb output,
 *      built here from the same capture) and its backup (the archive the host sent to the
 *      server, copied under the stick's usb:// backup URL: NETFS writes the same bytes to every
 *      destination, and destinations.test writes usb:// itself). The machine boots it as a USB
 *      stick with no network card at all, and the stick's default entry recovers unattended.
 *      A first boot has its power cut 20 s into the restore: the recovery of the next boot
 *      must complete all the same
 *   5. the recovered disk boots to the host's own marker and fingerprints itself again: every
 *      file is the same, but for what recovery regenerates on purpose (initramfs, GRUB's files);
 *      the partition, file system and swap ids and labels are the same; the same VG and LVs
 *
 * Each stage's time goes to the console at the end.
 */
const why = drillHostMissing() ?? (await engineMissing()) ?? qemuMissing();
const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-drill-'));
const results: DrillResult[] = [];
const timings: string[] = [];
let sshd: PrivateSshd | undefined;
afterAll(() => {
  sshd?.stop();
  for (const r of results) r.dispose();
  rmSync(scratch, { recursive: true, force: true });
  if (timings.length > 0) process.stdout.write(`drill timings:\n${timings.join('\n')}\n`);
});

/** What recovery rewrites on purpose: the initramfs it regenerates and GRUB it reinstalls. */
const REGENERATED = [/^\/boot\/initrd\.img-/, /^\/boot\/grub\//, /^\/boot\/efi\/EFI\//];

/** The configuration of the protected host: NETFS to sftp://, recovery unattended. */
function drillConfig(server: PrivateSshd, remote: string): string {
  const indent = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
  return `backup:
  method: netfs
  url: sftp://root@10.0.2.2:${server.port}${remote}
  sftpKey: |
${indent(server.clientKey)}
  sftpHostKey: "${server.hostKeyFingerprint}"
recovery:
  embedBackupKey: true
  afterUnattended: poweroff
  # A site's post-recovery hook: it sees the recovered system, still mounted, at its target.
  postScripts:
    - 'echo "drill post-script: $(grep -c ^UUID= "$LIFEBOAT_TARGET/etc/fstab") fstab lines by UUID in $LIFEBOAT_TARGET"'
boot:
  default: recover
  timeout: 1
`;
}

/** The stick's data partition, as `lifeboat format` labels it, and the backups' directory on it. */
const STICK_BACKUP_URL = 'usb:///dev/disk/by-label/LIFEBOAT-000/lifeboat';

/**
 * The configuration of the rescue stick: its rescue system recovers from the backup beside it,
 * unattended; no server, no key.
 */
function stickConfig(stick: string): string {
  return `backup:
  method: netfs
  url: ${STICK_BACKUP_URL}
recovery:
  afterUnattended: poweroff
boot:
  default: recover
  timeout: 1
output:
  methods: [usb]
  url: usb://${stick}
`;
}

async function timed<T>(what: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await run();
  } finally {
    timings.push(`  ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

interface BackedUpHost {
  /** What the host wrote: capture/, checksums.txt, blkid.txt, lvm.json, the logs. */
  out: string;
  /** The configuration it used (drill.yaml). */
  configFile: string;
  /** A line of the sftp key it used: in the ISO's rescue system, never in a log. */
  keyLine: string;
  /** The sftp:// server's directory: the host's backup under its name. */
  backups: string;
  /** The size of its disk, for the blank one that replaces it. */
  diskBytes: number;
}

let backedUp: Promise<BackedUpHost> | undefined;

/**
 * Step 1, once for both firmwares: the host boots (BIOS), captures itself and backs itself up
 * to sftp://. Both recoveries restore that backup.
 */
function backedUpHost(): Promise<BackedUpHost> {
  backedUp ??= (async () => {
    const dir = join(scratch, 'host');
    mkdirSync(dir);
    await timed('golden disk ready (cached after the first run)', () => drillHostDisk());
    sshd = await startSshd(mkdtempSync(join(scratch, 'sshd-')));
    const remote = join(dir, 'backups');
    mkdirSync(remote);
    const config = drillConfig(sshd, remote);
    writeFileSync(join(dir, 'drill.yaml'), config, { mode: 0o600 });
    const disk = await copyDrillHostDisk(join(dir, 'disk.img'));
    const deb = join(dir, 'lifeboat.deb');
    await execa('node', [join(ROOT, 'ci', 'package.mjs'), deb]);
    // A backup disk plugged in while the host captures (a file system, never mounted), as an
    // administrator does before mkbackup; the recoveries have only the host's disk.
    const backupDisk = join(dir, 'backup-disk.img');
    await execa('truncate', ['-s', '64M', backupDisk]);
    await execa('mkfs.ext4', ['-q', '-F', '-L', 'BACKUPDISK', backupDisk]);

    // 1. The protected host backs itself up, with lifeboat's Debian package on its own nodejs.
    const host = await timed('host boot (bios), capture, mkbackuponly, fingerprint', () =>
      runInDrillHost({
        disk,
        firmware: 'bios',
        disks: [{ file: backupDisk, serial: 'drillbackup' }],
        files: { 'lifeboat.deb': readFileSync(deb), 'drill.yaml': config },
        script: `set -euo pipefail
# lifeboat as an administrator installs it: the project's Debian package, on Debian's nodejs.
dpkg --install /run/drill/in/lifeboat.deb >dpkg.log 2>&1
lifeboat() { /usr/bin/lifeboat --config /run/drill/in/drill.yaml "$@"; }
findmnt -no SOURCE / >root-source.txt
swapon --show=NAME,TYPE --noheadings >swaps.txt
# Each stage's milliseconds into stages.txt, for the drill's timings.
stage() { local t0; t0=$(date +%s%N); "\${@:2}"; echo "$1 $(( ($(date +%s%N) - t0) / 1000000 ))" >>stages.txt; }
stage capture lifeboat capture --out /run/drill/out/capture >capture.log 2>&1
stage mkbackuponly lifeboat mkbackuponly >mkbackuponly.log 2>&1
stage fingerprint eval '${fileChecksums}'
`,
        timeoutMs: 20 * 60_000,
      }),
    );
    results.push(host);
    timings.push(...guestTimes('host', host));
    const hostLog = (name: string) =>
      existsSync(join(host.out, name)) ? readFileSync(join(host.out, name), 'utf8') : '';
    expect(
      host.exitCode,
      `run.log:\n${hostLog('run.log')}\ndpkg.log:\n${hostLog('dpkg.log')}\ncapture.log:\n${hostLog('capture.log').slice(-2000)}\nmkbackuponly.log:\n${hostLog('mkbackuponly.log').slice(-3000)}\nconsole:\n${host.console.slice(-2000)}`,
    ).toBe(0);
    expect(host.hostname).toBe('fixture-drill');
    // The fixture is what it claims: root on LVM, swap on.
    expect(hostLog('root-source.txt').trim()).toBe('/dev/mapper/drillvg-root');
    expect(hostLog('swaps.txt')).toMatch(/^\/dev\/(dm-\d+|mapper\/drillvg-swap)\s+partition$/m);
    // Its layout has the backup disk too: the recoveries must leave it out, having no disk for it.
    const captured = JSON.parse(readFileSync(join(host.out, 'capture', 'capture.json'), 'utf8'));
    expect(captured.layout.disks.map((d: { serial?: string }) => d.serial)).toEqual([
      DRILL_HOST_SERIAL,
      'drillbackup',
    ]);

    // The key to the backup goes into the rescue image because the configuration asks; never
    // into a log.
    expect(hostLog('mkbackuponly.log')).not.toContain(sshd.clientKey.split('\n')[1]);
    expect(sshd.clientKey.split('\n')[1]?.length).toBeGreaterThan(20);
    return {
      out: host.out,
      configFile: join(dir, 'drill.yaml'),
      keyLine: sshd.clientKey.split('\n')[1] ?? '',
      backups: remote,
      diskBytes: statSync(disk).size,
    };
  })();
  return backedUp;
}

/** `lifeboat build` of the host's capture into `out`, with the configuration file `config`. */
async function buildFromCapture(host: BackedUpHost, out: string, config: string) {
  const box = sandbox();
  const built = await lifeboat(
    [
      'build',
      '--capture',
      join(host.out, 'capture'),
      '--out',
      out,
      '--config',
      config,
      ...box.sets,
    ],
    { env: box.env },
  );
  expect(built.exitCode, built.all).toBe(0);
  return built;
}

/** Step 2 (BIOS): the host's rescue ISO, built here from its capture with the configuration it used. */
async function rescueIso(host: BackedUpHost): Promise<string> {
  const media = join(scratch, 'iso');
  const built = await buildFromCapture(host, media, host.configFile);
  expect(built.all).not.toContain(host.keyLine);
  return join(media, 'lifeboat.iso');
}

/**
 * Step 2 (UEFI), the rescue stick: formatted, the host's backup copied under the stick's backup
 * URL, and the host's rescue system written to it by `lifeboat build` (output usb, output.url
 * the stick).
 */
async function rescueStick(host: BackedUpHost): Promise<string> {
  const dir = join(scratch, 'stick');
  mkdirSync(dir);
  const box = sandbox();
  const stick = await formattedStick(box, join(dir, 'stick.img'), '2G');
  await withStickData(stick, dir, (lifeboatDir) =>
    execa('cp', ['--archive', `${host.backups}/.`, lifeboatDir]),
  );
  writeFileSync(join(dir, 'stick.yaml'), stickConfig(stick));
  const built = await buildFromCapture(host, join(dir, 'media'), join(dir, 'stick.yaml'));
  expect(built.all).toMatch(/usb: written to usb:\/\/\S+ \(lifeboat\/fixture-drill\//);
  return stick;
}

/**
 * How each firmware's recovery boots: BIOS the ISO (and the network), UEFI the stick alone. The
 * power cut goes to the stick's half, the shorter one without it (its verify reads a local stick,
 * not a server), so that the drill's two halves take about as long.
 */
const RECOVERIES: { firmware: Firmware; from: string; powerCut: boolean }[] = [
  { firmware: 'bios', from: 'the rescue ISO and the sftp:// server', powerCut: false },
  {
    firmware: 'uefi',
    from: 'a rescue stick alone, no network card, through a power cut',
    powerCut: true,
  },
];

describeTier('drill', why)(
  'disaster-recovery drill: back up, lose the disk, recover (QEMU)',
  () => {
    // The two recoveries run side by side (it.concurrent), each guest on one virtual CPU: a core
    // each on these two-core machines (the drill takes 0.83 of its time one after the other,
    // bench/README.md).
    for (const { firmware, from, powerCut } of RECOVERIES) {
      it.concurrent(
        `${firmware}: from ${from}, onto a blank disk, unattended; the host boots with every file and id as it was`,
        async () => {
          const host = await backedUpHost();
          // 2. Its rescue medium, built here from its capture (the two builds run side by side).
          const medium: BootMedium =
            firmware === 'uefi'
              ? {
                  kind: 'usb',
                  image: await timed('uefi: stick formatted, backup copied, usb output built', () =>
                    rescueStick(host),
                  ),
                }
              : {
                  kind: 'cdrom',
                  iso: await timed('bios: lifeboat build (ISO) from the host capture', () =>
                    rescueIso(host),
                  ),
                };
          // Without a network card, nothing but the stick can serve the recovery.
          const network = medium.kind !== 'usb';
          // 3. The disk is lost: zeros, the same size.
          const disk = join(scratch, `${firmware}.img`);
          await execa('truncate', ['-s', String(host.diskBytes), disk]);

          // 4a. A power cut 20 s into the restore: the next boot's recovery must complete, on
          // disks that hold a half-restored system (it recreates nothing that is there already).
          if (powerCut) {
            const cut = new AbortController();
            let restoring = false;
            const first = await timed(
              `${firmware}: rescue boot + recovery, power cut 20 s into restore`,
              () =>
                bootInQemu({
                  firmware,
                  cpus: SIDE_BY_SIDE_CPUS,
                  medium,
                  network,
                  disks: [{ file: disk, serial: DRILL_HOST_SERIAL }],
                  ready: /lifeboat-recover: (succeeded|failed.*)/,
                  timeoutMs: 30 * 60_000,
                  powerCut: cut.signal,
                  // The plain progress line of the restore stage starting: "❯ [12:00:00] restore".
                  onLine: (line) => {
                    if (restoring || !/\] restore$/.test(line.trim())) return;
                    restoring = true;
                    setTimeout(() => cut.abort(), 20_000);
                  },
                }),
            );
            expect(restoring, first.transcript.slice(-4000)).toBe(true);
            expect(first.ready, 'the recovery ended before the power cut').toBe(false);
          }

          // 4. Boot the rescue medium: its default entry recovers unattended, then powers off.
          const recovery = await timed(`${firmware}: rescue boot + unattended recovery`, () =>
            bootInQemu({
              firmware,
              cpus: SIDE_BY_SIDE_CPUS,
              medium,
              network,
              disks: [{ file: disk, serial: DRILL_HOST_SERIAL }],
              ready: /lifeboat-recover: (succeeded|failed.*)/,
              // Then until it powers itself off (recovery.afterUnattended): QEMU exiting ends the wait.
              commands: [{ expect: /reboot: Power down/ }],
              timeoutMs: 30 * 60_000,
            }),
          );
          const verdict = /lifeboat-recover: (succeeded|failed.*)/.exec(recovery.transcript)?.[1];
          expect(verdict, recovery.transcript.slice(-6000)).toBe('succeeded');

          // 5. The recovered host boots to its own marker, and is what it was.
          const after = await timed(`${firmware}: recovered host boot + fingerprint`, () =>
            runInDrillHost({
              disk,
              firmware,
              cpus: SIDE_BY_SIDE_CPUS,
              // And the log recover left in the system it recovered, for the stage times.
              script: `set -euo pipefail
t0=$(date +%s%N)
${fileChecksums}
echo "fingerprint $(( ($(date +%s%N) - t0) / 1000000 ))" >stages.txt
cat /var/log/lifeboat/lifeboat-*-recover.log >recover.log || true
`,
            }),
          );
          results.push(after);
          timings.push(...guestTimes(`${firmware}: recovered host`, after));
          expect(after.hostname, after.console.slice(-3000)).toBe('fixture-drill');
          expect(after.exitCode, after.console.slice(-3000)).toBe(0);
          // After the power cut, the rerun found the first run's partitions, LVM and file
          // systems, and skipped them (the recreate script's lines are in recover's log).
          if (powerCut) {
            expect(readFileSync(join(after.out, 'recover.log'), 'utf8')).toMatch(
              /partition table of \S+ exists, skipped/,
            );
          }
          // The backup disk the host had at capture is left out; no disk here stands in for it.
          expect(readFileSync(join(after.out, 'recover.log'), 'utf8')).toMatch(
            /\/dev\/vd\w of the layout is left out \(no file system or swap area of the host was on it\)/,
          );
          // The BIOS half's configuration has a recovery.postScripts hook: it ran after finalize,
          // with the recovered system mounted at its target (recover's log says what it printed).
          if (firmware === 'bios') {
            expect(readFileSync(join(after.out, 'recover.log'), 'utf8')).toContain(
              'recovery.postScripts[0]: drill post-script: 3 fstab lines by UUID in /mnt/local',
            );
          }
          if (existsSync(join(after.out, 'recover.log')))
            timings.push(
              ...recoveryStageTimes(readFileSync(join(after.out, 'recover.log'), 'utf8')).map(
                (t) => `    ${firmware}: ${t}`,
              ),
            );

          const before = readChecksums(join(host.out, 'checksums.txt'));
          const now = readChecksums(join(after.out, 'checksums.txt'));
          const regenerated = (path: string) => REGENERATED.some((re) => re.test(path));
          const differing = [...new Set([...before.keys(), ...now.keys()])].filter(
            (path) => !regenerated(path) && before.get(path) !== now.get(path),
          );
          expect(differing, 'files missing, new or changed after recovery').toEqual([]);
          expect(before.size).toBeGreaterThan(10_000);
          // What recovery regenerated is there again.
          expect([...now.keys()].some((p) => /^\/boot\/initrd\.img-/.test(p))).toBe(true);
          expect(now.has('/boot/efi/EFI/BOOT/BOOTX64.EFI')).toBe(true);

          expect(layoutIds(join(after.out, 'blkid.txt'))).toEqual(
            layoutIds(join(host.out, 'blkid.txt')),
          );
          const lvs = (out: string) =>
            (
              JSON.parse(readFileSync(join(out, 'lvm.json'), 'utf8')).lvs.report[0].lv as {
                lv_name: string;
                vg_name: string;
                lv_size: string;
              }[]
            )
              .map((lv) => `${lv.vg_name}/${lv.lv_name} ${lv.lv_size}`)
              .sort();
          expect(lvs(after.out)).toEqual(lvs(host.out));
        },
        90 * 60_000,
      );
    }
  },
);

/** A drill host run's boot time and the stages its script timed (stages.txt), as timing lines. */
function guestTimes(who: string, run: DrillResult): string[] {
  const stages = join(run.out, 'stages.txt');
  return [
    `    ${who}: boot to its marker ${run.bootSeconds?.toFixed(1) ?? '-'} s`,
    ...(existsSync(stages) ? readFileSync(stages, 'utf8').trim().split('\n') : [])
      .map((line) => line.split(' '))
      .map(([name, ms]) => `    ${who}: ${name} ${(Number(ms) / 1000).toFixed(1)} s`),
  ];
}

/** blkid -o export as "DEVNAME UUID/PARTUUID/LABEL/TYPE" lines: the ids fstab and GRUB use. */
function layoutIds(file: string): string[] {
  const ids: string[] = [];
  for (const block of readFileSync(file, 'utf8').trim().split(/\n\n+/)) {
    const fields = Object.fromEntries(
      block
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    // The drill's own tar disks are not the host's layout.
    if (fields.TYPE === undefined || !/vd[a-z]|mapper/.test(fields.DEVNAME ?? '')) continue;
    if ((fields.DEVNAME ?? '').match(/^\/dev\/vd[b-z]/)) continue;
    ids.push(
      ['DEVNAME', 'TYPE', 'UUID', 'PARTUUID', 'LABEL', 'PARTLABEL']
        .map((k) => `${k}=${fields[k] ?? ''}`)
        .join(' '),
    );
  }
  return ids.sort();
}

/** Seconds per stage of the recover workflow, from the step lines of its log; and its slow steps. */
function recoveryStageTimes(log: string): string[] {
  const perStage = new Map<string, number>();
  const slowSteps: string[] = [];
  for (const match of log.matchAll(/step ((\w+)\/\S+) done in (\d+) ms/g)) {
    const [, step = '', stage = '', ms = '0'] = match;
    perStage.set(stage, (perStage.get(stage) ?? 0) + Number(ms));
    if (Number(ms) >= 10_000) slowSteps.push(`  step ${step}: ${(Number(ms) / 1000).toFixed(1)} s`);
  }
  return [
    ...[...perStage].map(([stage, ms]) => `recover ${stage}: ${(ms / 1000).toFixed(1)} s`),
    ...slowSteps,
  ];
}
