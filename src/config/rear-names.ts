/**
 * ReaR's variable names, mapped to lifeboat keys. Used three ways: the table in
 * docs/configuration.md, a "did you mean" when someone writes PROGS in a lifeboat file, and the
 * environment of shell steps (which see these names, as ReaR scripts do, and may change the
 * writable ones through $LIFEBOAT_SET).
 */
export interface RearName {
  rear: string;
  key: string;
  /** How ReaR's value differs from lifeboat's, when it does. */
  note?: string;
}

export const REAR_NAMES: RearName[] = [
  { rear: 'OUTPUT', key: 'output.methods', note: 'ReaR takes one method; lifeboat a list.' },
  { rear: 'OUTPUT_URL', key: 'output.url' },
  { rear: 'BACKUP', key: 'backup.method', note: 'lower case: NETFS is netfs.' },
  { rear: 'BACKUP_URL', key: 'backup.url' },
  { rear: 'BACKUP_OPTIONS', key: 'backup.mountOptions' },
  { rear: 'BACKUP_PROG_EXCLUDE', key: 'backup.exclude' },
  { rear: 'BACKUP_PROG_CRYPT_KEY', key: 'backup.encryptionKey', note: 'a secret: never logged.' },
  { rear: 'PROGS', key: 'rescue.programs' },
  { rear: 'REQUIRED_PROGS', key: 'rescue.requiredPrograms' },
  { rear: 'COPY_AS_IS', key: 'rescue.copyAsIs' },
  { rear: 'COPY_AS_IS_EXCLUDE', key: 'rescue.copyAsIsExclude' },
  { rear: 'LIBS', key: 'rescue.libs' },
  {
    rear: 'MODULES',
    key: 'rescue.modules',
    note: 'all_modules is all, loaded_modules is loaded; a list of names goes to rescue.extraModules.',
  },
  { rear: 'EXCLUDE_MODULES', key: 'rescue.excludeModules' },
  { rear: 'FIRMWARE_FILES', key: 'rescue.firmware' },
  { rear: 'KERNEL_FILE', key: 'kernel.file' },
  { rear: 'KERNEL_CMDLINE', key: 'kernel.cmdline' },
  {
    rear: 'ISO_DEFAULT',
    key: 'boot.default',
    note: 'manual is rescue, automatic is recover, boothd is local.',
  },
  { rear: 'ISO_VOLID', key: 'boot.volumeId' },
  { rear: 'USER_INPUT_TIMEOUT', key: 'boot.timeout' },
  { rear: 'PXE_TFTP_PREFIX', key: 'pxe.prefix' },
  { rear: 'PXE_CREATE_LINKS', key: 'pxe.links', note: 'lower case: MAC is mac, IP is ip.' },
  { rear: 'OUTPUT_PREFIX_PXE', key: 'pxe.hostDirectory', note: 'always the host name: true.' },
  { rear: 'PXE_TFTP_UPLOAD_URL', key: 'pxe.url' },
  { rear: 'PXE_TFTP_URL', key: 'pxe.url' },
  {
    rear: 'PXE_CONFIG_URL',
    key: 'pxe.url',
    note: 'the menus go into the same tree, in pxelinux.cfg/.',
  },
  { rear: 'PXE_REMOVE_OLD_LINKS', key: 'pxe.removeOldLinks' },
  {
    rear: 'RAWDISK_IMAGE_COMPRESSION_COMMAND',
    key: 'rawdisk.compression',
    note: 'the program by name: gzip, xz or zstd; none keeps the sparse image (ReaR: gzip).',
  },
  { rear: 'USB_DEVICE_FILESYSTEM_LABEL', key: 'usb.label' },
  { rear: 'TAPE_BLOCKSIZE', key: 'tape.blockSize' },
  { rear: 'OBDR_BLOCKSIZE', key: 'tape.isoBlockSize' },
  {
    rear: 'EXTERNAL_CHECK',
    key: 'external.check',
    note: "a command's arguments, run without a shell (ReaR evaluates a string).",
  },
  {
    rear: 'EXTERNAL_BACKUP',
    key: 'external.backup',
    note: "a command's arguments, run without a shell (ReaR evaluates a string).",
  },
  {
    rear: 'EXTERNAL_RESTORE',
    key: 'external.restore',
    note: "a command's arguments, run without a shell; {target} is where to restore (ReaR: $TARGET_FS_ROOT).",
  },
  { rear: 'EXTERNAL_IGNORE_ERRORS', key: 'external.ignoreExitCodes' },
  {
    rear: 'TSM_DSMC_RESTORE_OPTIONS',
    key: 'tsm.server',
    note: 'only its -se=SERVER: the stanza of dsm.sys.',
  },
  {
    rear: 'TSM_RESTORE_FILESPACE_NUMS',
    key: 'tsm.filespaces',
    note: 'the filespaces by name, not by their number in a listing.',
  },
  {
    rear: 'TSM_RESTORE_PIT_DATE',
    key: 'tsm.pointInTime',
    note: 'with TSM_RESTORE_PIT_TIME, as one "YYYY-MM-DD HH:MM:SS".',
  },
  { rear: 'NSRSERVER', key: 'networker.server' },
  { rear: 'REQUESTRESTORE_TEXT', key: 'requestrestore.text' },
  {
    rear: 'REQUESTRESTORE_COMMAND',
    key: 'requestrestore.command',
    note: "a command's arguments, run without a shell.",
  },
  {
    rear: 'REQUESTRESTORE_FINISHED_FILE',
    key: 'requestrestore.finishedFile',
    note: 'relative to the target (ReaR: an absolute path under /mnt/local).',
  },
  {
    rear: 'REQUESTRESTORE_ABORT_FILE',
    key: 'requestrestore.abortFile',
    note: 'relative to the target (ReaR: an absolute path under /mnt/local).',
  },
  {
    rear: 'USB_DEVICE_FILESYSTEM',
    key: 'usb.filesystem',
    note: 'ext4 or xfs (ReaR: ext3 by default).',
  },
  { rear: 'USB_UEFI_PART_SIZE', key: 'usb.efiSizeMiB' },
  {
    rear: 'USB_RETAIN_BACKUP_NR',
    key: 'usb.retain',
    note: 'the rescue systems on a stick; usb:// backups keep backup.keep.',
  },
  {
    rear: 'PXE_RECOVER_MODE',
    key: 'boot.default',
    note: 'automatic and unattended are recover; empty is rescue.',
  },
  {
    rear: 'SSH_ROOT_PASSWORD',
    key: 'ssh.rootPasswordHash',
    note: 'lifeboat takes only a crypt(3) hash, never a plain password.',
  },
  {
    rear: 'USE_STATIC_NETWORKING',
    key: 'network.mode',
    note: 'USE_STATIC_NETWORKING=y is static.',
  },
  { rear: 'PRE_RECOVERY_SCRIPT', key: 'recovery.preScripts' },
  { rear: 'POST_RECOVERY_SCRIPT', key: 'recovery.postScripts' },
  { rear: 'EXCLUDE_RECREATE', key: 'layout.exclude' },
  { rear: 'AUTOEXCLUDE_DISKS', key: 'layout.autoExcludeDisks' },
  { rear: 'SOURCE_DATE_EPOCH', key: 'sourceDateEpoch' },
];

const byRear = new Map(REAR_NAMES.map((n) => [n.rear, n]));

export function rearName(name: string): RearName | undefined {
  return byRear.get(name);
}
