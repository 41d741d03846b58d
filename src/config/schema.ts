import { z } from 'zod';

/**
 * The one schema every configuration layer is validated against (defaults, OS/arch profiles,
 * site, local, --config files, the recipe, --set flags). `npm run schema` turns it into
 * schema/lifeboat.schema.json for editors and docs/configuration.md for people.
 *
 * Every key is optional here: a layer sets only what it changes. The built-in values live in
 * defaults.ts as the first layer, so `lifeboat dump` can say a value came from "default".
 */

/** Schemas whose values are secrets: redacted in `dump`, never written to a log. */
const secretSchemas = new WeakSet<z.ZodType>();
function secret<T extends z.ZodType>(schema: T): T {
  secretSchemas.add(schema);
  return schema;
}
export function isSecretSchema(schema: z.ZodType): boolean {
  return secretSchemas.has(schema);
}

/** A section of the configuration: every key optional (a layer sets what it changes), none unknown. */
function section<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape).partial();
}

const names = (what: string) => z.array(z.string().min(1)).describe(what);

export const OUTPUT_METHODS = ['iso', 'ramdisk', 'pxe', 'usb', 'rawdisk', 'obdr'] as const;
export const BACKUP_METHODS = [
  'netfs',
  'rsync',
  'restic',
  'tsm',
  'networker',
  'external',
  'requestrestore',
  'none',
] as const;
export type OutputMethod = (typeof OUTPUT_METHODS)[number];
export type BackupMethodName = (typeof BACKUP_METHODS)[number];

const outputSection = section({
  methods: z
    .array(z.enum(OUTPUT_METHODS))
    .min(1)
    .describe('Which media to make. ReaR OUTPUT (lifeboat can make several at once).'),
  url: z
    .string()
    .min(1)
    .describe('Where finished media are copied (file://, nfs://, sftp://...). ReaR OUTPUT_URL.'),
  dir: z.string().min(1).describe('Local directory the build writes its artifacts to.'),
  compression: z
    .enum(['zstd', 'gzip', 'xz', 'none'])
    .describe(
      'How the initrd is compressed (fixed levels, one thread: the same bytes on every machine).',
    ),
});

const backupSection = section({
  method: z.enum(BACKUP_METHODS).describe('How files are backed up and restored. ReaR BACKUP.'),
  url: z
    .string()
    .min(1)
    .describe(
      'Where backups go: file://, nfs://, cifs://, sftp://, usb://, tape:// (netfs); rsync://host/path or rsync://host::/module/path (rsync); file:///path or sftp://host/path (restic repository). ReaR BACKUP_URL.',
    ),
  mountOptions: z
    .string()
    .describe('Mount options for nfs:// and cifs:// URLs. ReaR BACKUP_OPTIONS.'),
  exclude: names('Paths and patterns left out of the archive. ReaR BACKUP_PROG_EXCLUDE.'),
  compression: z.enum(['zstd', 'gzip', 'none']).describe('Archive compression.'),
  encryptionKey: secret(
    z
      .string()
      .min(1)
      .describe(
        'Key that encrypts the archive (restic: the repository password). A secret: never logged, never put into an image unless recovery.embedBackupKey is true. ReaR BACKUP_PROG_CRYPT_KEY.',
      ),
  ),
  keep: z
    .number()
    .int()
    .min(0)
    .describe('How many earlier backups to keep besides the newest (retention).'),
  sftpKey: secret(
    z
      .string()
      .min(1)
      .describe(
        'For sftp:// (netfs, restic) and rsync:// over ssh: the PEM text of the ssh private key (unencrypted) that logs in. A secret: never logged; written to a 0600 temporary file while the backup runs.',
      ),
  ),
  sftpHostKey: z
    .string()
    .min(1)
    .describe(
      "For sftp:// (netfs, restic) and rsync:// over ssh: the server's host key fingerprint as `ssh-keygen -lf` prints it (SHA256:...); a server with another key is refused.",
    ),
});

