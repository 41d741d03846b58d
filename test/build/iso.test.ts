import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { extract, pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootMedium, bootInQemu, type Firmware } from '../../src/boot/qemu.js';
import { ensureBuilderImage } from '../../src/engine/builder-image.js';
import {
  listContainersByLabel,
  type RunningContainer,
  removeTrackedContainers,
  withContainer,
} from '../../src/engine/container.js';
import { connectEngine, type Engine } from '../../src/engine/engine.js';
import { JobError, UsageError } from '../../src/errors.js';
import { MemoryLog } from '../../src/log/log.js';
import {
  type IsoOptions,
  MAKE_ISO_SCRIPT,
  makeIso,
  makeIsoArguments,
} from '../../src/outputs/make-iso.js';
import { debianFixture, debianRoot } from '../support/fixtures.js';
import { describeTier, engineMissing, qemuMissing } from '../support/tiers.js';

const IMAGES_DIR = fileURLToPath(new URL('../../images', import.meta.url));
const MAKE_ISO = fileURLToPath(
  new URL('../../images/debian-bookworm/steps/make-iso', import.meta.url),
);
const INIT_C = fileURLToPath(new URL('./iso-init.c', import.meta.url));
const BASE_IMAGE = 'lifeboat-base/debian:bookworm';

const EPOCH = 1_700_000_000;
const READY = /lifeboat-test: ready cmdline=\[([^\]]*)\]/;

const base: IsoOptions = {
  kernel: '/in/vmlinuz',
  initrd: '/in/initrd.gz',
  out: '/out/lifeboat.iso',
  volumeId: 'LIFEBOAT',
  epoch: EPOCH,
};

// ---------------------------------------------------------------------------------------------
// Unit: the argument list.

describe('makeIsoArguments', () => {
  it('spells out every option, with the defaults filled in', () => {
    expect(makeIsoArguments(base)).toEqual([
      '--kernel',
      '/in/vmlinuz',
      '--initrd',
      '/in/initrd.gz',
      '--out',
      '/out/lifeboat.iso',
      '--volume-id',
      'LIFEBOAT',
      '--epoch',
      '1700000000',
      '--default',
      'rescue',
      '--timeout',
      '5',
      '--cmdline',
      '',
      '--firmware',
      'bios,uefi',
    ]);
    const args = makeIsoArguments({
      ...base,
      defaultEntry: 'recover',
      timeoutSeconds: 0,
      cmdline: 'quiet ip=dhcp',
      serial: true,
      firmware: ['uefi', 'bios', 'uefi'],
    });
    expect(args.slice(10)).toEqual([
      '--default',
      'recover',
      '--timeout',
      '0',
      '--cmdline',
      'quiet ip=dhcp',
      '--serial',
      '--firmware',
      'bios,uefi',
    ]);
  });

  it.each<[string, Partial<IsoOptions>]>([
    ['a relative kernel path', { kernel: 'vmlinuz' }],
    ['a volume id with a space', { volumeId: 'LIFE BOAT' }],
    ['a volume id over 32 characters', { volumeId: 'A'.repeat(33) }],
    ['an epoch before 1980', { epoch: 0 }],
    ['a fractional epoch', { epoch: EPOCH + 0.5 }],
    ['an unknown default entry', { defaultEntry: 'shell' as IsoOptions['defaultEntry'] }],
    ['a negative timeout', { timeoutSeconds: -1 }],
    ['a timeout isolinux cannot count', { timeoutSeconds: 3600 }],
    ['a quote on the command line', { cmdline: 'root="a b"' }],
    ['a newline on the command line', { cmdline: 'quiet\ninit=/bin/sh' }],
    ['no firmware', { firmware: [] }],
    ['an unknown firmware', { firmware: ['bios', 'coreboot' as 'bios'] }],
  ])('refuses %s', (_what, change) => {
    expect(() => makeIsoArguments({ ...base, ...change })).toThrow(UsageError);
  });
});

