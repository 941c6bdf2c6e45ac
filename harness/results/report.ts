import { mkdirSync, writeFileSync } from 'node:fs';
import type { BootEndReason, BootOutcome } from '../boot/boot.js';
import type { ConsoleFinding } from '../boot/consoleScan.js';
import { lastAnnouncedSuite, parseStatusLine } from '../../guest/contract.js';
import { toJUnitXml } from './junit.js';
import { exitCodeOf, worst, type Outcome } from '../common/outcome.js';
import type { ParsedResults, TestResult } from './tapTree.js';
import type { RunArtifacts } from '../common/runFolder.js';

export interface RunSummary {
  verdict: Outcome;
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

/** One reason a run did not pass: what it comes to, and the failing check that shows it (if any). */
interface Shortfall {
  outcome: Outcome;
  reason: string;
  check?: TestResult;
}

function consoleShortfalls(findings: readonly ConsoleFinding[]): Shortfall[] {
  if (findings.length === 0) return [];
  const kinds = [...new Set(findings.map((finding) => finding.kind))].join(', ');
  return [
    { outcome: 'kernel-crash', reason: `kernel trouble on the console: ${kinds} (first at line ${findings[0]?.line})` },
    ...findings.map((finding): Shortfall => ({
      outcome: 'kernel-crash',
      reason: '',
      check: harnessCheck(`kernel console > ${finding.kind} (line ${finding.line})`, finding.excerpt),
    })),
  ];
}

function bootShortfalls(boot: BootOutcome): Shortfall[] {
  if (boot.reason === 'boot-timeout' || boot.reason === 'run-timeout' || boot.reason === 'watchdog') {
    return [{
      outcome: 'timeout',
      reason: `guest stopped by the ${boot.reason} after ${(boot.durationMs / 1000).toFixed(1)} s`,
      check: harnessCheck(boot.reason, `QEMU was stopped: ${boot.reason} after ${boot.durationMs} ms`),
    }];
  }
  if (boot.reason !== 'qemu-error') return [];
  const said = boot.stderr.trim().split('\n')[0] ?? '';
  const exit = `exit code ${String(boot.qemuExitCode)}, signal ${String(boot.signal)}`;
  return [{
    outcome: 'setup-error',
    reason: `QEMU failed (${exit})${said === '' ? '' : `: ${said}`}; check the QEMU binary and its arguments (rbmap doctor)`,
    check: harnessCheck('qemu', boot.stderr.trim() || `QEMU ${exit}`),
  }];
}

function statusShortfalls(guestExitCode: number | null, failedTests: number, tapText: string): Shortfall[] {
  if (guestExitCode === null) {
    const running = lastAnnouncedSuite(tapText);
    return [{
      outcome: 'test-failure',
      reason: `no rbmap-exit line on the status channel: the guest run did not finish${running !== null ? ` (it was running ${running})` : ''}`,
      check: harnessCheck('status', 'the status channel has no rbmap-exit line (guest crashed, hung or was stopped)'),
    }];
  }
  if (guestExitCode === 0) return [];
  return [{
    outcome: 'test-failure',
    reason: `the guest test runner exited with ${guestExitCode}`,
    ...(failedTests === 0 ? { check: harnessCheck('status', `rbmap-exit ${guestExitCode} while no test failed`) } : {}),
  }];
}

function resultShortfalls(problems: readonly string[], testResults: readonly TestResult[]): Shortfall[] {
  const shortfalls = problems.map((problem): Shortfall => ({ outcome: 'test-failure', reason: '', check: harnessCheck('results', problem) }));
  if (problems.length > 0) shortfalls.push({ outcome: 'test-failure', reason: `${problems.length} problem(s) with the result streams` });
  if (testResults.length === 0) shortfalls.push({ outcome: 'test-failure', reason: 'no test results at all', check: harnessCheck('results', 'zero tests ran') });
  return shortfalls;
}

/**
 * Combines everything a run produced into one verdict, the worst outcome found: kernel
 * crash > timeout > setup error (QEMU failed) > test failure > pass. Every reason for not
 * passing also appears as a failing result of suite `rbmap`, so counts and JUnit show it.
 */
export function buildSummary(inputs: SummaryInputs): RunSummary {
  const { boot, findings } = inputs;
  const guestExitCode = parseStatusLine(inputs.statusText);
  const problems = [...inputs.guestTap.problems.map((p) => `guest TAP: ${p}`), ...inputs.kunit.problems.map((p) => `KUnit: ${p}`)];
  const testResults = [...inputs.guestTap.results, ...inputs.kunit.results];
  const failedTests = testResults.filter((result) => result.status === 'fail').length;
  const shortfalls = [
    ...consoleShortfalls(findings),
    ...bootShortfalls(boot),
    ...(failedTests > 0 ? [{ outcome: 'test-failure' as const, reason: `${failedTests} test(s) failed` }] : []),
    ...statusShortfalls(guestExitCode, failedTests, inputs.tapText ?? ''),
    ...resultShortfalls(problems, testResults),
  ];
  const verdict = worst(shortfalls.map((shortfall) => shortfall.outcome));
  const results = [...testResults, ...shortfalls.flatMap((shortfall) => (shortfall.check === undefined ? [] : [shortfall.check]))];
  return {
    verdict,
    exitCode: exitCodeOf(verdict),
    reasons: shortfalls.flatMap((shortfall) => (shortfall.reason === '' ? [] : [shortfall.reason])),
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
