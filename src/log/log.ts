import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

/**
 * Where a run's messages go. Everything, with timestamps, goes to the log file (when there is
 * one); the console gets what the verbosity asks for. Registered secrets are replaced by
 * `<redacted>` in every line, on the console and in the file, before anything is written.
 */
export interface Log {
  /** Detail: log file always, console only with --verbose. */
  debug(message: string): void;
  /** Progress a user follows: log file, and the console unless --quiet. */
  info(message: string): void;
  /** Something the user should know about: always shown. */
  warn(message: string): void;
  /** Always shown. */
  error(message: string): void;
  /** Never write this string anywhere; replaced by `<redacted>`. */
  addSecret(secret: string): void;
  /** `text` with every registered secret replaced, for text that goes elsewhere (a state file). */
  redact(text: string): string;
  /** Path of the log file, if this run has one. */
  readonly file: string | undefined;
}

export interface RunLogOptions {
  /** Log file to create (its directory is created, mode 0600). */
  file?: string;
  verbosity?: Verbosity;
  /** Plain timestamped lines for CI logs; when false, lines carry no timestamp (a person reads them). */
  timestamps?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

const LEVEL_TAG = { debug: 'debug', info: 'info ', warn: 'warn ', error: 'error' } as const;
type Level = keyof typeof LEVEL_TAG;

export class RunLog implements Log {
  readonly file: string | undefined;
  private fd: number | undefined;
  private readonly secrets = new Set<string>();
  private readonly verbosity: Verbosity;
  private readonly timestamps: boolean;
  private readonly stdout: NodeJS.WritableStream;
  private readonly stderr: NodeJS.WritableStream;

  constructor(options: RunLogOptions = {}) {
    this.verbosity = options.verbosity ?? 'normal';
    this.timestamps = options.timestamps ?? false;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.file = options.file;
    if (options.file) {
      mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
      this.fd = openSync(options.file, 'a', 0o600);
    }
  }

  addSecret(secret: string): void {
    if (secret.length > 0) this.secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('<redacted>');
    return out;
  }

  debug(message: string): void {
    this.write('debug', message);
  }
  info(message: string): void {
    this.write('info', message);
  }
  warn(message: string): void {
    this.write('warn', message);
  }
  error(message: string): void {
    this.write('error', message);
  }

  /** Write to the log file only (tool output, full detail). */
  detail(message: string): void {
    this.toFile('debug', message);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private write(level: Level, message: string): void {
    this.toFile(level, message);
    if (!this.showsOnConsole(level)) return;
    const text = this.redact(message);
    const stream = level === 'warn' || level === 'error' ? this.stderr : this.stdout;
    const prefix = level === 'warn' ? 'warning: ' : level === 'error' ? 'error: ' : '';
    for (const line of text.split('\n')) {
      stream.write(`${this.timestamps ? `${new Date().toISOString()} ` : ''}${prefix}${line}\n`);
    }
  }

  private showsOnConsole(level: Level): boolean {
    if (level === 'warn' || level === 'error') return true;
    if (level === 'info') return this.verbosity !== 'quiet';
    return this.verbosity === 'verbose';
  }

  private toFile(level: Level, message: string): void {
    if (this.fd === undefined) return;
    const stamp = new Date().toISOString();
    const text = this.redact(message)
      .split('\n')
      .map((line) => `${stamp} ${LEVEL_TAG[level]} ${line}\n`)
      .join('');
    writeSync(this.fd, text);
  }
}

/** A log that keeps lines in memory: for tests and for code that runs before the log file exists. */
export class MemoryLog implements Log {
  readonly file = undefined;
  readonly lines: { level: Level; message: string }[] = [];
  private readonly secrets = new Set<string>();
  addSecret(secret: string): void {
    if (secret.length > 0) this.secrets.add(secret);
  }
  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('<redacted>');
    return out;
  }
  private push(level: Level, message: string): void {
    this.lines.push({ level, message: this.redact(message) });
  }
  debug(message: string): void {
    this.push('debug', message);
  }
  info(message: string): void {
    this.push('info', message);
  }
  warn(message: string): void {
    this.push('warn', message);
  }
  error(message: string): void {
    this.push('error', message);
  }
}
