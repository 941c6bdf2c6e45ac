/** The errors of the rootfs build (E_ROOTFS), shared by its modules. */
import { isExecaError } from '../common/proc.js';
import { RbmapError } from '../common/errors.js';

export function fail(message: string, hint: string, cause?: unknown): RbmapError {
  return new RbmapError('E_ROOTFS', message, cause === undefined ? { hint } : { hint, cause });
}

/** The first line of what a failed command or call said. */
export function firstLine(e: unknown): string {
  if (isExecaError(e)) return (String(e.stderr ?? '').trim() || e.shortMessage).split('\n')[0] ?? '';
  return e instanceof Error ? e.message : String(e);
}
