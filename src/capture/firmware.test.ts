import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostFacts } from '../config/facts.js';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { MemoryLog } from '../log/log.js';
import { captureHost } from './capture.js';
import { findConfiguredFirmware } from './firmware.js';
import type { CaptureManifest } from './manifest.js';

/**
 * `rescue.firmware`: a capture of a merged-/usr root (lib -> usr/lib) carries the firmware files
 * the patterns name, each from where the kernel would load it, besides what modules declare.
 */

const VERSION = '6.1.0-test';
const FW = 'usr/lib/firmware';
const facts: HostFacts = { arch: 'x86_64', osId: 'debian', osIdLike: [], osVersion: '12' };

/** Root-relative path → content; the bytes only need to be told apart. */
const FILES: Record<string, string> = {
  [`${FW}/iwlwifi-cc-a0-77.ucode`]: 'plain',
  [`${FW}/iwlwifi-cc-a0-77.pnvm`]: 'not a .ucode',
  [`${FW}/iwlwifi-ty-a0-gf-a0-83.ucode.zst`]: 'compressed',
  // updates/ comes first in the kernel's search: the copy below it is never loaded.
  [`${FW}/iwlwifi-so-a0-hr-b0-89.ucode`]: 'shadowed by updates',
  [`${FW}/updates/iwlwifi-so-a0-hr-b0-89.ucode.xz`]: 'update',
  // The plain file comes before the compressed one.
  [`${FW}/rtl_nic/rtl8168h-2.fw`]: 'rtl plain',
  [`${FW}/rtl_nic/rtl8168h-2.fw.zst`]: 'shadowed by the plain file',
  [`${FW}/rtl_nic/rtl8125b-2.fw.zst`]: 'rtl compressed',
  [`${FW}/rtl_bt/rtl8761b_fw.bin`]: 'not asked for',
  [`${FW}/amdgpu/navi10_sos.bin.zst`]: 'navi10',
  [`${FW}/amdgpu/navi12_sos.bin`]: 'navi12',
  [`${FW}/${VERSION}/amdgpu/navi10_ta.bin`]: 'for this kernel only',
  [`${FW}/regulatory.db.zst`]: 'by absolute path',
};

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-firmware-'));
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('usr/lib', join(root, 'lib'));
  for (const [path, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  await symlink('rtl8168h-2.fw', join(root, FW, 'rtl_nic/rtl8168g-3.fw'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function capture(firmware: string[]): Promise<CaptureManifest> {
  const empty = await mkdtemp(join(tmpdir(), 'lifeboat-cfg-'));
  try {
    const sets = [`kernel.version=${VERSION}`, ...firmware.map((f) => `rescue.firmware+=${f}`)];
    const { config } = await loadConfig({ configDir: empty, cwd: empty, facts, env: {}, sets });
    const log = new MemoryLog();
    return (await captureHost({ root, config, log, hostArch: 'x86_64' })).manifest;
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}

function firmwareRecords(manifest: CaptureManifest, type: 'file' | 'symlink'): string[] {
  return manifest.files
    .filter((f) => f.type === type && f.path.startsWith('/usr/lib/firmware/'))
    .map((f) => f.path);
}

describe('rescue.firmware', () => {
  let manifest: CaptureManifest;

  beforeAll(async () => {
    manifest = await capture([
      'iwlwifi-*.ucode',
      'rtl_nic/*',
      'amdgpu/navi10_*.bin',
      '/lib/firmware/regulatory.db',
      'ath11k/*',
    ]);
  });

  it('captures each matching file from where the kernel would load it', () => {
    expect(firmwareRecords(manifest, 'file')).toEqual([
      `/${FW}/${VERSION}/amdgpu/navi10_ta.bin`,
      `/${FW}/amdgpu/navi10_sos.bin.zst`,
      `/${FW}/iwlwifi-cc-a0-77.ucode`,
      `/${FW}/iwlwifi-ty-a0-gf-a0-83.ucode.zst`,
      `/${FW}/regulatory.db.zst`,
      `/${FW}/rtl_nic/rtl8125b-2.fw.zst`,
      `/${FW}/rtl_nic/rtl8168h-2.fw`,
      `/${FW}/updates/iwlwifi-so-a0-hr-b0-89.ucode.xz`,
    ]);
  });

  it('keeps firmware symlinks and the merged-/usr link as links', () => {
    expect(firmwareRecords(manifest, 'symlink')).toEqual([`/${FW}/rtl_nic/rtl8168g-3.fw`]);
    expect(manifest.files.find((f) => f.path === '/lib')).toMatchObject({
      type: 'symlink',
      target: 'usr/lib',
    });
  });

  it('warns about a pattern that matches nothing, naming the key and the pattern', () => {
    expect(manifest.warnings).toContain(
      'rescue.firmware ath11k/* matches no firmware file in the root; nothing added',
    );
    expect(manifest.warnings.filter((w) => w.startsWith('rescue.firmware'))).toHaveLength(1);
  });

  it('refuses an absolute path outside the firmware directories', async () => {
    const refused = capture(['/etc/firmware/x.bin']);
    await expect(refused).rejects.toBeInstanceOf(UsageError);
    await expect(refused).rejects.toThrow(
      'rescue.firmware /etc/firmware/x.bin: an absolute path must be under /lib/firmware or /usr/lib/firmware',
    );
  });
});

describe('findConfiguredFirmware', () => {
  it('takes a matched directory whole, and every search directory once with `*`', async () => {
    const all = await findConfiguredFirmware(root, VERSION, ['*']);
    expect(all.warnings).toEqual([]);
    expect(all.paths).toEqual([
      `/lib/firmware/${VERSION}/amdgpu/navi10_ta.bin`,
      '/lib/firmware/amdgpu/navi10_sos.bin.zst',
      '/lib/firmware/amdgpu/navi12_sos.bin',
      '/lib/firmware/iwlwifi-cc-a0-77.pnvm',
      '/lib/firmware/iwlwifi-cc-a0-77.ucode',
      '/lib/firmware/iwlwifi-ty-a0-gf-a0-83.ucode.zst',
      '/lib/firmware/regulatory.db.zst',
      '/lib/firmware/rtl_bt/rtl8761b_fw.bin',
      '/lib/firmware/rtl_nic/rtl8125b-2.fw.zst',
      '/lib/firmware/rtl_nic/rtl8168g-3.fw',
      '/lib/firmware/rtl_nic/rtl8168h-2.fw',
      '/lib/firmware/updates/iwlwifi-so-a0-hr-b0-89.ucode.xz',
    ]);
    const dir = await findConfiguredFirmware(root, null, ['rtl_bt', '/usr/lib/firmware/amdgpu']);
    expect(dir.paths).toEqual([
      '/lib/firmware/rtl_bt/rtl8761b_fw.bin',
      '/usr/lib/firmware/amdgpu/navi10_sos.bin.zst',
      '/usr/lib/firmware/amdgpu/navi12_sos.bin',
    ]);
  });
});
