import t from 'tap';
import type { CheckRow } from '../../harness/commands/check.js';
import { ExitCode, exitCodeOf } from '../../harness/common/outcome.js';
import {
  checkColumns,
  formatMatrix,
  matrixExitCode,
  matrixJUnit,
  parseCcacheStats,
  runColumns,
  selectVersions,
  type MatrixRow,
} from '../../harness/commands/matrix.js';
import type { TestResult } from '../../harness/results/tapTree.js';

const archive = ['6.1.192-3', '6.1.190-1', '6.1.170-3'];

function row(version: string, over: Partial<MatrixRow> = {}): MatrixRow {
  return {
    version, applies: 'ok', checkpatch: { errors: 0, warnings: 0, checks: 0 }, builds: 'ok', newW1Warnings: 0,
    guest: { passed: 104, failed: 0 }, kunit: { passed: 16, failed: 0 }, consoleFindings: 0, ccache: { hits: 30, misses: 10 },
    outcome: 'pass', detail: '', timeMs: 90_000, runDir: null, ...over, exitCode: exitCodeOf(over.outcome ?? 'pass'),
  };
}

function checkRow(patch: string, over: Partial<CheckRow> = {}): CheckRow {
  return {
    patch, subject: patch, applies: 'ok', checkpatch: { errors: 0, warnings: 0, checks: 0, problems: [] }, builds: 'ok', newW1Warnings: [], detail: '', ...over,
  };
}

t.test('selectVersions: all, a list, and an unknown version named with the known ones', async (t) => {
  t.same(selectVersions('all', archive), archive);
  t.same(selectVersions('6.1.170-3, 6.1.192-3', archive), ['6.1.170-3', '6.1.192-3']);
  t.throws(() => selectVersions('6.1.999-1,6.1.190-1', archive), { code: 'E_USAGE', message: /6\.1\.999-1 not in the archive; it has 6\.1\.192-3, 6\.1\.190-1, 6\.1\.170-3/ });
  t.throws(() => selectVersions(',', archive), { code: 'E_USAGE', message: /no version given/ });
  t.throws(() => selectVersions('all', []), { code: 'E_SOURCE', message: /lists no versions/ });
});

t.test('matrixExitCode: the worst row, a crash worst of all', async (t) => {
  t.equal(matrixExitCode([]), ExitCode.pass);
  t.equal(matrixExitCode([row('a'), row('b', { outcome: 'test-failure' })]), ExitCode.testFailure);
  t.equal(matrixExitCode([row('a', { outcome: 'setup-error' }), row('b', { outcome: 'test-failure' })]), ExitCode.setupError);
  t.equal(matrixExitCode([row('a', { outcome: 'kernel-crash' }), row('b', { outcome: 'setup-error' }), row('c', { outcome: 'timeout' })]), ExitCode.kernelCrash);
});

t.test('checkColumns: a conflict names the patch and its files; later patches are not built', async (t) => {
  const clean = checkColumns([checkRow('0001'), checkRow('0002', { newW1Warnings: ['a.c:1: warning: x'], checkpatch: { errors: 0, warnings: 2, checks: 1, problems: [] } })]);
  t.same(clean, { applies: 'ok', checkpatch: { errors: 0, warnings: 2, checks: 1 }, builds: 'ok', newW1Warnings: 1, detail: '0002: checkpatch or W=1 findings (see check.json)' });
  const conflict = checkColumns([
    checkRow('0001'),
    checkRow('0002', { applies: 'FAIL', checkpatch: null, builds: 'skipped', newW1Warnings: null, detail: 'conflicts in kernel/trace/ring_buffer.c\nerror: ...' }),
    checkRow('0003', { applies: 'skipped', checkpatch: null, builds: 'skipped', newW1Warnings: null }),
  ]);
  t.equal(conflict.applies, 'FAIL');
  t.equal(conflict.builds, '-');
  t.equal(conflict.detail, '0002: conflicts in kernel/trace/ring_buffer.c');
  t.equal(checkColumns([checkRow('0001', { builds: 'FAIL', newW1Warnings: null, detail: 'make failed' })]).builds, 'FAIL');
});

t.test('runColumns: KUnit cases apart from the guest tests and the harness checks', async (t) => {
  const results: TestResult[] = [
    { name: 'a', suite: 'mapping.test.js', status: 'pass' },
    { name: 'b', suite: 'mapping.test.js', status: 'skip' },
    { name: 'c', suite: 'ring_buffer_map', status: 'pass' },
    { name: 'd', suite: 'ring_buffer_map', status: 'fail' },
    { name: 'e', suite: 'rbmap', status: 'fail' },
  ];
  t.same(runColumns({ results, findings: [] }), { guest: { passed: 1, failed: 1 }, kunit: { passed: 1, failed: 1 }, consoleFindings: 0 });
});

t.test('parseCcacheStats: hits are direct plus preprocessed', async (t) => {
  t.same(parseCcacheStats('cache_miss\t3909\ndirect_cache_hit\t8181\ndirect_cache_miss\t4906\npreprocessed_cache_hit\t188\n'), { hits: 8369, misses: 3909 });
  t.same(parseCcacheStats(''), { hits: 0, misses: 0 });
});

t.test('the table: a row per version, the failures spelled out under it', async (t) => {
  const table = formatMatrix([
    row('6.1.192-3'),
    row('6.1.170-3', { applies: 'FAIL', builds: '-', checkpatch: null, newW1Warnings: null, guest: null, kunit: null, consoleFindings: null, ccache: null, outcome: 'setup-error', detail: '0002: conflicts in kernel/trace/ring_buffer.c' }),
  ]).split('\n');
  t.match(table[0], /^version\s+applies\s+checkpatch\s+builds\s+W=1\s+guest pass\/fail\s+KUnit pass\/fail\s+console\s+ccache hits\s+time\s+exit$/);
  t.match(table[2], /^6\.1\.192-3\s+ok\s+0\/0\/0\s+ok\s+0\s+104\/0\s+16\/0\s+0\s+75% of 40\s+1\.5 min\s+0$/);
  t.match(table[3], /^6\.1\.170-3\s+FAIL\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+1\.5 min\s+4$/);
  t.equal(table[5], '6.1.170-3: 0002: conflicts in kernel/trace/ring_buffer.c');
});

t.test('JUnit: a suite per version with its check steps and its run results', async (t) => {
  const xml = matrixJUnit(
    [row('6.1.192-3'), row('6.1.170-3', { applies: 'FAIL', builds: '-', checkpatch: null, newW1Warnings: null, outcome: 'setup-error', detail: '0002: conflicts in x.c' })],
    new Map([['6.1.192-3', [{ name: 'mapping > a', suite: 'mapping.test.js', status: 'pass' } as TestResult]]]),
  );
  t.match(xml, /<testsuite name="linux-source-6\.1 6\.1\.192-3" tests="5" failures="0"/);
  t.match(xml, /<testsuite name="linux-source-6\.1 6\.1\.170-3" tests="5" failures="1" errors="0" skipped="4"/);
  t.match(xml, /name="linux-source-6\.1 6\.1\.192-3 &gt; mapping &gt; a"/);
  t.match(xml, /0002: conflicts in x\.c/);
});
