import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../harness/common/paths.js';
import { parseTap, readYamlFields } from '../../harness/results/nodeTap.js';
import type { TestResult } from '../../harness/results/tapTree.js';

const fixture = (name: string): string => readFileSync(join(projectRoot, 'tests', 'host', 'fixtures', name), 'utf8');
const byName = (results: TestResult[], name: string): TestResult | undefined => results.find((result) => result.name === name);

t.test('Node 20 reporter output: nested describe, pass, fail, skip, todo', async (t) => {
  const { results, problems } = parseTap(fixture('node20-nested.tap'), { defaultSuite: 'sample.test.js' });
  t.same(problems, []);
  t.same(
    results.map((result) => [result.name, result.status]),
    [
      ['sample.test.js > mapping > maps the meta page', 'pass'],
      ['sample.test.js > mapping > refuses a writable mapping', 'fail'],
      ['sample.test.js > mapping > resize > fails with EBUSY while mapped', 'pass'],
      ['sample.test.js > mapping > resize > needs two CPUs', 'skip'],
      ['sample.test.js > mapping > isatty hazard # pinned', 'todo'],
      ['sample.test.js > top-level with subtests > sub ok', 'pass'],
      ['sample.test.js > top-level with subtests > sub skipped', 'skip'],
      ['sample.test.js > plain top-level', 'pass'],
    ],
  );
  t.ok(results.every((result) => result.suite === 'sample.test.js'));
  const failed = byName(results, 'sample.test.js > mapping > refuses a writable mapping');
  t.ok(failed?.durationMs !== undefined && failed.durationMs > 0);
  t.match(failed?.diagnostic, /EPERM expected/);
  t.match(failed?.diagnostic, /location: '.*tap-sample\.mjs:6:3'/);
  t.notMatch(failed?.diagnostic, /duration_ms/, 'the duration is a field, not diagnostic text');
  t.match(byName(results, 'sample.test.js > mapping > resize > needs two CPUs')?.diagnostic, /single CPU guest/);
  t.equal(byName(results, 'sample.test.js > plain top-level')?.diagnostic, undefined);
});

t.test('several files, one crashing at import', async (t) => {
  const { results, problems } = parseTap(fixture('node20-multi-file.tap'));
  t.same(problems, []);
  const crashed = results.find((result) => result.name.endsWith('tap-sample-broken.mjs'));
  t.equal(crashed?.status, 'fail');
  t.match(crashed?.diagnostic, /addon failed to load/);
  t.equal(results.filter((result) => result.status === 'fail').length, 2);
  t.equal(results.length, 10);
  t.equal(results[0]?.suite, 'guest');
});

t.test('suite markers name the file of each TAP document', async (t) => {
  const text = ['# rbmap-suite: a.test.js', 'TAP version 13', 'ok 1 - x', '1..1', '# rbmap-suite: b.test.js', 'TAP version 13', 'ok 1 - y', '1..1'].join('\n');
  const { results, problems } = parseTap(text);
  t.same(problems, []);
  t.same(results.map((result) => [result.suite, result.name]), [['a.test.js', 'a.test.js > x'], ['b.test.js', 'b.test.js > y']]);
});

t.test('plan and stream problems are reported', async (t) => {
  t.match(parseTap('').problems, [/no TAP output/]);
  t.match(parseTap('TAP version 13\nok 1 - a\n').problems, [/no plan/]);
  t.match(parseTap('TAP version 13\nok 1 - a\n1..2\n').problems, [/plan says 1\.\.2 but 1/]);
  t.match(parseTap('TAP version 13\nok 1 - a\nBail out! addon missing\nok 2 - b\n1..2\n').problems, [/Bail out! addon missing/]);

  const full = fixture('node20-nested.tap');
  const cut = full.slice(0, full.indexOf('ok 3 - resize'));
  const truncated = parseTap(cut);
  t.ok(truncated.problems.some((problem) => /truncated/.test(problem)), 'a cut stream is a problem');
  t.ok(truncated.results.some((result) => result.name.endsWith('fails with EBUSY while mapped') && result.status === 'pass'), 'results before the cut are kept');
  t.ok(truncated.results.some((result) => result.status === 'fail' && /mapping/.test(result.name)), 'the unfinished parent fails');

  const insideYaml = full.slice(0, full.indexOf('      code: \'ERR_ASSERTION\''));
  t.ok(parseTap(insideYaml).problems.some((problem) => /YAML/.test(problem)));
});

t.test('a failing parent with passing children still fails (hook failure)', async (t) => {
  const text = [
    'TAP version 13',
    '# Subtest: suite',
    '    # Subtest: a',
    '    ok 1 - a',
    '    1..1',
    'not ok 1 - suite',
    '  ---',
    "  error: 'after hook failed'",
    '  ...',
    '1..1',
  ].join('\n');
  const { results } = parseTap(text, { defaultSuite: 'f' });
  t.same(results.map((result) => [result.name, result.status]), [['f > suite > a', 'pass'], ['f > suite', 'fail']]);
  t.match(results[1]?.diagnostic, /after hook failed/);
});

t.test('YAML fields: scalars unquoted, block scalars de-indented', async (t) => {
  const fields = readYamlFields(["duration_ms: 0.5", "location: 'a ''b'''", 'name: "x\\ty"', 'empty: ~', 'error: |-', '  first', '', '    second', 'code: 1']);
  t.same(Object.fromEntries(fields), { duration_ms: '0.5', location: "a 'b'", name: 'x\ty', empty: '', error: 'first\n\n  second', code: '1' });
});
