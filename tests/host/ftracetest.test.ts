/** ftracetest's output parsed, two runs compared, and rbmap regress's verdict. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../harness/common/outcome.js';
import { compareRuns, countResults, formatComparison, parseFtracetest, type FtraceRun } from '../../harness/results/ftracetest.js';
import { projectRoot } from '../../harness/common/paths.js';
import { regressVerdict, rerunsPerCase, rerunVerdict, type RegressSide } from '../../harness/commands/regress.js';

/** Recorded: `rbmap regress`'s pristine side, 6.1 under TCG with one vCPU (its ftracetest.out). */
const recorded = readFileSync(join(projectRoot, 'tests', 'host', 'fixtures', 'ftracetest-6.1-tcg.out'), 'utf8');

t.test('a whole recorded run: every case with its result, in order, and the closing counts', async (t) => {
  const run = parseFtracetest(recorded);
  t.ok(run.finished, 'the closing counts were seen');
  t.equal(run.unfinished, null);
  t.ok(run.cases.length > 50, `${run.cases.length} cases`);
  t.same(run.cases.map((c) => c.number), run.cases.map((_, i) => i + 1), 'numbered 1..n without a gap');
  const counts = countResults(run);
  const printed = (label: string): number => Number(new RegExp(`^# of ${label}:\\s+(\\d+)`, 'm').exec(recorded)?.[1]);
  t.equal(counts.PASS, printed('passed'), "PASS: ftracetest's own count");
  t.equal(counts.FAIL, printed('failed'), "FAIL: ftracetest's own count");
  t.equal(counts.UNSUPPORTED, printed('unsupported'), "UNSUPPORTED: ftracetest's own count");
  t.ok(run.cases.some((c) => c.name.startsWith('(instance) ')), 'the cases re-run in an instance are told apart');
  t.ok(run.cases.every((c) => !c.name.includes('\t') && c.name === c.name.trim()), 'names without the tab or the spaces around them');
  const failed = run.cases.filter((c) => c.result === 'FAIL');
  t.ok(failed.length > 0 && failed.every((c) => c.file?.startsWith('/opt/ftracetest/test.d/') && c.file.endsWith('.tc')), 'each failed case has its file, from the log ftracetest prints after it');
  t.ok(run.cases.filter((c) => c.result === 'PASS').every((c) => c.file === undefined), 'a passing case prints no log');
});

t.test('a run cut in the middle of a case: not finished, and the case it stopped in', async (t) => {
  const lines = recorded.split('\n');
  const tenth = lines.findIndex((line) => line.startsWith('[10]'));
  const cut = [...lines.slice(0, tenth), lines[tenth]!.replace(/\t\[\w+\]\s*$/, '')].join('\n');
  const run = parseFtracetest(cut);
  t.equal(run.cases.length, 9);
  t.notOk(run.finished);
  t.equal(run.unfinished?.number, 10);
  t.equal(run.unfinished?.name, parseFtracetest(recorded).cases[9]?.name);
});

function runOf(...cases: [string, FtraceRun['cases'][number]['result']][]): FtraceRun {
  return { cases: cases.map(([name, result], i) => ({ number: i + 1, name, result })), unfinished: null, finished: true };
}

t.test('comparison: a case that passes on pristine and not with the series is a regression, nothing else is', async (t) => {
  const pristine = runOf(['a', 'PASS'], ['b', 'FAIL'], ['c', 'UNSUPPORTED'], ['d', 'PASS'], ['e', 'XFAIL']);
  const series = runOf(['a', 'PASS'], ['b', 'PASS'], ['c', 'FAIL'], ['d', 'UNRESOLVED'], ['f', 'PASS']);
  const rows = compareRuns(pristine, series);
  t.same(rows.filter((r) => r.regression).map((r) => r.name), ['d', 'e'], 'd (UNRESOLVED) and e (no result) are worse');
  t.same(rows.map((r) => r.name), ['a', 'b', 'c', 'd', 'e', 'f'], 'pristine order, then the cases only the series ran');
  const table = formatComparison(rows, pristine, series);
  t.match(table, /^d\s+PASS\s+UNRESOLVED\s+<< worse with the series$/m);
  t.match(table, /^e\s+XFAIL\s+-\s+<< worse with the series$/m);
  t.match(table, /^b\s+FAIL\s+PASS\s+\(differs\)$/m);
  t.match(table, /^pristine\s+5 cases: 2 pass, 1 fail, 1 unsupported, 1 xfail$/m);
  t.match(table, /^regressions: 2: d; e$/m);
});

