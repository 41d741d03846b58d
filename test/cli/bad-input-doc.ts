import { type BadInputCase, GROUPS } from './bad-input-cases.js';
import { type Observation, SHOWN_AS } from './bad-input-run.js';

export const ERRORS_DOC = 'docs/errors.md';

const INTRO = `# Errors: what you did, what lifeboat says

Look an error up here by its words. Each row is a mistake lifeboat refuses, the command that
makes it, the line lifeboat prints, and the exit code: \`2\` a usage or configuration error
(nothing was run, or the steps before the refusal ran and nothing was changed), \`1\` the job
failed. The line after the message on your terminal says what to do; \`lifeboat dump\` shows every
configuration key, its value and the file it came from.

In the commands, \`{dir}\` stands for a directory of your own. Every row is run by the tests
(test/cli/bad-input.test.ts), and this file is generated from what they print:
\`npm run errors-doc\` after changing a message or test/cli/bad-input-cases.ts.
`;

/** An argument as a shell user would type it. */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./{}[\]-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Inline code inside a table cell: a fence longer than any backtick run, and no bare pipe. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const padded = text.startsWith('`') || text.endsWith('`') ? ` ${text} ` : text;
  return `${fence}${padded.replaceAll('|', '\\|')}${fence}`;
}

function command(kase: BadInputCase): string {
  const shown = kase.args.map((arg) => arg.replaceAll('{etc}', SHOWN_AS['{etc}']));
  return code(['lifeboat', ...shown.map(shellWord)].join(' '));
}

/** docs/errors.md for these cases, from what lifeboat said for each. */
export function renderErrorsDoc(
  cases: BadInputCase[],
  seen: ReadonlyMap<BadInputCase, Observation>,
): string {
  const sections = GROUPS.flatMap((group) => {
    const rows = cases.filter((kase) => kase.group === group);
    if (rows.length === 0) return [];
    return [
      [
        `## ${group}`,
        '',
        '| What you did | Command | What lifeboat says | Exit |',
        '| --- | --- | --- | --- |',
        ...rows.map((kase) => {
          const said = seen.get(kase)?.said;
          if (said === undefined) throw new Error(`"${kase.title}" was not run`);
          const title = kase.title.replaceAll('|', '\\|');
          return `| ${title} | ${command(kase)} | ${code(said)} | ${kase.exitCode} |`;
        }),
        '',
      ].join('\n'),
    ];
  });
  return [INTRO, ...sections].join('\n');
}
