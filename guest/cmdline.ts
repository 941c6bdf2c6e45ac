/** The guest's reader of the kernel command line the host wrote (guestCommandLineWords() in contract.ts). */
import { readFileSync } from 'node:fs';
import { commandLineWord, type CommandLineKey } from './contract.js';

/** The value of the `rbmap.KEY=value` word of the kernel command line, or undefined. */
export function commandLineValue(key: CommandLineKey): string | undefined {
  const prefix = commandLineWord(key, '');
  const word = readFileSync('/proc/cmdline', 'utf8').trim().split(/\s+/).find((w) => w.startsWith(prefix));
  return word?.slice(prefix.length);
}
