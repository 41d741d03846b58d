import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConfigLayer } from './schema.js';

/**
 * The built-in layer: every key that has a sensible value without knowing the host.
 * ReaR's default.conf plays this role; like it, this is also the reference of what exists
 * (docs/configuration.md is generated from the schema, with these values).
 */
export function builtinDefaults(env: NodeJS.ProcessEnv = process.env): ConfigLayer {
  const root = process.getuid?.() === 0;
  const stateHome = env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state');
  return {
    output: {
      methods: ['iso'],
      compression: 'zstd',
      dir: root ? '/var/lib/lifeboat/output' : join(stateHome, 'lifeboat', 'output'),
    },
    backup: {
      method: 'none',
      mountOptions: '',
      exclude: ['/tmp/*', '/var/tmp/*', '/var/cache/apt/archives/*.deb'],
      compression: 'zstd',
      keep: 2,
    },
    rescue: {
      programs: [],
      requiredPrograms: [],
      packages: [],
      keep: [],
      copyAsIs: [],
      overlays: [],
      copyAsIsExclude: [],
      libs: [],
      modules: 'needed',
      extraModules: [],
      excludeModules: [],
      firmware: [],
    },
    kernel: { cmdline: '' },
    boot: {
      default: 'rescue',
      timeout: 5,
      serialConsole: true,
      firmware: ['bios', 'uefi'],
      volumeId: 'LIFEBOAT',
    },
    pxe: { links: 'mac', macs: [], hostDirectory: false, removeOldLinks: false },
    rawdisk: { compression: 'none' },
    usb: { label: 'LIFEBOAT-000', filesystem: 'ext4', efiSizeMiB: 256, retain: 2 },
    tape: { blockSize: 0, label: 'LIFEBOAT', isoBlockSize: 2048, isoFileMarks: 2 },
    external: { check: [], backup: [], restore: [], ignoreExitCodes: [] },
    requestrestore: {
      text: 'The disks are recreated and mounted at {target}. Restore the files there, then create {finished} (or {abort} to stop the recovery).',
      command: [],
      finishedFile: '.lifeboat-restore-finished',
      abortFile: '.lifeboat-restore-abort',
      readyFile: '.lifeboat-restore-ready',
      pollSeconds: 5,
      timeoutMinutes: 0,
    },
    tsm: {
      dsmc: 'dsmc',
      // Where the client keeps its configuration. Its stored password (/etc/adsm, passwordaccess
      // generate) is a secret: it goes into the image only when a site lists it here.
      files: ['/opt/tivoli/tsm/client/ba/bin/dsm.sys', '/opt/tivoli/tsm/client/ba/bin/dsm.opt'],
      filespaces: [],
    },
    networker: { saveSets: [], recover: 'recover', files: ['/nsr/res'] },
    ssh: { authorizedKeys: [] },
    network: { mode: 'dhcp' },
    recovery: {
      preScripts: [],
      postScripts: [],
      afterUnattended: 'reboot',
      initramfsTool: 'auto',
      regenerateInitramfs: 'auto',
      embedBackupKey: false,
    },
    layout: { exclude: [], autoExcludeDisks: true },
    builder: { image: 'debian-bookworm', baseImage: 'lifeboat-base/debian:bookworm' },
    steps: { dirs: [] },
    paths: {
      workDir: root ? '/var/lib/lifeboat' : join(stateHome, 'lifeboat'),
      logDir: root ? '/var/log/lifeboat' : join(stateHome, 'lifeboat', 'log'),
    },
  };
}
