import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { sandbox } from '../support/cli.js';
import { engineTierHost, mediaBuilds } from '../support/media-builds.js';
import { describeTier } from '../support/tiers.js';

/**
 * The RAWDISK output as built: two builds give the same image, bit for bit; rawdisk.compression
 * gzip gives the same image gzipped; the build says what the example host's kernel means for a
 * stick. That the image boots, and knows which disk it came from, is
 * test/outputs/rawdisk-boot.test.ts's.
 */
const { hostRoot, why } = await engineTierHost();

const box = sandbox();

/** Capture, then `build` with the rawdisk output; other names build again from that capture. */
const builds = mediaBuilds(box, hostRoot, ['output.methods=[rawdisk]', 'boot.timeout=0']);
async function builtImage(name = 'media') {
  const { out, manifest, log } = await builds(name);
  return { image: join(out, 'lifeboat.raw'), manifest, log };
}

describeTier('engine', why)('RAWDISK output: the disk image as built', () => {
  it(
    'two builds give the same image, bit for bit; the build warns that this kernel will not see a stick',
    async () => {
      const first = await builtImage();
      const again = await builtImage('media-again');
      expect(again.manifest.artifacts).toEqual(first.manifest.artifacts);
      expect(first.manifest.artifacts.map((a) => a.name)).toEqual(['lifeboat.raw']);
      expect(readFileSync(again.image).equals(readFileSync(first.image))).toBe(true);
      // The example host's cloud kernel has no USB drivers: the build says what that means.
      expect(first.log).toContain(
        "output rawdisk: the host's kernel has no xhci_pci, usb_storage: written to a USB stick, the image boots, but the running rescue system does not see the stick",
      );
    },
    20 * 60_000,
  );

  it(
    'rawdisk.compression=gzip: lifeboat.raw.gz instead, whose content is the raw image, byte for byte',
    async () => {
      const raw = await builtImage();
      const { out, manifest } = await builds('gzip', ['rawdisk.compression=gzip']);
      expect(manifest.artifacts.map((a) => a.name)).toEqual(['lifeboat.raw.gz']);
      expect(existsSync(join(out, 'lifeboat.raw'))).toBe(false);
      const content = gunzipSync(readFileSync(join(out, 'lifeboat.raw.gz')));
      expect(content.equals(readFileSync(raw.image))).toBe(true);
    },
    20 * 60_000,
  );
});