// ---------------------------------------------------------------------------------------------
// Shared by the engine and boot tiers: the inputs, and the ISOs built from them once.

/** Why the test initrd can't be made here. */
function initrdToolsMissing(): string | undefined {
  if (!existsSync('/usr/bin/gcc'))
    return 'gcc is not installed (the test initrd is a static C /init)';
  if (!existsSync('/usr/lib/x86_64-linux-gnu/libc.a'))
    return 'libc6-dev is not installed (gcc -static needs libc.a)';
  if (!existsSync('/usr/bin/cpio')) return 'cpio is not installed';
  return undefined;
}

async function kernelMissing(): Promise<string | undefined> {
  const fixture = await debianFixture();
  return 'missing' in fixture ? `the Debian fixture root: ${fixture.missing}` : undefined;
}

const engineTierMissing =
  (await engineMissing()) ?? initrdToolsMissing() ?? (await kernelMissing());
const bootTierMissing = engineTierMissing ?? qemuMissing();

interface Built {
  scratch: string;
  engine: Engine;
  builder: string;
  kernel: Buffer;
  initrd: Buffer;
  /** Host paths of the ISOs. */
  iso: Record<IsoName, string>;
  /** `xorriso -report_system_area plain -report_el_torito plain` of each ISO of the first container. */
  report: Partial<Record<IsoName, string>>;
}

type IsoName = 'first' | 'again' | 'otherEpoch' | 'recover' | 'uefiOnly' | 'biosOnly';

let built: Promise<Built> | undefined;

/** Builds every ISO the tests look at, once per file run. */
function buildAll(): Promise<Built> {
  built ??= (async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'lifeboat-iso-'));
    const engine = connectEngine();
    // The first build on a machine downloads the media tools: minutes, not seconds.
    const image = await ensureBuilderImage({
      engine,
      imagesDir: IMAGES_DIR,
      name: 'debian-bookworm',
      baseImage: BASE_IMAGE,
      log: new MemoryLog(),
    });
    const kernel = await readFile(await fixtureKernel());
    const initrd = await makeTestInitrd(scratch);
    const names: IsoName[] = ['first', 'again', 'otherEpoch', 'recover', 'uefiOnly', 'biosOnly'];
    const iso = Object.fromEntries(names.map((n) => [n, join(scratch, `${n}.iso`)])) as Record<
      IsoName,
      string
    >;
    const options: IsoOptions = { ...base, serial: true, timeoutSeconds: 1, cmdline: 'quiet' };
    const run = (fn: (c: RunningContainer) => Promise<void>) =>
      withContainer({ engine, image: image.tag, log: new MemoryLog() }, fn);

    const report: Built['report'] = {};
    await run(async (c) => {
      await putInputs(c, '/in', kernel, initrd, 1_600_000_000);
      const variants: [IsoName, Partial<IsoOptions>][] = [
        ['first', {}],
        ['otherEpoch', { epoch: EPOCH + 1 }],
        ['recover', { defaultEntry: 'recover' }],
        // One firmware each, and no menu: the default entry boots at once.
        ['uefiOnly', { firmware: ['uefi'], timeoutSeconds: 0, volumeId: 'LB_UEFI' }],
        ['biosOnly', { firmware: ['bios'], timeoutSeconds: 0, volumeId: 'LB_BIOS' }],
      ];
      for (const [name, change] of variants) {
        const out = `/out/${name}.iso`;
        await makeIso(c, { ...options, ...change, out });
        await fetchFile(c, out, iso[name]);
        const reported = await c.exec([
          'xorriso',
          '-indev',
          out,
          '-report_system_area',
          'plain',
          '-report_el_torito',
          'plain',
        ]);
        if (reported.exitCode !== 0)
          throw new Error(`xorriso -report_system_area: ${reported.stderr}`);
        report[name] = reported.stdout;
      }
    });
    // Another container, later, with the inputs somewhere else and dated otherwise.
    await run(async (c) => {
      await putInputs(c, '/elsewhere/inputs', kernel, initrd, 1_234_567_890);
      await makeIso(c, {
        ...options,
        kernel: '/elsewhere/inputs/vmlinuz',
        initrd: '/elsewhere/inputs/initrd.gz',
        out: '/var/tmp/deeper/again.iso',
      });
      await fetchFile(c, '/var/tmp/deeper/again.iso', iso.again);
    });
    return { scratch, engine, builder: image.tag, kernel, initrd, iso, report };
  })();
  return built;
}

