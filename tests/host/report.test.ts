import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BootOutcome } from '../../harness/boot/boot.js';
import type { ConsoleFinding } from '../../harness/boot/consoleScan.js';
import { ExitCode } from '../../harness/common/outcome.js';
import { buildSummary, formatReport, writeSummaryFiles, type SummaryInputs } from '../../harness/results/report.js';
import { runArtifactPaths } from '../../harness/common/runFolder.js';
import type { ParsedResults } from '../../harness/results/tapTree.js';

const exited: BootOutcome = {
  reason: 'exited', qemuExitCode: 0, signal: null, durationMs: 6400, bootMs: 1900, firstOutputMs: {}, consoleLog: '/r/console.log', consoleBytes: 1000, stderr: '',
};
const passing: ParsedResults = {
  results: [
    { name: 'a.test.js > maps', status: 'pass', durationMs: 3.2, suite: 'a.test.js' },
    { name: 'a.test.js > two cpus', status: 'skip', suite: 'a.test.js', diagnostic: 'SKIP: single CPU' },
  ],
  problems: [],
};
const failing: ParsedResults = {
  results: [...passing.results, { name: 'a.test.js > refuses write', status: 'fail', durationMs: 1, suite: 'a.test.js', diagnostic: 'error: expected EPERM' }],
  problems: [],
};
const kunit: ParsedResults = { results: [{ name: 'ring_buffer_map > case', status: 'pass', suite: 'ring_buffer_map' }], problems: [] };
const oops: ConsoleFinding = { kind: 'oops', line: 70, excerpt: 'BUG: kernel NULL pointer dereference\nOops: 0000 [#1]\n---[ end trace 0000000000000000 ]---' };

function inputs(overrides: Partial<SummaryInputs>): SummaryInputs {
  return { boot: exited, guestTap: passing, kunit, findings: [], statusText: 'rbmap-exit 0\n', artifacts: runArtifactPaths('/r'), ...overrides };
}

t.test('verdict precedence: crash > timeout > test failure > pass', async (t) => {
  const pass = buildSummary(inputs({}));
  t.equal(pass.verdict, 'pass');
  t.equal(pass.exitCode, ExitCode.pass);
  t.same(pass.counts, { passed: 2, failed: 0, skipped: 1, total: 3 });

  const failed = buildSummary(inputs({ guestTap: failing, statusText: 'rbmap-exit 1\n' }));
  t.equal(failed.verdict, 'test-failure');
  t.equal(failed.exitCode, ExitCode.testFailure);
  t.equal(failed.counts.failed, 1, 'a non-zero runner exit explained by a failing test adds no extra failure');

  const watchdog = { ...exited, reason: 'watchdog' as const, qemuExitCode: null, signal: 'SIGTERM' };
  const timedOut = buildSummary(inputs({ boot: watchdog, guestTap: failing, statusText: '' }));
  t.equal(timedOut.verdict, 'timeout');
  t.equal(timedOut.exitCode, ExitCode.timeout);

  const crashed = buildSummary(inputs({ boot: watchdog, guestTap: failing, statusText: '', findings: [oops] }));
  t.equal(crashed.verdict, 'kernel-crash');
  t.equal(crashed.exitCode, ExitCode.kernelCrash);
  t.ok(crashed.results.some((result) => result.suite === 'rbmap' && result.name.includes('oops') && result.status === 'fail'));

  const qemuFailed = buildSummary(inputs({ boot: { ...exited, reason: 'qemu-error', qemuExitCode: 1, stderr: 'no kernel' }, statusText: '' }));
  t.equal(qemuFailed.verdict, 'setup-error');
  t.equal(qemuFailed.exitCode, ExitCode.setupError);
});

t.test('what fails an otherwise passing run', async (t) => {
  const cases: [string, Partial<SummaryInputs>, RegExp][] = [
    ['missing status line', { statusText: '' }, /no rbmap-exit line/],
    ['non-zero runner exit', { statusText: 'rbmap-exit 3\n' }, /exited with 3/],
    ['TAP problem', { guestTap: { ...passing, problems: ['truncated'] } }, /problem/],
    ['KTAP problem', { kunit: { results: [], problems: ['plan says 1..2'] } }, /problem/],
    ['zero tests', { guestTap: { results: [], problems: [] }, kunit: { results: [], problems: [] } }, /no test results/],
  ];
  for (const [what, override, reason] of cases) {
    const summary = buildSummary(inputs(override));
    t.equal(summary.verdict, 'test-failure', what);
    t.ok(summary.reasons.some((text) => reason.test(text)), `${what}: reason given`);
    t.ok(summary.counts.failed > 0, `${what}: counted as a failure`);
  }
});

t.test('report text and files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rbmap-report-'));
  const summary = buildSummary(inputs({ guestTap: failing, findings: [oops], statusText: 'rbmap-exit 1\n', artifacts: runArtifactPaths(dir) }));
  const text = formatReport(summary);
  const lines = text.split('\n');
  t.equal(lines[lines.length - 1], '2 passed, 2 failed, 1 skipped');
  t.ok(lines.includes('ok   a.test.js > maps (3 ms)'));
  t.ok(lines.includes('FAIL a.test.js > refuses write (1 ms)'));
  t.ok(lines.includes('skip a.test.js > two cpus'));
  t.match(text, /Kernel oops at console line 70:\n {2}BUG: kernel NULL pointer dereference/);
  t.match(text, /Guest: boot 1\.9 s, whole guest run 6\.4 s/);
  t.match(text, new RegExp(`JUnit   ${dir}/results\\.xml`));
  writeSummaryFiles(summary);
  const written = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { verdict: string; exitCode: number };
  t.equal(written.verdict, 'kernel-crash');
  t.equal(written.exitCode, ExitCode.kernelCrash);
  t.match(readFileSync(join(dir, 'results.xml'), 'utf8'), /<failure message="error: expected EPERM"/);
});

t.test('a guest that stops mid-run names the test file it was running', async (t) => {
  const tap = '# rbmap-suite: coexist.test.js\nTAP version 13\nok 1 - a\n1..1\n# rbmap-suite: mapping.test.js\nTAP version 13\nok 1 - b\n';
  const summary = buildSummary(inputs({ statusText: '', tapText: tap }));
  t.ok(summary.reasons.some((r) => r.includes('did not finish (it was running mapping.test.js)')), summary.reasons.join('; '));
});
