import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { sandbox } from '../support/cli.js';
import { engineTierHost, mediaBuilds } from '../support/media-builds.js';
import { describeTier } from '../support/tiers.js';

/**
 * The PXE output's tree as built for a fleet: the three loaders, this host's menus linked by
 * the MAC address pxe.macs names (the fixture root names none), a default for other machines,
 * world-readable, and the same tree from a second build. That it boots, three ways, and that an
 * uploaded tree recovers a host, is test/outputs/pxe-boot.test.ts's.
 */
const THIS_MAC = '52:54:00:4c:42:01';

const { hostRoot, why } = await engineTierHost();

const builtTree = mediaBuilds(sandbox(), hostRoot, [
  'output.methods=[pxe]',
  `pxe.macs=[${THIS_MAC}]`,
  'boot.timeout=0',
]);

describeTier('engine', why)('PXE output: a network boot tree per machine', () => {
  it(
    "the tree holds the three loaders, this host's menus linked by its MAC, a default for other machines; it is world-readable and the same on a rebuild",
    async () => {
      const { out, manifest } = await builtTree();
      const pxe = join(out, 'pxe');
      const link = (path: string) => readlinkSync(join(pxe, path));
      expect(link('pxelinux.cfg/01-52-54-00-4c-42-01')).toBe('lifeboat-fixture-host');
      expect(link('grub/grub.cfg-01-52-54-00-4c-42-01')).toBe('lifeboat-fixture-host.cfg');
      expect(link('ipxe/01-52-54-00-4c-42-01.ipxe')).toBe('lifeboat-fixture-host.ipxe');
      for (const file of [
        'pxelinux.0',
        'ldlinux.c32',
        'grubnetx64.efi',
        'lifeboat.ipxe',
        'fixture-host.kernel',
        'fixture-host.initrd',
        'pxelinux.cfg/default',
        'grub/grub.cfg',
      ]) {
        expect(lstatSync(join(pxe, file)).mode & 0o777, file).toBe(0o644);
      }
      expect(lstatSync(pxe).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(pxe, 'pxelinux.cfg/lifeboat-fixture-host'), 'utf8')).toMatch(
        /LABEL recover\n {2}MENU LABEL lifeboat automatic recovery\n {2}LINUX fixture-host\.kernel\n {2}INITRD fixture-host\.initrd\n {2}APPEND .*lifeboat\.recover=auto\n/,
      );
      const again = await builtTree('media-again');
      expect(again.manifest.artifacts).toEqual(manifest.artifacts);
    },
    20 * 60_000,
  );
});