async function fixtureKernel(): Promise<string> {
  const fixtureRoot = await debianRoot();
  const boot = join(fixtureRoot, 'boot');
  const name = (await readdir(boot)).filter((n) => n.startsWith('vmlinuz-')).sort()[0];
  if (name === undefined) throw new Error(`no vmlinuz-* in ${boot}`);
  return join(boot, name);
}

/** A gzip newc initrd holding only a static /init (iso-init.c) and the directories it needs. */
async function makeTestInitrd(scratch: string): Promise<Buffer> {
  const root = join(scratch, 'initrd-root');
  await mkdir(join(root, 'dev'), { recursive: true });
  await mkdir(join(root, 'proc'), { recursive: true });
  await execa('gcc', ['-static', '-Os', '-s', '-o', join(root, 'init'), INIT_C]);
  const cpio = await execa(
    'cpio',
    ['--create', '--format=newc', '--reproducible', '--owner=0:0', '--quiet'],
    { cwd: root, input: '.\ndev\ninit\nproc\n', encoding: 'buffer' },
  );
  // Node's gzip writes no name and mtime 0.
  return gzipSync(cpio.stdout, { level: 9 });
}

/** The kernel and initrd in `dir`, dated `mtime` (the ISO must not care). */
async function putInputs(
  c: RunningContainer,
  dir: string,
  kernel: Buffer,
  initrd: Buffer,
  mtime: number,
): Promise<void> {
  const date = new Date(mtime * 1000);
  const inputs = pack();
  inputs.entry({ name: 'vmlinuz', mode: 0o644, mtime: date }, kernel);
  inputs.entry({ name: 'initrd.gz', mode: 0o600, mtime: date }, initrd);
  inputs.finalize();
  await c.putArchive(dir, inputs);
}

/** Copies one file out of the container to `dest`. */
async function fetchFile(c: RunningContainer, path: string, dest: string): Promise<void> {
  const tar = await c.getArchive(path);
  const ex = extract();
  const reading = (async () => {
    let found = false;
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      if (entry.header.type === 'file' && !found) {
        await writeFile(dest, Buffer.concat(chunks));
        found = true;
      }
    }
    if (!found) throw new Error(`${path}: no file in the container's archive`);
  })();
  for await (const chunk of tar) ex.write(chunk as Buffer);
  ex.end(undefined);
  await reading;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

