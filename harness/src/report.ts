import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootEndReason, BootOutcome } from './boot.js';
import type { ConsoleFinding } from './consoleScan.js';
import { lastAnnouncedSuite, parseStatusLine } from './contract.js';
import { ExitCode } from './errors.js';
import { toJUnitXml } from './junit.js';
import type { ParsedResults, TestResult } from './tap.js';

export type Verdict = 'pass' | 'test-failure' | 'kernel-crash' | 'timeout' | 'qemu-error';

/** Where a run's files are; the console log, TAP, KTAP and status files are written by others. */
export interface RunArtifacts {
  runDir: string;
  consoleLog: string;
  tap: string;
  ktap: string;
  status: string;
  summary: string;
  junit: string;
}

export function runArtifactPaths(runDir: string): RunArtifacts {
  return {
    runDir,
    consoleLog: join(runDir, 'console.log'),
    tap: join(runDir, 'guest.tap'),
    ktap: join(runDir, 'kunit.ktap'),
    status: join(runDir, 'status'),
    summary: join(runDir, 'summary.json'),
    junit: join(runDir, 'results.xml'),
  };
}

export interface RunSummary {
  verdict: Verdict;
  exitCode: number;
  /** Why the verdict is what it is, most important first. */
  reasons: string[];
  boot: {
    reason: BootEndReason;
    qemuExitCode: number | null;
    signal: string | null;
    durationMs: number;
    bootMs: number | null;
  };
  /** From the status channel's `rbmap-exit N`; null when the guest never wrote it. */
  guestExitCode: number | null;
  /** Guest tests, KUnit cases, then the harness's own checks (suite `rbmap`). */
  results: TestResult[];
  counts: { passed: number; failed: number; skipped: number; total: number };
  findings: ConsoleFinding[];
  problems: string[];
  artifacts: RunArtifacts;
}

export interface SummaryInputs {
  boot: BootOutcome;
  guestTap: ParsedResults;
  kunit: ParsedResults;
  findings: ConsoleFinding[];
  /** Contents of the status channel file ('' when absent). */
  statusText: string;
  /** The guest TAP stream as received (to name the test file running when the guest stopped). */
  tapText?: string;
  artifacts: RunArtifacts;
}

const harnessSuite = 'rbmap';

function harnessCheck(name: string, diagnostic: string): TestResult {
  return { name: `${harnessSuite} > ${name}`, status: 'fail', suite: harnessSuite, diagnostic };
}

/**
 * Combines everything a run produced into one verdict. Precedence: kernel crash >
 * timeout > QEMU failure > test failure > pass. Every reason for not passing also
 * appears as a failing result of suite `rbmap`, so counts and JUnit show it.
 */
export function buildSummary(inputs: SummaryInputs): RunSummary {
  const { boot, findings } = inputs;
  const guestExitCode = parseStatusLine(inputs.statusText);
  const problems = [...inputs.guestTap.problems.map((p) => `guest TAP: ${p}`), ...inputs.kunit.problems.map((p) => `KUnit: ${p}`)];
  const testResults = [...inputs.guestTap.results, ...inputs.kunit.results];
  const checks: TestResult[] = [];
  const reasons: string[] = [];

  for (const finding of findings) {
    checks.push(harnessCheck(`kernel console > ${finding.kind} (line ${finding.line})`, finding.excerpt));
  }
  if (findings.length > 0) {
    reasons.push(`kernel trouble on the console: ${[...new Set(findings.map((finding) => finding.kind))].join(', ')} (first at line ${findings[0]?.line})`);
  }
  const timedOut = boot.reason === 'boot-timeout' || boot.reason === 'run-timeout' || boot.reason === 'watchdog';
  if (timedOut) {
    reasons.push(`guest stopped by the ${boot.reason} after ${(boot.durationMs / 1000).toFixed(1)} s`);
    checks.push(harnessCheck(boot.reason, `QEMU was stopped: ${boot.reason} after ${boot.durationMs} ms`));
  }
  if (boot.reason === 'qemu-error') {
    const said = boot.stderr.trim().split('\n')[0] ?? '';
    reasons.push(
      `QEMU failed (exit code ${String(boot.qemuExitCode)}, signal ${String(boot.signal)})${said === '' ? '' : `: ${said}`}; check the QEMU binary and its arguments (rbmap doctor)`,
    );
    checks.push(harnessCheck('qemu', boot.stderr.trim() || `QEMU exit code ${String(boot.qemuExitCode)}, signal ${String(boot.signal)}`));
  }
  const failedTests = testResults.filter((result) => result.status === 'fail');
  if (failedTests.length > 0) reasons.push(`${failedTests.length} test(s) failed`);
  if (guestExitCode === null) {
    const running = lastAnnouncedSuite(inputs.tapText ?? '');
    reasons.push(
      `no rbmap-exit line on the status channel: the guest run did not finish${running !== null ? ` (it was running ${running})` : ''}`,
    );
    checks.push(harnessCheck('status', 'the status channel has no rbmap-exit line (guest crashed, hung or was stopped)'));
  } else if (guestExitCode !== 0) {
    reasons.push(`the guest test runner exited with ${guestExitCode}`);
    if (failedTests.length === 0) checks.push(harnessCheck('status', `rbmap-exit ${guestExitCode} while no test failed`));
  }
  for (const problem of problems) checks.push(harnessCheck('results', problem));
  if (problems.length > 0) reasons.push(`${problems.length} problem(s) with the result streams`);
  if (testResults.length === 0) {
    reasons.push('no test results at all');
    checks.push(harnessCheck('results', 'zero tests ran'));
  }

  let verdict: Verdict;
  if (findings.length > 0) verdict = 'kernel-crash';
  else if (timedOut) verdict = 'timeout';
  else if (boot.reason === 'qemu-error') verdict = 'qemu-error';
  else if (reasons.length > 0) verdict = 'test-failure';
  else verdict = 'pass';

  const results = [...testResults, ...checks];
  return {
    verdict,
    exitCode: exitCodeFor(verdict),
    reasons,
    boot: {
      reason: boot.reason,
      qemuExitCode: boot.qemuExitCode,
      signal: boot.signal,
      durationMs: boot.durationMs,
      bootMs: boot.bootMs,
    },
    guestExitCode,
    results,
    counts: countResults(results),
    findings,
    problems,
    artifacts: inputs.artifacts,
  };
}