t.test('comparison: a name used twice meets its namesake of the same rank', async (t) => {
  const pristine = runOf(['same', 'PASS'], ['same', 'PASS']);
  const series = runOf(['same', 'PASS'], ['same', 'FAIL']);
  const rows = compareRuns(pristine, series);
  t.same(rows.map((r) => [r.name, r.series, r.regression]), [['same', 'PASS', false], ['same #2', 'FAIL', true]]);
});

function side(name: RegressSide['side'], run: FtraceRun, overrides: Partial<RegressSide> = {}): RegressSide {
  return {
    side: name,
    run,
    counts: countResults(run),
    status: 0,
    findings: [],
    outcome: { reason: 'exited', durationMs: 1000, bootMs: 100 },
    kernel: { tree: 'tree', buildDir: 'build', rebuilt: false },
    dir: name,
    timingsMs: {},
    ...overrides,
  };
}

t.test('verdict: pass, worse case, incomplete run, timeout, a console finding only the series prints', async (t) => {
  const good = runOf(['a', 'PASS'], ['b', 'FAIL']);
  const worse = runOf(['a', 'FAIL'], ['b', 'FAIL']);
  const rows = (p: FtraceRun, s: FtraceRun) => compareRuns(p, s);
  t.same(regressVerdict(rows(good, good), side('pristine', good), side('series', good)), { exitCode: ExitCode.pass, reasons: [] });

  const regressed = regressVerdict(rows(good, worse), side('pristine', good), side('series', worse));
  t.equal(regressed.exitCode, ExitCode.testFailure);
  t.match(regressed.reasons.join('\n'), /worse with the series: a \(PASS on pristine, FAIL with the series\)/);

  const unfinished: FtraceRun = { ...good, finished: false };
  t.equal(regressVerdict(rows(good, unfinished), side('pristine', good), side('series', unfinished)).exitCode, ExitCode.testFailure, 'no closing counts');

  const stopped: FtraceRun = { cases: good.cases.slice(0, 1), unfinished: { number: 2, name: 'b' }, finished: false };
  const timedOut = regressVerdict(rows(good, stopped), side('pristine', good), side('series', stopped, { outcome: { reason: 'watchdog', durationMs: 1, bootMs: 1 } }));
  t.equal(timedOut.exitCode, ExitCode.timeout);
  t.match(timedOut.reasons.join('\n'), /series: the guest did not finish \(watchdog\) in case \[2\] b/);

  const warning = { kind: 'warning' as const, line: 7, excerpt: 'WARNING: CPU: 0 PID: 1 at kernel/trace/ring_buffer.c' };
  const crashed = regressVerdict(rows(good, good), side('pristine', good), side('series', good, { findings: [warning] }));
  t.equal(crashed.exitCode, ExitCode.kernelCrash);
  const both = regressVerdict(rows(good, good), side('pristine', good, { findings: [warning] }), side('series', good, { findings: [warning] }));
  t.equal(both.exitCode, ExitCode.pass, 'a finding pristine prints too is not the series\' doing');
});

t.test('re-runs: confirmed only if the series fails again and pristine never does', async (t) => {
  const times = (name: string, ...results: FtraceRun['cases'][number]['result'][]): FtraceRun => runOf(...results.map((r) => [name, r] as [string, typeof r]));
  t.equal(rerunsPerCase, 3);
  t.equal(rerunVerdict('a', times('a', 'PASS', 'PASS', 'PASS'), times('a', 'PASS', 'FAIL', 'PASS')), 'confirmed');
  t.equal(rerunVerdict('a', times('a', 'PASS', 'FAIL', 'PASS'), times('a', 'FAIL', 'PASS', 'PASS')), 'flaky on both kernels');
  t.equal(rerunVerdict('a', times('a', 'PASS', 'PASS', 'PASS'), times('a', 'PASS', 'PASS', 'PASS')), 'not reproduced');
  t.equal(rerunVerdict('a', times('a', 'PASS', 'PASS', 'PASS'), times('a', 'PASS')), 'confirmed', 'a re-run that never reached the case counts as a failure');
});
