import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { JobError, UsageError } from '../../errors.js';
import { readRearConfig } from '../../rear/bash-config.js';
import { type ImportRow, importRearConfig } from '../../rear/import-config.js';
import { osReason } from '../../util/os-error.js';

/** The files ReaR sources from its configuration directory, in its order (later wins). */
const REAR_FILES = ['os.conf', 'site.conf', 'local.conf'];

/**
 * `lifeboat import-rear [--from DIR] [--out FILE]`: ReaR's configuration as a lifeboat YAML
 * file, and a report of every ReaR variable seen (which key it became, or why not) and every
 * line left out. Nothing in the files runs.
 */
export function registerImportRear(program: Command): void {
  program
    .command('import-rear')
    .description("convert ReaR's os.conf, site.conf and local.conf into a lifeboat configuration")
    .option('--from <dir>', "ReaR's configuration directory", '/etc/rear')
    .option('--out <file>', 'write the configuration there (0600) instead of to stdout')
    .action((options: { from: string; out?: string }) => {
      const dir = resolve(options.from);
      const files = REAR_FILES.map((name) => join(dir, name)).filter((file) => existsSync(file));
      if (files.length === 0)
        throw new UsageError(`--from ${dir}: none of ${REAR_FILES.join(', ')} is there`, {
          hint: "Name ReaR's configuration directory (default /etc/rear).",
        });
      const read = readRearConfig(
        files.map((file) => ({ file, text: readFileSync(file, 'utf8') })),
      );
      const { layer, rows } = importRearConfig(read);
      const yaml = [
        `# lifeboat configuration imported from ${files.join(', ')} by lifeboat import-rear.`,
        '# Check it with: lifeboat --config THIS-FILE dump',
        stringify(layer, { lineWidth: 0 }).trimEnd(),
        '',
      ].join('\n');
      const report = [
        ...table(rows),
        ...(read.notImported.length === 0
          ? []
          : [
              '',
              'Lines not imported:',
              ...read.notImported.map((n) => `  ${n.file}:${n.line}: ${n.reason}`),
            ]),
        '',
      ].join('\n');
      if (options.out === undefined) {
        process.stdout.write(yaml);
        process.stderr.write(report);
        return;
      }
      const out = resolve(options.out);
      const partial = `${out}.partial`;
      try {
        writeFileSync(partial, yaml, { mode: 0o600 });
        renameSync(partial, out);
      } catch (error) {
        rmSync(partial, { force: true });
        throw new JobError(`--out ${out}: could not write it: ${osReason(error)}`);
      }
      process.stdout.write(`${report}wrote ${out}\n`);
    });
}

function table(rows: readonly ImportRow[]): string[] {
  const cells = rows.map((r) => [
    r.rear,
    r.value.length > 40 ? `${r.value.slice(0, 37)}...` : r.value,
    r.key ?? `not imported: ${r.why}`,
    r.where,
  ]);
  const header = ['ReaR variable', 'value', 'lifeboat', 'set at'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)];
}