function exitCodeFor(verdict: Verdict): number {
  switch (verdict) {
    case 'pass': return ExitCode.pass;
    case 'test-failure': return ExitCode.testFailure;
    case 'kernel-crash': return ExitCode.kernelCrash;
    case 'timeout': return ExitCode.timeout;
    case 'qemu-error': return ExitCode.setupError;
  }
}

function countResults(results: readonly TestResult[]): RunSummary['counts'] {
  const passed = results.filter((result) => result.status === 'pass').length;
  const failed = results.filter((result) => result.status === 'fail').length;
  return { passed, failed, skipped: results.length - passed - failed, total: results.length };
}

/** Writes summary.json and results.xml into the run folder. */
export function writeSummaryFiles(summary: RunSummary): void {
  mkdirSync(summary.artifacts.runDir, { recursive: true });
  writeFileSync(summary.artifacts.summary, `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(summary.artifacts.junit, toJUnitXml(summary.results, { name: `rbmap ${summary.artifacts.runDir}` }));
}

function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

const statusLabel: Record<TestResult['status'], string> = { pass: 'ok  ', fail: 'FAIL', skip: 'skip', todo: 'skip' };
const diagnosticLinesShown = 12;

/** The text shown to the user; the last line is exactly `N passed, N failed, N skipped`, for scripts. */
export function formatReport(summary: RunSummary): string {
  const out: string[] = [];
  for (const result of summary.results) {
    const duration = result.durationMs === undefined ? '' : ` (${formatMs(result.durationMs)})`;
    out.push(`${statusLabel[result.status]} ${result.name}${duration}${result.status === 'todo' ? ' # TODO' : ''}`);
    // Console findings get their excerpt below; every other failure shows its diagnostic here.
    const isConsoleFinding = result.suite === harnessSuite && result.name.startsWith(`${harnessSuite} > kernel console`);
    if (result.status === 'fail' && result.diagnostic !== undefined && !isConsoleFinding) {
      const lines = result.diagnostic.split('\n');
      for (const line of lines.slice(0, diagnosticLinesShown)) out.push(`       ${line}`);
      if (lines.length > diagnosticLinesShown) out.push(`       ... (${lines.length - diagnosticLinesShown} more lines in ${summary.artifacts.junit})`);
    }
  }
  out.push('');
  const first = summary.findings[0];
  if (first !== undefined) {
    out.push(`Kernel ${first.kind} at console line ${first.line}:`);
    out.push(...first.excerpt.split('\n').map((line) => `  ${line}`));
    if (summary.findings.length > 1) {
      out.push(`  (+${summary.findings.length - 1} more: ${summary.findings.slice(1).map((f) => `${f.kind}@${f.line}`).join(', ')})`);
    }
    out.push('');
  }
  out.push(`Verdict: ${summary.verdict} (exit code ${summary.exitCode})`);
  for (const reason of summary.reasons) out.push(`  - ${reason}`);
  out.push(
    `Guest: boot ${formatMs(summary.boot.bootMs)}, whole guest run ${formatMs(summary.boot.durationMs)} (QEMU ended: ${summary.boot.reason})`,
  );
  const { artifacts } = summary;
  out.push(`Run folder: ${artifacts.runDir}`);
  out.push(`  console ${artifacts.consoleLog}`);
  out.push(`  TAP     ${artifacts.tap}`);
  out.push(`  KTAP    ${artifacts.ktap}`);
  out.push(`  JUnit   ${artifacts.junit}`);
  out.push(`  summary ${artifacts.summary}`);
  const { passed, failed, skipped, total } = summary.counts;
  const harnessChecks = summary.results.filter((r) => r.suite === harnessSuite).length;
  out.push(`Tests: ${total}${harnessChecks > 0 ? ` (${total - harnessChecks} tests + ${harnessChecks} harness checks)` : ''}`);
  out.push(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  return out.join('\n');
}
