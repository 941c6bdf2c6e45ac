import t from 'tap';
import { buildTapTree, flattenTree, nestedPlanProblems, tokenizeTapLine, type TestResult } from '../../harness/results/tapTree.js';

t.test('tokenizer', async (t) => {
  t.match(tokenizeTapLine('TAP version 13'), { kind: 'version', version: 13, depth: 0 });
  t.match(tokenizeTapLine('    1..4'), { kind: 'plan', count: 4, depth: 1 });
  t.match(tokenizeTapLine('not ok 2 - refuses # a write'), { kind: 'test', ok: false, number: 2, description: 'refuses # a write', directive: null });
  t.match(tokenizeTapLine('ok 4 - isatty hazard \\# pinned # TODO document it'), {
    description: 'isatty hazard # pinned',
    directive: { kind: 'todo', reason: 'document it' },
  });
  t.match(tokenizeTapLine('        ok 2 - needs two CPUs # SKIP single CPU guest'), { depth: 2, directive: { kind: 'skip', reason: 'single CPU guest' } });
  t.match(tokenizeTapLine('    ok 1 test_a'), { kind: 'test', description: 'test_a', number: 1, depth: 1 });
  t.match(tokenizeTapLine('# Subtest: mapping'), { kind: 'subtest', name: 'mapping' });
  t.match(tokenizeTapLine('Bail out! no addon'), { kind: 'bailout', reason: 'no addon' });
  t.match(tokenizeTapLine('      ---'), { kind: 'yaml-start' });
});

t.test('a parent test point carries the block of its subtests', async (t) => {
  const text = ['TAP version 13', '# Subtest: outer', '    # Subtest: a', '    ok 1 - a', '    1..2', 'ok 1 - outer', '1..1'].join('\n');
  const [outer] = buildTapTree(text).documents[0]?.tests ?? [];
  t.match(outer?.subtestBlock, { depth: 1, subtestName: 'outer', plan: { count: 2, line: 5 }, unterminated: false });
  t.equal(outer?.subtestBlock?.tests, outer?.children, 'the children are the block\'s tests');
  t.equal(outer?.children[0]?.subtestBlock, null, 'a leaf has no block');
  const copy = structuredClone(outer === undefined ? [] : [outer]);
  t.same(nestedPlanProblems(copy, [], () => true), ['"outer": plan says 1..2 but 1 test(s) reported'], 'a copy of the tree keeps what the plan checks need');
});

t.test('a cut-short block hangs under a failing parent that knows it never finished', async (t) => {
  const tree = buildTapTree(['TAP version 13', '# Subtest: outer', '    ok 1 - a'].join('\n'));
  t.match(tree.problems, [/truncated/]);
  const [orphan] = tree.documents[0]?.tests ?? [];
  t.match(orphan, { name: 'outer', ok: false, subtestBlock: { subtestName: 'outer', unterminated: true } });
  t.same(nestedPlanProblems(orphan === undefined ? [] : [orphan], [], () => true), ['"outer": truncated, the subtest never finished']);
});

t.test('without a dialect a result has no duration and its diagnostic is every YAML line', async (t) => {
  const text = ['TAP version 13', 'not ok 1 - a', '  ---', '  duration_ms: 2', '  error: boom', '  ...', '1..1'].join('\n');
  const results: TestResult[] = [];
  flattenTree(buildTapTree(text).documents[0]?.tests ?? [], ['s'], 's', results);
  t.same(results, [{ name: 's > a', status: 'fail', suite: 's', diagnostic: 'duration_ms: 2\nerror: boom' }]);
});
