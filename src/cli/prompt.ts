import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { UsageError } from '../errors.js';

/**
 * Questions asked on the terminal. Neither is ever called by an unattended run; without a
 * terminal, askYesNo answers no and askSecret refuses, so nothing waits on input that cannot come.
 */
export async function askYesNo(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question} [yes/no] `);
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

/** Reads a line without echoing it (a passphrase). */
export async function askSecret(question: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new UsageError(`${question.trim()} (asked, but there is no terminal to answer on)`, {
      hint: 'Put the secret in the recovery configuration, or run on a terminal.',
    });
  process.stdout.write(question);
  // readline echoes what it reads to its output: give it one that swallows the typing.
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  try {
    return await rl.question('');
  } finally {
    rl.close();
    process.stdout.write('\n');
  }
}
