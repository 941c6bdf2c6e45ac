/**
 * The kernel's own ftrace selftests (tools/testing/selftests/ftrace/ftracetest) as an
 * oracle: their output parsed into cases, and two runs (pristine kernel, kernel with the
 * series) compared case by case.
 */

export const ftraceResults = ['PASS', 'FAIL', 'UNRESOLVED', 'UNTESTED', 'UNSUPPORTED', 'XFAIL', 'UNDEFINED'] as const;
export type FtraceResult = (typeof ftraceResults)[number];

export interface FtraceCase {
  /** ftracetest's case number in this run ([N]). */
  number: number;
  /** The case's description; "(instance) " first for the cases re-run in an instance. */
  name: string;
  result: FtraceResult;
  /** The case file, where ftracetest printed its log (-v prints the log of a case that did not pass). */
  file?: string;
}

export interface FtraceRun {
  cases: FtraceCase[];
  /** The case that was announced but never got a result (the guest stopped in it), or null. */
  unfinished: { number: number; name: string } | null;
  /** ftracetest printed its closing counts ("# of passed: N"): it ran to the end. */
  finished: boolean;
}

const resultLine = new RegExp(`^\\[(\\d+)\\]( \\(instance\\) )?\\s*(.*?)\\s*\\t\\[(${ftraceResults.join('|')})\\]\\s*$`);
const announceLine = /^\[(\d+)\]( \(instance\) )?\s*(.*?)\s*$/;

function caseName(description: string, instance: boolean): string {
  return `${instance ? '(instance) ' : ''}${description}`;
}

/** Parses ftracetest's stdout (as run with -v: a failed case's log follows its result line). */
export function parseFtracetest(text: string): FtraceRun {
  const cases: FtraceCase[] = [];
  let unfinished: FtraceRun['unfinished'] = null;
  let finished = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const result = resultLine.exec(line);
    if (result !== null) {
      cases.push({ number: Number(result[1]), name: caseName(result[3] ?? '', result[2] !== undefined), result: result[4] as FtraceResult });
      unfinished = null;
      continue;
    }
    if (/^# of passed:/.test(line)) finished = true;
    const last = cases.at(-1);
    const executed = /^execute(?: \(instance\) )?: (\S+)$/.exec(line);
    if (executed !== null && last !== undefined && last.file === undefined) last.file = executed[1]!;
    const announced = announceLine.exec(line);
    if (announced !== null && Number(announced[1]) === (cases.at(-1)?.number ?? 0) + 1) {
      unfinished = { number: Number(announced[1]), name: caseName(announced[3] ?? '', announced[2] !== undefined) };
    }
  }
  return { cases, unfinished, finished };
}

/** PASS and XFAIL are what ftracetest counts as a success. */
export function passes(result: FtraceResult | undefined): boolean {
  return result === 'PASS' || result === 'XFAIL';
}

export type ResultCounts = Record<FtraceResult, number>;

export function countResults(run: FtraceRun): ResultCounts {
  const counts = Object.fromEntries(ftraceResults.map((r) => [r, 0])) as ResultCounts;
  for (const c of run.cases) counts[c.result]++;
  return counts;
}

/** What re-running a case that did worse with the series showed (rbmap regress). */
export type RerunVerdict = 'confirmed' | 'flaky on both kernels' | 'not reproduced';

export interface ComparedCase {
  name: string;
  /** undefined: the case has no result on that kernel (not reached). */
  pristine: FtraceResult | undefined;
  series: FtraceResult | undefined;
  /** Passes on pristine, does not pass with the series (and, re-run, still only with the series). */
  regression: boolean;
  /** What re-running the case on both kernels showed, where it did worse with the series. */
  rerun?: RerunVerdict;
}

/**
 * The cases of a run keyed by name; a name that ftracetest uses twice gets " #2" and so on,
 * so that the n-th case of that name meets the n-th case of that name in the other run.
 */
function keyedCases(run: FtraceRun): Map<string, FtraceResult> {
  const keyed = new Map<string, FtraceResult>();
  for (const c of run.cases) {
    let key = c.name;
    for (let n = 2; keyed.has(key); n++) key = `${c.name} #${n}`;
    keyed.set(key, c.result);
  }
  return keyed;
}

/** One row per case of either run, in the order ftracetest ran them. */
export function compareRuns(pristine: FtraceRun, series: FtraceRun): ComparedCase[] {
  const seriesCases = keyedCases(series);
  const pristineCases = keyedCases(pristine);
  const rows: ComparedCase[] = [...pristineCases].map(([name, result]) => {
    const seriesResult = seriesCases.get(name);
    return { name, pristine: result, series: seriesResult, regression: passes(result) && !passes(seriesResult) };
  });
  for (const [name, result] of seriesCases) {
    if (!pristineCases.has(name)) rows.push({ name, pristine: undefined, series: result, regression: false });
  }
  return rows;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** The table: case | pristine | series, a mark on each regression, then the counts of each side. */
export function formatComparison(rows: readonly ComparedCase[], pristine: FtraceRun, series: FtraceRun): string {
  const width = Math.min(72, Math.max(4, ...rows.map((r) => r.name.length)));
  const cell = (r: FtraceResult | undefined): string => pad(r ?? '-', 11);
  const lines = [`${pad('case', width)}  ${pad('pristine', 11)}  ${pad('series', 11)}`, `${'-'.repeat(width)}  ${'-'.repeat(11)}  ${'-'.repeat(11)}`];
  for (const row of rows) {
    const name = row.name.length > width ? `${row.name.slice(0, width - 1)}…` : row.name;
    const mark = row.regression
      ? '  << worse with the series'
      : row.rerun !== undefined
        ? `  (differs; re-run: ${row.rerun})`
        : row.pristine !== row.series
          ? '  (differs)'
          : '';
    lines.push(`${pad(name, width)}  ${cell(row.pristine)}  ${cell(row.series)}${mark}`.trimEnd());
  }
  lines.push('');
  for (const [side, run] of [['pristine', pristine], ['series', series]] as const) {
    const counts = countResults(run);
    const shown = ftraceResults.filter((r) => counts[r] > 0 || r === 'PASS' || r === 'FAIL' || r === 'UNSUPPORTED');
    const end = run.finished ? '' : run.unfinished !== null ? `; did not finish: stopped in [${run.unfinished.number}] ${run.unfinished.name}` : '; did not finish';
    lines.push(`${pad(side, 9)} ${run.cases.length} cases: ${shown.map((r) => `${counts[r]} ${r.toLowerCase()}`).join(', ')}${end}`);
  }
  const regressions = rows.filter((r) => r.regression);
  lines.push(
    regressions.length === 0
      ? 'regressions: none (no case that passes on pristine fails to pass with the series)'
      : `regressions: ${regressions.length}: ${regressions.map((r) => r.name).join('; ')}`,
  );
  return lines.join('\n');
}