/** A command as its arguments: run without a shell, so nothing in it is ever interpreted. */
const command = (description: string) => z.array(z.string().min(1)).describe(description);

const externalSection = section({
  check: command(
    'backup.method external: the command that checks the backup system answers, before a backup and before any disk changes at recovery (its arguments, no shell). ReaR EXTERNAL_CHECK.',
  ),
  backup: command(
    'backup.method external: the command that backs the host up (its arguments, no shell; {root}, {hostname} are replaced). ReaR EXTERNAL_BACKUP.',
  ),
  restore: command(
    'backup.method external: the command that restores into {target} in the rescue system (its arguments, no shell; {target}, {hostname}, {id} are replaced). ReaR EXTERNAL_RESTORE.',
  ),
  ignoreExitCodes: z
    .array(z.number().int().min(1).max(255))
    .describe(
      'Exit codes of the external commands taken as success with a warning (rsync 24: files vanished). ReaR EXTERNAL_IGNORE_ERRORS.',
    ),
});

/** A point in time to restore as of, in the backup server's time. */
const pointInTime = (description: string) =>
  z
    .string()
    .regex(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, 'YYYY-MM-DD HH:MM:SS')
    .describe(description);

const tsmSection = section({
  dsmc: z
    .string()
    .min(1)
    .describe(
      "backup.method tsm: the IBM Storage Protect (TSM) client's command line program, a name on PATH or a path. The rescue system takes the host's, with its libraries.",
    ),
  optfile: z
    .string()
    .min(1)
    .describe('dsmc -optfile=: the client options file (dsm.opt) to use instead of the default.'),
  server: z
    .string()
    .min(1)
    .describe(
      'dsmc -se=: the server stanza of dsm.sys to use. ReaR TSM_DSMC_RESTORE_OPTIONS (-se=).',
    ),
  files: names(
    "Host files and directories the rescue system needs for dsmc (its configuration, the stored password), copied as they are. ReaR's COPY_AS_IS for TSM.",
  ),
  filespaces: names(
    'The filespaces to restore; empty: every filespace the server has for this node. ReaR TSM_RESTORE_FILESPACE_NUMS (by name here).',
  ),
  pointInTime: pointInTime(
    "Restore as of this time (YYYY-MM-DD HH:MM:SS, the server's time) instead of the newest: dsmc -pitdate/-pittime. ReaR TSM_RESTORE_PIT_DATE and TSM_RESTORE_PIT_TIME.",
  ),
});

const networkerSection = section({
  server: z
    .string()
    .min(1)
    .describe(
      'backup.method networker: the NetWorker server to recover from (as /nsr/res/servers names it). ReaR NSRSERVER.',
    ),
  client: z
    .string()
    .min(1)
    .describe("The client name the backups were made as; default: the host's name. recover -c."),
  saveSets: names(
    'The save sets to recover; empty: every file system recovery recreated (what savefs -p lists for a host backed up whole). ReaR: savefs -p at mkrescue.',
  ),
  pointInTime: pointInTime(
    'Recover as of this time (YYYY-MM-DD HH:MM:SS) instead of the newest: recover -t.',
  ),
  recover: z
    .string()
    .min(1)
    .describe(
      "NetWorker's recover program, a name on PATH or a path. The rescue system takes the host's, with its libraries.",
    ),
  files: names(
    "Host files and directories the rescue system needs for recover (the client's resources), copied as they are.",
  ),
});

/** A file under the restore target: a name or relative path, never one that leaves it. */
const targetFile = (description: string) =>
  z
    .string()
    .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, 'a path relative to the target, without ..')
    .describe(description);

