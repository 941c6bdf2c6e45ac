import { execa, type Options } from 'execa';
import { RbmapError, type RbmapErrorCode } from './errors.js';

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
    return {
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
      exitCode: result.exitCode ?? 127,
    };
  } catch (cause) {
    return { stdout: '', stderr: (cause as Error).message, exitCode: 127 };
  }
}

export function lastLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(Math.max(0, lines.length - count)).join('\n');
}
