import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Log } from '../log/log.js';
import { inChroot } from './chroot.js';

/**
 * Making the restored system's initramfs again, when initramfs-decision.ts says it may be wrong
 * here: it names the disks, the RAID arrays and the LUKS volumes it opens and carries the
 * drivers that reach them. With whichever tool that system has (recovery.initramfsTool: auto
 * picks the first present, in this order).
 */
export type InitramfsTool = 'update-initramfs' | 'dracut' | 'mkinitrd';

const TOOLS: Record<InitramfsTool, { paths: string[]; argv: string[] }> = {
  'update-initramfs': {
    paths: ['usr/sbin/update-initramfs', 'sbin/update-initramfs'],
    argv: ['update-initramfs', '-u', '-k', 'all'],
  },
  dracut: {
    paths: ['usr/bin/dracut', 'usr/sbin/dracut', 'sbin/dracut'],
    argv: ['dracut', '--force', '--regenerate-all'],
  },
  mkinitrd: {
    paths: ['usr/sbin/mkinitrd', 'sbin/mkinitrd', 'usr/bin/mkinitrd'],
    argv: ['mkinitrd'],
  },
};

/**
 * The tool to run, from the setting and what the restored root has (`has(relativePath)`);
 * undefined when auto finds none (a system without an initramfs). A tool named explicitly but
 * missing is an error: the administrator said the system needs it.
 */
export function chooseInitramfsTool(
  setting: 'auto' | InitramfsTool,
  has: (relative: string) => boolean,
): { tool: InitramfsTool; argv: string[] } | undefined {
  const present = (tool: InitramfsTool) => TOOLS[tool].paths.some(has);
  if (setting !== 'auto') {
    if (!present(setting))
      throw new UsageError(
        `recovery.initramfsTool is ${setting}, and the restored system has no ${setting}`,
        { hint: 'Set recovery.initramfsTool to auto, or to the tool the system has.' },
      );
    return { tool: setting, argv: TOOLS[setting].argv };
  }
  for (const tool of Object.keys(TOOLS) as InitramfsTool[])
    if (present(tool)) return { tool, argv: TOOLS[tool].argv };
  return undefined;
}

/** Regenerates it; the line for the output says with what, and `because` why. */
export async function regenerateInitramfs(
  root: string,
  setting: 'auto' | InitramfsTool,
  because: string,
  log: Log,
): Promise<string> {
  const chosen = chooseInitramfsTool(setting, (relative) => existsSync(join(root, relative)));
  if (!chosen)
    return `the restored system has no initramfs tool; nothing to regenerate (${because})`;
  await inChroot(root, `regenerating the initramfs (${chosen.tool})`, chosen.argv, log);
  return `initramfs regenerated with ${chosen.argv.join(' ')}: ${because}`;
}