const requestRestoreSection = section({
  text: z
    .string()
    .min(1)
    .describe(
      'What recovery says when the disks are ready for someone else to restore into ({target}, {finished}, {abort} are replaced). ReaR REQUESTRESTORE_TEXT.',
    ),
  command: command(
    'A command run when the disks are ready (its arguments, no shell; e.g. [bash] for a person): exit 0 means restored, anything else stops the recovery. Empty: wait for finishedFile or abortFile. ReaR REQUESTRESTORE_COMMAND.',
  ),
  finishedFile: targetFile(
    'The file under the target whose appearance says the restore is done. ReaR REQUESTRESTORE_FINISHED_FILE.',
  ),
  abortFile: targetFile(
    'The file under the target whose appearance stops the recovery. ReaR REQUESTRESTORE_ABORT_FILE.',
  ),
  readyFile: targetFile(
    'Written under the target when the disks are ready to receive the restore (JSON: host, target, the two files), removed when it ends.',
  ),
  readyUrl: z
    .string()
    .url()
    .describe(
      'URL POSTed the same JSON when the disks are ready, so another system can start the restore; one that does not answer is a warning.',
    ),
  pollSeconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .describe('How often finishedFile and abortFile are looked for.'),
  timeoutMinutes: z
    .number()
    .int()
    .min(0)
    .describe('How long to wait for them; 0 waits as long as it takes.'),
});

/** The groups images/<image>/steps/prune-rootfs leaves out unless rescue.keep names them. */
export const RESCUE_KEEP_GROUPS = [
  'python',
  'perl',
  'packaging',
  'hwdb',
  'timezones',
  'gconv',
  'node-extras',
  'icu',
] as const;

const rescueSection = section({
  programs: names(
    'Host programs to copy into the rescue system when the host has them; a missing one is a warning. ReaR PROGS.',
  ),
  requiredPrograms: names(
    'Host programs the rescue system must have; if any is missing, capture stops before writing anything. ReaR REQUIRED_PROGS.',
  ),
  packages: names(
    "Debian packages installed into the rescue system from the builder's distribution, whether the host has them or not.",
  ),
  keep: z
    .array(z.enum(RESCUE_KEEP_GROUPS))
    .describe(
      "What the builder leaves out of the rescue system by default and this recipe wants back: python, perl, packaging (dpkg and apt with their state), hwdb (udev's hardware database), timezones (all but UTC), gconv (glibc's iconv modules), node-extras (Node's TypeScript declarations), icu (ICU's data for other languages than English, its legacy character-set converters and transliteration). Python and Perl are kept anyway when a package in rescue.packages runs on them.",
    ),
  copyAsIs: names('Host files and directories copied as they are. ReaR COPY_AS_IS.'),
  overlays: names(
    "Directories on the building machine copied over the rescue root filesystem last, owned by root (a relative path is relative to the recipe's directory, else the working directory).",
  ),
  copyAsIsExclude: names('Paths left out of copyAsIs. ReaR COPY_AS_IS_EXCLUDE.'),
  libs: names(
    'Extra shared libraries (dlopen-ed: NSS modules, libgcc_s...), as sonames or globs. ReaR LIBS.',
  ),
  modules: z
    .enum(['needed', 'loaded', 'all'])
    .describe(
      'Which kernel modules go in: needed (present hardware, storage stack, a base set), loaded, or all. ReaR MODULES=(all_modules|loaded_modules).',
    ),
  extraModules: names('Kernel modules added whatever the policy. ReaR MODULES=(name ...).'),
  excludeModules: names('Kernel modules never added. ReaR EXCLUDE_MODULES.'),
  firmware: names(
    'Firmware files or globs added besides what modules declare. ReaR FIRMWARE_FILES.',
  ),
});

