import { buildTapTree, flattenTree, nestedPlanProblems, planProblems, type ParsedResults, type TestResult } from './tapTree.js';

/**
 * Parses KUnit results as the guest collects them: the kernel log from the first
 * `KTAP version` line on, time stamps stripped (lines that are not KTAP are skipped).
 * The concatenated /sys/kernel/debug/kunit/<suite>/results files parse too, but 6.1
 * keeps only 512 bytes of log per case there, which can cut a failing case's result
 * line. A 6.1 document is `KTAP version 1`, `1..N`, each suite one level in (`KTAP version 1`,
 * `# Subtest: <suite>`, `1..N`, the case logs with `ok N case`, parameterised cases one
 * level further without a plan), the suite's `# <suite>: pass:..` lines, then
 * `ok 1 <suite>`. Each suite must have its plan. Names are `suite > case [> param]`.
 */
export function parseKtap(text: string, options: { expectedSuites?: readonly string[] } = {}): ParsedResults {
  const results: TestResult[] = [];
  const problems: string[] = [];
  const tree = buildTapTree(text);
  problems.push(...tree.problems.map((problem) => `KTAP: ${problem}`));

  const seenSuites = new Set<string>();
  for (const doc of tree.documents) {
    for (const suiteNode of doc.tests) {
      const suite = suiteNode.name;
      seenSuites.add(suite);
      if (suiteNode.children.length === 0) {
        // A suite line with no cases: still a result (e.g. a suite that failed its init).
        flattenTree([suiteNode], [], suite, results);
        continue;
      }
      problems.push(...nestedPlanProblems([suiteNode], [], (depth) => depth === 1));
      flattenTree(suiteNode.children, [suite], suite, results);
      if (!suiteNode.ok && suiteNode.directive === null && !results.some((result) => result.suite === suite && result.status === 'fail')) {
        flattenTree([{ ...suiteNode, children: [] }], [], suite, results);
      }
    }
    if (doc.plan !== null) problems.push(...planProblems(doc, 'KTAP', false));
  }
  for (const suite of options.expectedSuites ?? []) {
    if (!seenSuites.has(suite)) problems.push(`KUnit suite ${suite} has no results (not built in, or its KTAP missing from the kernel log)`);
  }
  return { results, problems };
}