afterAll(async () => {
  await removeTrackedContainers();
  if (built !== undefined) {
    const { scratch } = await built.catch(() => ({ scratch: undefined }));
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Engine tier: real builds in the builder image.

describeTier('engine', engineTierMissing)('make-iso in the builder image', () => {
  let b: Built;

  beforeAll(async () => {
    b = await buildAll();
  }, 15 * 60_000);

  it('finds make-iso in the builder image, as it is in images/debian-bookworm/steps', async () => {
    const listed = await withContainer(
      { engine: b.engine, image: b.builder, log: new MemoryLog() },
      (c) => c.exec(['sha256sum', MAKE_ISO_SCRIPT]),
    );
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout.split(' ')[0]).toBe(await sha256(MAKE_ISO));
  });

  it('gives the same bytes for the same inputs, in another container, later', async () => {
    expect(await sha256(b.iso.again)).toBe(await sha256(b.iso.first));
  });

  it('gives other bytes for another epoch', async () => {
    expect(await sha256(b.iso.otherEpoch)).not.toBe(await sha256(b.iso.first));
  });

  it('writes an MBR + GPT hybrid with BIOS and UEFI El Torito entries', async () => {
    const report = b.report.first ?? '';
    expect(report).toMatch(/^System area summary: MBR isohybrid .*GPT/m);
    // MBR partition 2 and a GPT partition are efiboot.img, the ESP of a dd'ed stick.
    expect(report).toMatch(/^MBR partition\s*:\s+2\s+0x00\s+0xef\s/m);
    expect(report).toMatch(/^MBR partition path :\s+2\s+\/boot\/grub\/efiboot\.img$/m);
    expect(report).toMatch(/^GPT partition path :\s+\d+\s+\/boot\/grub\/efiboot\.img$/m);
    expect(report).toMatch(/^GPT disk GUID\s*:\s+[0-9a-f]{32}$/m);
    expect(report).toMatch(/^El Torito boot img :\s+1\s+BIOS\s/m);
    expect(report).toMatch(/^El Torito boot img :\s+2\s+UEFI\s/m);
    expect(report).toMatch(/^El Torito img path :\s+1\s+\/isolinux\/isolinux\.bin$/m);
    // The MBR disk signature is not random: libisofs derives it from the volume date (the
    // epoch), so it follows the epoch and nothing else.
    const mbrOf = async (path: string) => (await readFile(path)).subarray(0, 512);
    const mbr = await mbrOf(b.iso.first);
    expect(mbr.readUInt16LE(510)).toBe(0xaa55);
    expect((await mbrOf(b.iso.again)).readUInt32LE(440)).toBe(mbr.readUInt32LE(440));
    expect((await mbrOf(b.iso.otherEpoch)).readUInt32LE(440)).not.toBe(mbr.readUInt32LE(440));
  });

  it('makes a UEFI-only ISO a GPT disk with a protective MBR and an EFI System Partition', () => {
    const report = b.report.uefiOnly ?? '';
    expect(report).toMatch(/^System area summary: MBR protective-msdos-label .*GPT/m);
    expect(report).toMatch(/^MBR partition\s*:\s+1\s+0x00\s+0xee\s/m);
    // c12a7328-f81f-11d2-ba4b-00a0c93ec93b (EFI System) in GPT byte order.
    expect(report).toMatch(/^GPT type GUID\s*:\s+\d+\s+28732ac11ff8d211ba4b00a0c93ec93b$/m);
    expect(report).toMatch(/^El Torito boot img :\s+1\s+UEFI\s/m);
    expect(report).not.toMatch(/BIOS/);
  });

  it('makes a BIOS-only ISO an isohybrid MBR disk without a GPT', () => {
    const report = b.report.biosOnly ?? '';
    expect(report).toMatch(/^System area summary: MBR isohybrid/m);
    expect(report).not.toMatch(/GPT/);
    expect(report).toMatch(/^El Torito boot img :\s+1\s+BIOS\s/m);
    expect(report).not.toMatch(/UEFI/);
  });

  it('reports a failing step with its last lines of output', async () => {
    const error = await withContainer(
      { engine: b.engine, image: b.builder, log: new MemoryLog() },
      async (c) => {
        return makeIso(c, { ...base, kernel: '/no/such/vmlinuz' }).then(
          () => undefined,
          (e: unknown) => e,
        );
      },
    );
    expect(error).toBeInstanceOf(JobError);
    expect((error as Error).message).toMatch(/make-iso exited with code 2/);
    expect((error as Error).message).toMatch(/--kernel \/no\/such\/vmlinuz: no such file/);
    expect(await listContainersByLabel(b.engine)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Boot tier: the ISOs in QEMU.

describeTier('boot', bootTierMissing)('the ISO boots in QEMU', () => {
  let b: Built;
  const times: string[] = [];

  beforeAll(async () => {
    b = await buildAll();
  }, 15 * 60_000);

  afterAll(() => {
    if (b === undefined || times.length === 0) return;
    return stat(b.iso.first).then((s) => {
      console.log(
        `ISO ${(s.size / 2 ** 20).toFixed(1)} MiB (kernel ${(b.kernel.length / 2 ** 20).toFixed(1)} MiB, initrd ${(b.initrd.length / 1024).toFixed(0)} KiB); boot to marker: ${times.join(', ')}`,
      );
    });
  });

  /** A stick bigger than the image, as when the ISO is dd'ed to a real one. */
  async function stick(iso: string): Promise<string> {
    const image = join(b.scratch, `stick-${iso.split('/').pop()}`);
    const bytes = await readFile(iso);
    const raw = Buffer.alloc(64 * 2 ** 20);
    bytes.copy(raw);
    await writeFile(image, raw);
    return image;
  }

  async function boot(
    what: string,
    firmware: Firmware,
    medium: BootMedium,
  ): Promise<{ cmdline: string; answered: boolean }> {
    const result = await bootInQemu({
      firmware,
      medium,
      ready: READY,
      commands: [{ send: 'hello lifeboat', expect: /answer: hello lifeboat/ }],
      timeoutMs: 120_000,
      memoryMiB: 1024,
    });
    if (!result.ready) {
      throw new Error(
        `${what}: no marker line; the console said:\n${result.transcript.slice(-3000)}`,
      );
    }
    times.push(`${what} ${result.readySeconds?.toFixed(1)} s`);
    const cmdline = READY.exec(result.transcript)?.[1] ?? '';
    return { cmdline, answered: result.answers[0] !== undefined };
  }

  const BOOT_TIMEOUT = 180_000;

  it(
    'boots the rescue entry by default as a CD on BIOS',
    async () => {
      const { cmdline, answered } = await boot('BIOS CD', 'bios', {
        kind: 'cdrom',
        iso: b.iso.first,
      });
      expect(cmdline).toContain('console=ttyS0,115200n8');
      expect(cmdline).toContain('quiet');
      expect(cmdline).not.toContain('lifeboat.recover');
      expect(answered).toBe(true);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots the rescue entry by default as a CD on UEFI',
    async () => {
      const { cmdline, answered } = await boot('UEFI CD', 'uefi', {
        kind: 'cdrom',
        iso: b.iso.first,
      });
      expect(cmdline).toContain('console=ttyS0,115200n8');
      expect(cmdline).not.toContain('lifeboat.recover');
      expect(answered).toBe(true);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots written raw to a USB stick on BIOS',
    async () => {
      const { cmdline } = await boot('BIOS USB', 'bios', {
        kind: 'usb',
        image: await stick(b.iso.first),
      });
      expect(cmdline).not.toContain('lifeboat.recover');
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots written raw to a USB stick on UEFI',
    async () => {
      const { cmdline } = await boot('UEFI USB', 'uefi', {
        kind: 'usb',
        image: await stick(b.iso.first),
      });
      expect(cmdline).not.toContain('lifeboat.recover');
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots a UEFI-only ISO written to a USB stick, without a menu',
    async () => {
      const { cmdline } = await boot('UEFI-only USB', 'uefi', {
        kind: 'usb',
        image: await stick(b.iso.uefiOnly),
      });
      expect(cmdline).toContain('quiet');
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots a BIOS-only ISO as a CD, without a menu',
    async () => {
      const { cmdline } = await boot('BIOS-only CD', 'bios', {
        kind: 'cdrom',
        iso: b.iso.biosOnly,
      });
      expect(cmdline).toContain('quiet');
    },
    BOOT_TIMEOUT,
  );

  it.each<Firmware>(['bios', 'uefi'])(
    'boots the automatic recovery entry when it is the default (%s)',
    async (firmware) => {
      const { cmdline } = await boot(`${firmware.toUpperCase()} CD recover`, firmware, {
        kind: 'cdrom',
        iso: b.iso.recover,
      });
      expect(cmdline.split(' ')).toContain('lifeboat.recover=auto');
      expect(cmdline).toContain('quiet');
    },
    BOOT_TIMEOUT,
  );
});
