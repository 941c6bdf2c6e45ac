/**
 * Where the CLI writes: progress to stderr; the human report to stdout, or to stderr
 * when stdout carries --json's one object.
 */

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The human report of a command. */
export function printHuman(json: boolean, text: string): void {
  (json ? process.stderr : process.stdout).write(`${text}\n`);
}

/** With --json, the command's one object on stdout. */
export function printJson(json: boolean, object: Readonly<Record<string, unknown>>): void {
  if (json) process.stdout.write(`${JSON.stringify(object)}\n`);
}