const kernelSection = section({
  file: z
    .string()
    .min(1)
    .describe('Kernel image to boot the rescue system with. ReaR KERNEL_FILE.'),
  version: z
    .string()
    .min(1)
    .describe('Kernel version to take modules from (default: the host kernel).'),
  cmdline: z
    .string()
    // isolinux and GRUB quote differently: the words are written verbatim into both menus.
    .regex(
      /^[\x20-\x7e]*$/,
      'printable ASCII only (isolinux and GRUB menus carry the words as they are)',
    )
    .regex(/^[^"'\\]*$/, 'no quotes or backslashes (isolinux and GRUB quote differently)')
    .describe('Extra kernel arguments for the rescue system. ReaR KERNEL_CMDLINE.'),
});

const bootSection = section({
  default: z
    .enum(['rescue', 'recover', 'local'])
    .describe(
      'Default boot menu entry: the rescue shell, unattended recovery, or the local disk. ReaR ISO_DEFAULT (manual|automatic|boothd).',
    ),
  timeout: z
    .number()
    .int()
    .min(0)
    .max(3599, 'at most 3599 seconds, the ISO menu limit make-iso accepts')
    .describe('Seconds the boot menu waits before its default entry (0 boots it at once).'),
  serialConsole: z.boolean().describe('Also use the first serial port as a console.'),
  firmware: z
    .array(z.enum(['bios', 'uefi']))
    .min(1)
    .describe('Firmware the media must boot on.'),
  volumeId: z.string().min(1).max(32).describe('ISO volume label. ReaR ISO_VOLID.'),
});

const rawdiskSection = section({
  compression: z
    .enum(['none', 'gzip', 'xz', 'zstd'])
    .describe(
      'How the RAWDISK image is compressed: none (a sparse lifeboat.raw), or lifeboat.raw.gz, .xz or .zst. ReaR RAWDISK_IMAGE_COMPRESSION_COMMAND.',
    ),
});

const pxeSection = section({
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{0,64}$/, 'letters, digits, _ . and - only (at most 64)')
    .describe(
      "What the PXE tree's kernel and initrd names start with (PREFIXkernel, PREFIXinitrd). Default: the host's name and a dot. ReaR PXE_TFTP_PREFIX.",
    ),
  links: z
    .enum(['mac', 'ip', 'none'])
    .describe(
      "The names that give a machine this host's PXE menu: its MAC addresses (pxelinux.cfg/01-aa-bb-cc-dd-ee-ff, grub.cfg-01-..., the default), its IPv4 addresses in hex (C0A8000A), or none. ReaR PXE_CREATE_LINKS (MAC, IP).",
    ),
  macs: z
    .array(
      z
        .string()
        .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'six lower-case hex bytes: aa:bb:cc:dd:ee:ff'),
    )
    .describe(
      "More MAC addresses that get this host's PXE menu, besides the captured ones: the network card of replacement hardware.",
    ),
  hostDirectory: z
    .boolean()
    .describe(
      "Put the kernel and initrd in a directory named after the host (HOST/PREFIXkernel) instead of the tree's top. ReaR OUTPUT_PREFIX_PXE.",
    ),
  url: z
    .string()
    .min(1)
    .describe(
      "The TFTP or HTTP server's tree the PXE files are uploaded into after the build (file://, nfs://, cifs://, sftp://), next to other hosts' files. ReaR PXE_TFTP_UPLOAD_URL and PXE_CONFIG_URL.",
    ),
  removeOldLinks: z
    .boolean()
    .describe(
      "On upload (pxe.url), remove the links to this host's menus that this build no longer makes (a MAC address the host no longer has). ReaR PXE_REMOVE_OLD_LINKS.",
    ),
});

const tapeSection = section({
  blockSize: z
    .number()
    .int()
    .min(0)
    .max(16 * 1024 * 1024)
    .describe(
      'Bytes per block of a tape:// backup archive; 0 writes variable blocks (records of 64 KiB). ReaR TAPE_BLOCKSIZE.',
    ),
  label: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8}$/, 'exactly 8 letters, digits, _ or - (ReaR reads no other length)')
    .describe(
      'The 8 characters at the start of a lifeboat tape, padded with zero bytes to 20 blocks of 512 (the OBDR header).',
    ),
  isoBlockSize: z
    .number()
    .int()
    .min(512)
    .max(1024 * 1024)
    .refine((n) => n % 512 === 0, 'a multiple of 512')
    .describe(
      'Bytes per block of the rescue ISO on an OBDR tape (output obdr); drives boot it as a CD-ROM of 2048-byte sectors. ReaR OBDR_BLOCKSIZE.',
    ),
  isoFileMarks: z
    .number()
    .int()
    .min(1)
    .max(8)
    .describe(
      "File marks after the ISO on an OBDR tape: the backup starts after the label's one and these. 2 is ReaR's layout (its recovery spaces over 3).",
    ),
});

