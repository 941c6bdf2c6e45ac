import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { execa, type ExecaError, type Options } from 'execa';
import { RbmapError, type RbmapErrorCode } from './errors.js';
import { ProgressLine, type ProgressOptions } from './progress.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs a command to completion and returns its output. A non-zero exit becomes an
 * RbmapError with the given code, the command line, and the tail of its output.
 */
export async function run(
  file: string,
  args: readonly string[],
  options: Options & { errorCode?: RbmapErrorCode; hint?: string } = {},
): Promise<CommandResult> {
  const { errorCode = 'E_SOURCE', hint, ...execaOptions } = options;
  let result;
  try {
    result = await execa(file, args, { reject: false, all: false, ...execaOptions });
  } catch (cause) {
    throw new RbmapError(errorCode, `could not start ${file}: ${(cause as Error).message}`, { hint, cause });
  }
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  if (result.failed) {
    const why = result.exitCode !== undefined ? `exit code ${result.exitCode}` : (result.signal ?? 'failure');
    const tail = lastLines(`${stdout}\n${stderr}`, 25);
    throw new RbmapError(errorCode, `${[file, ...args].join(' ')} failed (${why})\n${tail}`, { hint });
  }
  return { stdout, stderr, exitCode: result.exitCode ?? 0 };
}

/** Like run(), but a non-zero exit is returned, not thrown. */
export async function tryRun(file: string, args: readonly string[], options: Options = {}): Promise<CommandResult> {
  try {
    const result = await execa(file, args, { reject: false, ...options });
    const stderr = typeof result.stderr === 'string' ? result.stderr : '';
    return {
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      // No exit code: it never ran (ENOENT, EACCES) or was killed; execa's message says which.
      stderr: result.exitCode === undefined && stderr === '' ? (result.shortMessage ?? '') : stderr,
      exitCode: result.exitCode ?? 127,
    };
  } catch (cause) {
    return { stdout: '', stderr: (cause as Error).message, exitCode: 127 };
  }
}

/** Runs a command with `input` on its stdin and its stdout streamed into `outputFile`; a failure is an RbmapError. */
export async function runToFile(
  file: string,
  args: readonly string[],
  options: { cwd?: string; input: string; outputFile: string; errorCode: RbmapErrorCode; hint: string },
): Promise<void> {
  const { errorCode, hint } = options;
  const child = execa(file, args, { cwd: options.cwd, input: options.input, buffer: false, stderr: 'pipe', reject: false });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const command = [file, ...args].join(' ');
  try {
    if (child.stdout === null) throw new Error('no stdout');
    const [, result] = await Promise.all([pipeline(child.stdout, createWriteStream(options.outputFile)), child]);
    if (result.failed) throw new Error(`exit code ${String(result.exitCode ?? result.signal)}`);
  } catch (cause) {
    throw new RbmapError(errorCode, `${command} into ${options.outputFile} failed: ${stderr.trim() || (cause as Error).message}`, { hint, cause });
  }
}

/** An error execa threw for a command that ran (it carries exitCode and stderr). */
export function isExecaError(e: unknown): e is ExecaError {
  return e instanceof Error && 'exitCode' in e && 'stderr' in e;
}

export function lastLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(Math.max(0, lines.length - count)).join('\n');
}

export interface StreamedOptions {
  /** Label of the progress line ("build", "source: unpacking"). */
  label: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Every output line (stdout and stderr) is appended here. */
  logFile?: string;
  /** The progress status a line gives, if any (default: none, only the elapsed time). */
  status?: (line: string) => string | undefined;
  /** Lines to keep and return (default: none). */
  keep?: (line: string) => boolean;
  progress?: ProgressOptions;
}

export interface StreamedResult {
  failed: boolean;
  /** Exit code, or the signal that ended the command. */
  outcome: string;
  kept: string[];
  /** The last lines of the output, for an error message. */
  tail: string;
}

const tailLines = 40;

/**
 * Runs a long command with its output streamed (to the log file, the progress line and
 * `keep`), never held whole in memory. A failure is returned, not thrown.
 */
export async function runStreamed(file: string, args: readonly string[], options: StreamedOptions): Promise<StreamedResult> {
  const progress = new ProgressLine(options.label, options.progress);
  const logStream = options.logFile !== undefined ? createWriteStream(options.logFile) : null;
  const kept: string[] = [];
  const tail: string[] = [];
  try {
    const child = execa(file, args, { env: options.env, cwd: options.cwd, reject: false, all: true, buffer: false, stdin: 'ignore' });
    const lines = child.all === undefined ? null : createInterface({ input: child.all, crlfDelay: Infinity });
    const consumed = (async () => {
      if (lines === null) return;
      for await (const line of lines) {
        logStream?.write(`${line}\n`);
        tail.push(line);
        if (tail.length > tailLines) tail.shift();
        if (options.keep?.(line) === true) kept.push(line);
        const status = options.status?.(line);
        if (status !== undefined) progress.update(status);
      }
    })();
    const [result] = await Promise.all([child, consumed]);
    const outcome = result.exitCode !== undefined ? `exit code ${result.exitCode}` : (result.signal ?? 'failure');
    return { failed: result.failed, outcome, kept, tail: tail.join('\n') };
  } finally {
    progress.end();
    if (logStream !== null) await new Promise<void>((resolve) => logStream.end(resolve));
  }
}

/** runStreamed(), with a failure thrown as an RbmapError carrying the command and its last lines. */
export async function runWithProgress(
  file: string,
  args: readonly string[],
  options: StreamedOptions & { errorCode: RbmapErrorCode; hint: string },
): Promise<StreamedResult> {
  let result: StreamedResult;
  try {
    result = await runStreamed(file, args, options);
  } catch (cause) {
    throw new RbmapError(options.errorCode, `could not start ${file}: ${(cause as Error).message}`, { hint: options.hint, cause });
  }
  if (result.failed) {
    throw new RbmapError(options.errorCode, `${[file, ...args].join(' ')} failed (${result.outcome})\n${result.tail}`, { hint: options.hint });
  }
  return result;
}
