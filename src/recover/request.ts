/**
 * What one recover, restoreonly, rehearsal or layoutonly run was asked to do; the CLI puts it in
 * the step results under RECOVER_REQUEST, and every recover step reads it from there.
 *
 *   recover       verify → recreate the layout → restore into /mnt/local → finalize → wrapup
 *   restoreonly   verify the backup → restore onto what is mounted at the target → finalize
 *   rehearsal     (recover --into DIR) verify the backup → restore into DIR: no disk, no layout
 *   layoutonly    plan the disks → recreate the layout and mount it at the target; no backup
 */
export type RecoverMode = 'recover' | 'restoreonly' | 'rehearsal' | 'layoutonly';

export interface RecoverRequest {
  mode: RecoverMode;
  /** /mnt/local, restoreonly's --target, or the rehearsal's --into. */
  target: string;
  unattended: boolean;
  /** backup.json's id; the newest when absent. */
  backupId?: string;
  /** layout.json to recreate (recover only). */
  layoutFile: string;
  /** Captured disk → disk here (--disk-mapping). */
  diskMapping?: ReadonlyMap<string, string>;
  luksKeyFile?: string;
  /** Where the recreate scripts and the state file go (paths.workDir/recover). */
  workDir: string;
  /** Asks a yes/no question; never called when unattended. */
  confirm: (question: string) => Promise<boolean>;
  /** Reads a secret without echo; never called when unattended. */
  askSecret: (question: string) => Promise<string>;
  /** --into-nonempty: a rehearsal may overwrite files lifeboat did not put into its directory. */
  intoNonEmpty?: boolean;
  /** Open the recreate script in $EDITOR before the confirmation (layoutonly --edit). */
  edit?: boolean;
  /** When the command started (Date.now()), for the closing line and the notification. */
  started: number;
}

/** Step results of the recover workflow (StepContext.results keys). */
export const RECOVER_REQUEST = 'recover.request';
export const RECOVER_STATE = 'recover.state';
/** The VerifiedBackup the verify stage returned. */
export const VERIFIED_BACKUP = 'recover.backup';
/** The checked LayoutPlan (recover only). */
export const LAYOUT_PLAN = 'recover.layout';
/** The BackupMethod in use. */
export const BACKUP_METHOD = 'recover.method';
