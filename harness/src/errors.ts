/**
 * Exit codes of the rbmap CLI. Stable: CI scripts branch on them.
 */
export const ExitCode = {
  pass: 0,
  testFailure: 1,
  kernelCrash: 2,
  timeout: 3,
  setupError: 4,
  usage: 64,
} as const;
export type ExitCodeName = keyof typeof ExitCode;

/** The exit codes from best to worst: a crashed kernel is the worst an outcome can be. */
const severity: readonly number[] = [ExitCode.pass, ExitCode.testFailure, ExitCode.setupError, ExitCode.timeout, ExitCode.kernelCrash];

/** The worst of some outcomes' exit codes (pass for none). */
export function worstExitCode(codes: Iterable<number>): number {
  let worst: number = ExitCode.pass;
  for (const code of codes) if (severity.indexOf(code) > severity.indexOf(worst)) worst = code;
  return worst;
}

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

const exitFor: Record<RbmapErrorCode, number> = {
  E_USAGE: ExitCode.usage,
  E_HOST_DEPS: ExitCode.setupError,
  E_SOURCE: ExitCode.setupError,
  E_PATCH_APPLY: ExitCode.setupError,
  E_CONFIG_MISSING: ExitCode.setupError,
  E_BUILD: ExitCode.setupError,
  E_ROOTFS: ExitCode.setupError,
  E_QEMU: ExitCode.setupError,
  E_BOOT_TIMEOUT: ExitCode.timeout,
  E_RUN_TIMEOUT: ExitCode.timeout,
  E_WATCHDOG: ExitCode.timeout,
  E_RESULTS: ExitCode.testFailure,
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

  get exitCode(): number {
    return exitFor[this.code];
  }
}
