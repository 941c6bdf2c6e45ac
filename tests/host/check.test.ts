import t from 'tap';
import { formatCheck, newWarnings, parseCheckpatch, rowFailed, warningsIn, type CheckRow } from '../../harness/commands/check.js';

t.test('parseCheckpatch reads the totals line', async (t) => {
  const out = `WARNING: line length of 101 exceeds 100 columns
#52: FILE: kernel/trace/ring_buffer.c:123:

CHECK: Alignment should match open parenthesis
#60: FILE: kernel/trace/trace.c:10:

total: 0 errors, 1 warnings, 1 checks, 240 lines checked
`;
  const r = parseCheckpatch(out);
  t.equal(r.errors, 0);
  t.equal(r.warnings, 1);
  t.equal(r.checks, 1);
  t.same(r.problems, ['WARNING: line length of 101 exceeds 100 columns', 'CHECK: Alignment should match open parenthesis']);
});

t.test('parseCheckpatch without a summary is an error, not a pass', async (t) => {
  const r = parseCheckpatch('Can\'t open spelling.txt\n');
  t.equal(r.errors, 1);
  t.match(r.problems[0] ?? '', /no summary/);
});

t.test('warningsIn keeps W=1 warnings of the given files, without line numbers', async (t) => {
  const out = `/root/.cache/rbmap/trees/debian/kernel/trace/ring_buffer.c:1234:5: warning: no previous prototype for 'foo' [-Wmissing-prototypes]
../kernel/trace/trace.c:77:1: warning: unused variable 'x' [-Wunused-variable]
../kernel/sched/core.c:9:1: warning: something else
  CC      kernel/trace/ring_buffer.o`;
  t.same(warningsIn(out, ['kernel/trace/ring_buffer.c', 'kernel/trace/trace.c']), [
    "kernel/trace/ring_buffer.c: no previous prototype for 'foo' [-Wmissing-prototypes]",
    "kernel/trace/trace.c: unused variable 'x' [-Wunused-variable]",
  ]);
});

t.test('newWarnings is a multiset difference', async (t) => {
  t.same(newWarnings(['a', 'b'], ['a', 'a', 'b', 'c']), ['a', 'c']);
  t.same(newWarnings(['a'], ['a']), []);
});

t.test('a row fails on checkpatch warnings, checks, build failure or new W=1 warnings', async (t) => {
  const good: CheckRow = { patch: '0001-x.patch', subject: 'x', applies: 'ok', checkpatch: { errors: 0, warnings: 0, checks: 0, problems: [] }, builds: 'ok', newW1Warnings: [], detail: '' };
  t.notOk(rowFailed(good));
  t.ok(rowFailed({ ...good, checkpatch: { errors: 0, warnings: 1, checks: 0, problems: ['WARNING: x'] } }));
  t.ok(rowFailed({ ...good, checkpatch: { errors: 0, warnings: 0, checks: 1, problems: ['CHECK: x'] } }));
  t.ok(rowFailed({ ...good, builds: 'FAIL' }));
  t.ok(rowFailed({ ...good, newW1Warnings: ['kernel/trace/trace.c: w'] }));
  t.ok(rowFailed({ ...good, applies: 'skipped' }));
  const text = formatCheck([good, { ...good, patch: '0002-y.patch', builds: 'FAIL', detail: 'error: foo' }]);
  t.match(text, /0001-x\.patch\s+ok\s+0\/0\/0\s+ok\s+0/);
  t.match(text, /^1 passed, 1 failed$/m);
});
