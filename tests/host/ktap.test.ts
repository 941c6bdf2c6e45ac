import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKtap } from '../../harness/results/ktap.js';
import { projectRoot } from '../../harness/common/paths.js';

const fixture = readFileSync(join(projectRoot, 'tests', 'host', 'fixtures', 'kunit-6.1-results.ktap'), 'utf8');

t.test('6.1 debugfs results of two suites, concatenated', async (t) => {
  const { results, problems } = parseKtap(fixture, { expectedSuites: ['ring_buffer_map'] });
  t.same(problems, []);
  t.same(
    results.map((result) => [result.suite, result.name, result.status]),
    [
      ['ring_buffer_map', 'ring_buffer_map > test_map_meta_page_zeroed', 'pass'],
      ['ring_buffer_map', 'ring_buffer_map > test_map_refcount_balances', 'pass'],
      ['ring_buffer_map', 'ring_buffer_map > test_map_resize_busy', 'fail'],
      ['ring_buffer_map', 'ring_buffer_map > test_swap_cpu_busy', 'skip'],
      ['ring_buffer_map', 'ring_buffer_map > test_map_fault_offsets > pgoff-0', 'pass'],
      ['ring_buffer_map', 'ring_buffer_map > test_map_fault_offsets > pgoff-1', 'pass'],
      ['ring_buffer_map', 'ring_buffer_map > test_map_fault_offsets > pgoff-past-end', 'pass'],
      ['ring_buffer_map', 'ring_buffer_map > test_unmap_frees_ids', 'pass'],
      ['kunit_executor_test', 'kunit_executor_test > parse_filter_test', 'pass'],
      ['kunit_executor_test', 'kunit_executor_test > filter_subsuite_test', 'pass'],
    ],
  );
  const failed = results.find((result) => result.status === 'fail');
  t.match(failed?.diagnostic, /EXPECTATION FAILED at kernel\/trace\/ring_buffer_map_kunit\.c:118/);
  t.match(failed?.diagnostic, /\nExpected ret == -16, but\n    ret == 0/);
  t.match(results.find((result) => result.status === 'skip')?.diagnostic, /needs two CPUs/);
});

t.test('older 6.1 layout without the per-file header, with "ok N - name"', async (t) => {
  const text = ['    KTAP version 1', '    # Subtest: s', '    1..2', '    ok 1 - a', '    ok 2 - b # SKIP nope', 'ok 1 - s'].join('\n');
  const { results, problems } = parseKtap(text);
  t.same(problems, []);
  t.same(results.map((result) => [result.name, result.status]), [['s > a', 'pass'], ['s > b', 'skip']]);
});

t.test('problems: missing suite, plan mismatch, truncation', async (t) => {
  t.match(parseKtap('', { expectedSuites: ['ring_buffer_map'] }).problems, [/ring_buffer_map has no results/]);
  const mismatch = fixture.replace('    1..6', '    1..7');
  t.match(parseKtap(mismatch).problems, [/plan says 1\.\.7 but 6/]);
  const cut = fixture.slice(0, fixture.indexOf('    # test_map_resize_busy: EXPECTATION'));
  const truncated = parseKtap(cut);
  t.ok(truncated.problems.some((problem) => /truncated/.test(problem)));
  t.ok(truncated.results.some((result) => result.name === 'ring_buffer_map > test_map_refcount_balances'));
  t.ok(truncated.results.some((result) => result.status === 'fail' && result.name === 'ring_buffer_map'), 'the unfinished suite fails');
});

t.test('a real 6.1 kernel log with one failing case (from dmesg, time stamps stripped)', async (t) => {
  const log = readFileSync(join(projectRoot, 'tests', 'host', 'fixtures', 'kunit-6.1-dmesg-one-failure.ktap'), 'utf8');
  const parsed = parseKtap(log, { expectedSuites: ['ring_buffer_map'] });
  t.same(parsed.problems, [], 'the kernel lines after the KTAP are skipped, not reported');
  t.equal(parsed.results.length, 14);
  const failed = parsed.results.filter((r) => r.status === 'fail');
  t.same(failed.map((r) => r.name), ['ring_buffer_map > rbm_resize_busy_test']);
  t.match(failed[0]?.diagnostic ?? '', /EXPECTATION FAILED at kernel\/trace\/ring_buffer_map_kunit\.c:725/);
  t.ok(parsed.results.every((r) => r.suite === 'ring_buffer_map'));
});
