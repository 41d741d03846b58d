import type { HostFacts } from '../config/facts.js';
import type { EffectiveConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Log } from '../log/log.js';

/**
 * A step: one piece of a workflow stage, ordered by its three-digit number and then its name,
 * whatever directory it came from (ReaR's NNN_name.sh rule).
 */
export interface Step {
  stage: string;
  /** 000-999. */
  order: number;
  /** The part after NNN_, e.g. "builder_image". */
  name: string;
  /** "built-in" or the file it came from. */
  origin: string;
  when: StepConditions;
  run(ctx: StepContext): Promise<void>;
}

/**
 * When a step applies. Each key lists accepted values (any of them); all keys must match.
 * A step without conditions always applies.
 */
export interface StepConditions {
  /** Kernel architecture: x86_64, aarch64, ... */
  arch?: string[];
  /** os-release ID or OS family: debian, ubuntu, rhel, fedora, suse. */
  os?: string[];
  /** os-release VERSION_ID, or its leading components: "12", "22", "22.04". */
  osVersion?: string[];
  /** backup.method */
  backup?: string[];
  /** Any of output.methods. */
  output?: string[];
  /**
   * The workflows the step belongs to (mkrescue, mkbackuponly...). A step of a stage that several
   * workflows share (prep) runs in all of them unless this says otherwise.
   */
  workflow?: string[];
}

/** The directories a step works with; the seed's read-only variables. */
export interface StepDirs {
  /** /etc/lifeboat (CONFIG_DIR). */
  config: string;
  /** lifeboat's own files: images/, skel/, recipes/ (SHARE_DIR). */
  share: string;
  /** This run's build area (BUILD_DIR). */
  build: string;
  /** The rescue root filesystem being assembled (ROOTFS_DIR). */
  rootfs: string;
  /** The root filesystem of the protected host: / or --root (HOST_ROOT). */
  host: string;
}

export interface StepContext {
  readonly workflow: string;
  readonly stage: string;
  readonly facts: HostFacts;
  /** The configuration in effect; steps change it only through set(). */
  readonly config: Config;
  /** The configuration with its layers, origins and recipe (config is its .config). */
  readonly effective: EffectiveConfig;
  readonly dirs: StepDirs;
  readonly log: Log;
  /** Variables steps pass to later steps (shell steps see them in their environment). */
  readonly vars: Map<string, string>;
  /** What built-in steps hand to later ones (the builder image tag, a capture...). */
  readonly results: Map<string, unknown>;
  /**
   * Change the configuration or a variable: "PROGS+=curl", "rescue.programs+=curl",
   * "MY_FLAG=1". `source` names who did it (a step file), for dump and errors.
   */
  set(assignment: string, source: string): void;
  /** Write a line to the step's progress output (and the log file). */
  output(line: string): void;
  readonly signal: AbortSignal;
}