const usbSection = section({
  label: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,16}$/, 'letters, digits, _ and - only (at most 16)')
    .describe(
      'The label `lifeboat format` gives the data partition of a rescue stick (usb:///dev/disk/by-label/LABEL finds it). ReaR USB_DEVICE_FILESYSTEM_LABEL.',
    ),
  filesystem: z
    .enum(['ext4', 'xfs'])
    .describe("The data partition's file system (`lifeboat format`). ReaR USB_DEVICE_FILESYSTEM."),
  efiSizeMiB: z
    .number()
    .int()
    .min(32)
    .max(4096)
    .describe(
      'The size of the EFI System Partition `lifeboat format` makes, in MiB. ReaR USB_UEFI_PART_SIZE.',
    ),
  retain: z
    .number()
    .int()
    .min(1)
    .max(100)
    .describe(
      'How many rescue systems of each host the usb output keeps on a stick, the newest; older runs are removed when a new one is written. ReaR USB_RETAIN_BACKUP_NR.',
    ),
});

const sshSection = section({
  authorizedKeys: names('Public keys allowed to log in to the rescue system as root.'),
  rootPasswordHash: secret(
    z
      .string()
      .regex(/^\$[0-9a-z]+\$/, 'a crypt(3) hash such as $6$... or $y$... (never a plain password)')
      .describe(
        'Hashed root password for the rescue system; without it, password login is off. A secret. ReaR SSH_ROOT_PASSWORD.',
      ),
  ),
});

const networkSection = section({
  mode: z
    .enum(['dhcp', 'static', 'none'])
    .describe(
      'How the rescue system configures its network: DHCP, the addresses captured from the host, or not at all. ReaR USE_STATIC_NETWORKING.',
    ),
});

const recoverySection = section({
  preScripts: names(
    "Shell commands (bash -c) run before recovery verifies anything, with LIFEBOAT_TARGET (and ReaR's TARGET_FS_ROOT) naming the target; a failing one stops the recovery. ReaR PRE_RECOVERY_SCRIPT.",
  ),
  postScripts: names(
    "Shell commands (bash -c) run after finalize, the restored system still mounted at LIFEBOAT_TARGET (and ReaR's TARGET_FS_ROOT); a failing one stops the recovery. ReaR POST_RECOVERY_SCRIPT.",
  ),
  afterUnattended: z
    .enum(['reboot', 'poweroff', 'shell'])
    .describe(
      'What an unattended recovery (boot entry "automatic recovery", lifeboat.recover=auto) does when it succeeds; on failure it always stays in the rescue shell.',
    ),
  notifyUrl: z
    .string()
    .url()
    .describe(
      'URL a recovery POSTs its result to, as JSON (workflow, hostname, result, reason, backupId, seconds); one that does not answer is only a warning.',
    ),
  initramfsTool: z
    .enum(['auto', 'update-initramfs', 'dracut', 'mkinitrd'])
    .describe(
      'How the restored system regenerates its initramfs: auto takes the first it has of update-initramfs, dracut, mkinitrd.',
    ),
  regenerateInitramfs: z
    .enum(['auto', 'always', 'never'])
    .describe(
      "Whether finalize makes the restored system's initramfs again: auto only when something it depends on changed (disk names, sizes or ids, the drivers of the disks or network cards, a kernel without an initramfs), always, or never. ReaR REBUILD_INITRAMFS.",
    ),
  embedBackupKey: z
    .boolean()
    .describe(
      'Put the secrets recovery needs (backup.encryptionKey, layout.luksKey...) into the rescue image; off: they are asked for at recovery, and unattended recovery refuses.',
    ),
});

