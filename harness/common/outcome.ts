/**
 * What a run, a matrix row, a check, a regress comparison or an error comes to, and the
 * exit code of each. The exit codes are stable: CI scripts branch on them.
 */

/** From best to worst: when several apply, the worst wins. */
export const outcomeOrder = ['pass', 'test-failure', 'setup-error', 'timeout', 'kernel-crash'] as const;
export type Outcome = (typeof outcomeOrder)[number];

export const ExitCode = {
  pass: 0,
  testFailure: 1,
  kernelCrash: 2,
  timeout: 3,
  setupError: 4,
  usage: 64,
} as const;

const exitCodes: Readonly<Record<Outcome, number>> = {
  pass: ExitCode.pass,
  'test-failure': ExitCode.testFailure,
  'setup-error': ExitCode.setupError,
  timeout: ExitCode.timeout,
  'kernel-crash': ExitCode.kernelCrash,
};

export function exitCodeOf(outcome: Outcome): number {
  return exitCodes[outcome];
}

/** The worst of some outcomes (pass for none). */
export function worst(outcomes: Iterable<Outcome>): Outcome {
  let found: Outcome = 'pass';
  for (const outcome of outcomes) if (outcomeOrder.indexOf(outcome) > outcomeOrder.indexOf(found)) found = outcome;
  return found;
}
