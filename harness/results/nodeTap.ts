/** Node's `--test-reporter=tap` output as the guest sends it: one TAP document per test file, each after its suite line. */
import { announcedSuite } from '../../guest/contract.js';
import { buildTapTree, flattenTree, nestedPlanProblems, planProblems, type ParsedResults, type TapDialect, type TapNode, type TestResult } from './tapTree.js';

/** Top-level `key: value` scalars and `key: |-` blocks of a diagnostic block. */
export function readYamlFields(yaml: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let index = 0; index < yaml.length; index += 1) {
    const match = /^([A-Za-z_][\w-]*):\s?(.*)$/.exec(yaml[index] ?? '');
    if (match === null) continue;
    const key = match[1] as string;
    const value = (match[2] ?? '').trim();
    if (/^[|>][-+]?$/.test(value)) {
      const body: string[] = [];
      while (index + 1 < yaml.length && /^(\s|$)/.test(yaml[index + 1] ?? '')) {
        index += 1;
        body.push(yaml[index] ?? '');
      }
      const indent = Math.min(...body.filter((line) => line.trim() !== '').map((line) => line.length - line.trimStart().length));
      fields.set(key, body.map((line) => line.slice(Number.isFinite(indent) ? indent : 0)).join('\n').trimEnd());
    } else {
      fields.set(key, unquoteYaml(value));
    }
  }
  return fields;
}

function unquoteYaml(value: string): string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1).replaceAll("''", "'");
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      return JSON.parse(value) as string;
    } catch {
      return value.slice(1, -1);
    }
  }
  return value === '~' ? '' : value;
}

/** Node records each test's time as `duration_ms` and its kind as `type`; neither is worth showing in a diagnostic. */
export const nodeTapDialect: TapDialect = {
  durationOf(node: TapNode): number | undefined {
    const raw = readYamlFields(node.yaml).get('duration_ms');
    if (raw === undefined) return undefined;
    const value = Number(raw);
    return Number.isFinite(value) ? value : undefined;
  },
  diagnosticYaml: (node: TapNode): string[] => node.yaml.filter((line) => !/^(duration_ms|type):/.test(line)),
};

export interface TapParseOptions {
  /** Suite (and first name component) when the stream does not name its file. */
  defaultSuite?: string;
}

/**
 * Parses `node --test --test-reporter=tap` output. Node 20 does not name the file of
 * a passing test, so the suite is the file announced by a `# rbmap-suite: <file>`
 * comment before its TAP document, or `defaultSuite`. Names are `suite > describe > test`.
 */
export function parseTap(text: string, options: TapParseOptions = {}): ParsedResults {
  const defaultSuite = options.defaultSuite ?? 'guest';
  const results: TestResult[] = [];
  const problems: string[] = [];
  if (text.trim() === '') return { results, problems: ['no TAP output at all (the test runner did not start or its output was lost)'] };

  for (const section of splitBySuiteMarker(text, defaultSuite)) {
    const tree = buildTapTree(section.text);
    problems.push(...tree.problems.map((problem) => `${section.suite}: ${problem}`));
    if (tree.documents.length === 0 || tree.documents.every((doc) => doc.tests.length === 0 && doc.plan === null)) {
      problems.push(`${section.suite}: no TAP test points or plan`);
      continue;
    }
    for (const doc of tree.documents) {
      problems.push(...planProblems(doc, section.suite, true));
      problems.push(...nestedPlanProblems(doc.tests, [section.suite], () => true));
      flattenTree(doc.tests, [section.suite], section.suite, results, nodeTapDialect);
    }
  }
  return { results, problems };
}

function splitBySuiteMarker(text: string, defaultSuite: string): { suite: string; text: string }[] {
  const sections: { suite: string; lines: string[] }[] = [{ suite: defaultSuite, lines: [] }];
  for (const line of text.split('\n')) {
    const suite = announcedSuite(line);
    if (suite !== null) sections.push({ suite, lines: [] });
    else (sections[sections.length - 1] as { lines: string[] }).lines.push(line);
  }
  return sections
    .filter((section, index) => index > 0 || section.lines.some((line) => line.trim() !== ''))
    .map((section) => ({ suite: section.suite, text: section.lines.join('\n') }));
}
