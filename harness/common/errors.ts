import { ExitCode, exitCodeOf, type Outcome } from './outcome.js';

/** Stable error codes; each maps to one exit code. */
export type RbmapErrorCode =
  | 'E_USAGE'
  | 'E_HOST_DEPS'
  | 'E_SOURCE'
  | 'E_PATCH_APPLY'
  | 'E_CONFIG_MISSING'
  | 'E_BUILD'
  | 'E_ROOTFS'
  | 'E_QEMU'
  | 'E_BOOT_TIMEOUT'
  | 'E_RUN_TIMEOUT'
  | 'E_WATCHDOG'
  | 'E_RESULTS';

/** What each error comes to; a usage error comes before any outcome. */
const outcomeFor: Record<Exclude<RbmapErrorCode, 'E_USAGE'>, Outcome> = {
  E_HOST_DEPS: 'setup-error',
  E_SOURCE: 'setup-error',
  E_PATCH_APPLY: 'setup-error',
  E_CONFIG_MISSING: 'setup-error',
  E_BUILD: 'setup-error',
  E_ROOTFS: 'setup-error',
  E_QEMU: 'setup-error',
  E_BOOT_TIMEOUT: 'timeout',
  E_RUN_TIMEOUT: 'timeout',
  E_WATCHDOG: 'timeout',
  E_RESULTS: 'test-failure',
};

/**
 * Every failure the harness reports on purpose is an RbmapError: a stable code,
 * a message saying what failed, and a hint saying what to do about it.
 */
export class RbmapError extends Error {
  readonly code: RbmapErrorCode;
  readonly hint: string | undefined;

  constructor(code: RbmapErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RbmapError';
    this.code = code;
    this.hint = options.hint;
  }

  /** The outcome this error comes to; null for a usage error (nothing ran). */
  get outcome(): Outcome | null {
    return this.code === 'E_USAGE' ? null : outcomeFor[this.code];
  }

  get exitCode(): number {
    const outcome = this.outcome;
    return outcome === null ? ExitCode.usage : exitCodeOf(outcome);
  }
}