const layoutSection = section({
  exclude: names(
    'Disk layout components (and what depends on them) not recreated; one naming a whole disk also leaves that disk out of matching, so it needs no disk at recovery. ReaR EXCLUDE_RECREATE.',
  ),
  autoExcludeDisks: z
    .boolean()
    .describe(
      'Leave out of recovery the captured disks no mounted file system or swap area of the host was on (a backup disk plugged in for mkbackup, a USB stick): they need no disk at recovery and are never recreated. The disk holding the backup is always left out. ReaR AUTOEXCLUDE_DISKS.',
    ),
  luksKey: secret(
    z
      .string()
      .min(1)
      .describe(
        'Passphrase the recreated LUKS volumes get (without it, recovery asks; unattended recovery refuses). A secret: never logged, in the rescue image only when recovery.embedBackupKey is true.',
      ),
  ),
});

const builderSection = section({
  image: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*$/, 'a directory name under images/, such as debian-bookworm')
    .describe('Builder image to use: the name of a directory under images/.'),
  baseImage: z
    .string()
    .min(1)
    .describe(
      "Docker image the builder image's Dockerfile starts FROM (made by ci/setup where no registry answers).",
    ),
});

const stepsSection = section({
  dirs: names(
    'Extra step directories, each with one subdirectory per stage holding NNN_name.sh or NNN_name.mjs files.',
  ),
});

const pathsSection = section({
  workDir: z.string().min(1).describe('Where lifeboat keeps build areas and caches.'),
  logDir: z.string().min(1).describe('Where each run writes its log file.'),
});

export const configSchema = z.object({
  output: outputSection.optional(),
  backup: backupSection.optional(),
  rescue: rescueSection.optional(),
  kernel: kernelSection.optional(),
  boot: bootSection.optional(),
  pxe: pxeSection.optional(),
  rawdisk: rawdiskSection.optional(),
  usb: usbSection.optional(),
  tape: tapeSection.optional(),
  external: externalSection.optional(),
  requestrestore: requestRestoreSection.optional(),
  tsm: tsmSection.optional(),
  networker: networkerSection.optional(),
  ssh: sshSection.optional(),
  network: networkSection.optional(),
  recovery: recoverySection.optional(),
  layout: layoutSection.optional(),
  builder: builderSection.optional(),
  steps: stepsSection.optional(),
  paths: pathsSection.optional(),
  sourceDateEpoch: z
    .number()
    .int()
    .min(0)
    .describe(
      'Seconds since 1970 used for every date in the media (default: derived from the inputs).',
    )
    .optional(),
});

/** Recipe files carry the same keys plus a name and a description. */
export const recipeMetaKeys = ['name', 'description'] as const;

type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** One layer as written in a file: any subset of the keys. */
export type ConfigLayer = DeepPartial<z.infer<typeof configSchema>>;

/** The effective configuration: every section filled in by the defaults. */
export type Config = {
  [K in keyof z.infer<typeof configSchema>]-?: K extends 'sourceDateEpoch'
    ? number | undefined
    : SectionWithOptionals<NonNullable<z.infer<typeof configSchema>[K]>>;
};

/** Keys without a default (urls, secrets, kernel file) stay optional in the effective config. */
type SectionWithOptionals<T> = {
  [K in keyof T as K extends OptionalKeys ? never : K]-?: NonNullable<T[K]>;
} & {
  [K in keyof T as K extends OptionalKeys ? K : never]?: NonNullable<T[K]>;
};
type OptionalKeys =
  | 'url'
  | 'encryptionKey'
  | 'sftpKey'
  | 'sftpHostKey'
  | 'luksKey'
  | 'rootPasswordHash'
  | 'file'
  | 'version'
  | 'notifyUrl'
  | 'readyUrl';
