/**
 * `rbmap matrix`: the series against several Debian kernel versions. Per version: check
 * (applies with `git am -3`, checkpatch, builds, W=1 per patch), then boot and run the
 * suite; one row per version, matrix.json, one JUnit file with a suite per version, and
 * the worst row's exit code. A version that fails at any stage is a row, not the end: the
 * other versions still run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildEnv } from '../build/build.js';
import { checkSeries, rowFailed, type CheckRow } from './check.js';
import { parseMadison } from '../source/debianArchive.js';
import { RbmapError } from '../common/errors.js';
import { exitCodeOf, worst, type Outcome } from '../common/outcome.js';
import { toJUnitXml } from '../results/junit.js';
import { tryRun } from '../common/proc.js';
import { formatReport, type RunSummary } from '../results/report.js';
import { runPipeline, seriesKunitSuites, type RunRequest } from './run.js';
import type { TestResult } from '../results/tapTree.js';

export const matrixPackage = 'linux-source-6.1';

export interface PassFail {
  passed: number;
  failed: number;
}

export interface MatrixRow {
  version: string;
  /** Every patch applied; 'FAIL' names the patch and its files in `detail`. */
  applies: 'ok' | 'FAIL' | '-';
  /** checkpatch --strict totals over the series, or null when it did not run. */
  checkpatch: { errors: number; warnings: number; checks: number } | null;
  builds: 'ok' | 'FAIL' | '-';
  /** New W=1 warnings over the series, or null when not compiled. */
  newW1Warnings: number | null;
  guest: PassFail | null;
  kunit: PassFail | null;
  /** Kernel problems the console scan found (oops, KASAN, lockdep, WARNING...). */
  consoleFindings: number | null;
  /** ccache over this version's builds: direct and preprocessed hits, misses. */
  ccache: { hits: number; misses: number } | null;
  outcome: Outcome;
  exitCode: number;
  /** The first reason this row did not pass ('' when it did). */
  detail: string;
  timeMs: number;
  runDir: string | null;
}

/** `all` or `V,V,...` against what the archive holds; an unknown version is a usage error naming the known ones. */
export function selectVersions(spec: string, available: readonly string[]): string[] {
  if (available.length === 0) {
    throw new RbmapError('E_SOURCE', `apt-cache madison ${matrixPackage} lists no versions`, { hint: 'run apt-get update (as root), or check the apt sources' });
  }
  if (spec === 'all') return [...available];
  const wanted = spec.split(',').map((v) => v.trim()).filter((v) => v !== '');
  const unknown = wanted.filter((v) => !available.includes(v));
  if (wanted.length === 0 || unknown.length > 0) {
    throw new RbmapError('E_USAGE', `--versions ${spec}: ${wanted.length === 0 ? 'no version given' : `${unknown.join(', ')} not in the archive`}; it has ${available.join(', ') || 'nothing'}`, {
      hint: `give all, or some of: ${available.join(',')}`,
    });
  }
  return wanted;
}

export function matrixExitCode(rows: readonly MatrixRow[]): number {
  return exitCodeOf(worst(rows.map((row) => row.outcome)));
}

/** The check columns of a row from check's per-patch rows. */
export function checkColumns(rows: readonly CheckRow[]): Pick<MatrixRow, 'applies' | 'checkpatch' | 'builds' | 'newW1Warnings' | 'detail'> {
  const conflict = rows.find((r) => r.applies === 'FAIL');
  const buildFailure = rows.find((r) => r.builds === 'FAIL');
  const checked = rows.filter((r) => r.checkpatch !== null);
  const compiled = rows.filter((r) => r.newW1Warnings !== null);
  const firstFailed = rows.find(rowFailed);
  return {
    applies: conflict !== undefined ? 'FAIL' : 'ok',
    checkpatch: checked.length === 0 ? null : checked.reduce(
      (sum, r) => ({ errors: sum.errors + r.checkpatch!.errors, warnings: sum.warnings + r.checkpatch!.warnings, checks: sum.checks + r.checkpatch!.checks }),
      { errors: 0, warnings: 0, checks: 0 },
    ),
    builds: buildFailure !== undefined ? 'FAIL' : conflict !== undefined ? '-' : 'ok',
    newW1Warnings: compiled.length === 0 ? null : compiled.reduce((sum, r) => sum + r.newW1Warnings!.length, 0),
    detail: firstFailed === undefined ? '' : `${firstFailed.patch}: ${firstFailed.detail.split('\n')[0] || 'checkpatch or W=1 findings (see check.json)'}`,
  };
}

/** The guest, KUnit and console columns of a row from the run's summary. */
export function runColumns(summary: Pick<RunSummary, 'results' | 'findings'>): Pick<MatrixRow, 'guest' | 'kunit' | 'consoleFindings'> {
  const count = (results: readonly TestResult[]): PassFail => ({
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
  });
  const isKunit = (r: TestResult): boolean => seriesKunitSuites.includes(r.suite);
  return {
    guest: count(summary.results.filter((r) => !isKunit(r))),
    kunit: count(summary.results.filter(isKunit)),
    consoleFindings: summary.findings.length,
  };
}

/** ccache's counters (`ccache --print-stats`): hits (direct + preprocessed) and misses. */
export function parseCcacheStats(text: string): { hits: number; misses: number } {
  const value = (name: string): number => Number(new RegExp(`^${name}\\t(\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { hits: value('direct_cache_hit') + value('preprocessed_cache_hit'), misses: value('cache_miss') };
}

async function ccacheStats(cacheDir: string): Promise<{ hits: number; misses: number } | null> {
  const r = await tryRun('ccache', ['--print-stats'], { env: buildEnv(cacheDir) });
  return r.exitCode === 0 ? parseCcacheStats(r.stdout) : null;
}

const passFail = (p: PassFail | null): string => (p === null ? '-' : `${p.passed}/${p.failed}`);

export function formatMatrix(rows: readonly MatrixRow[]): string {
  const header = ['version', 'applies', 'checkpatch', 'builds', 'W=1', 'guest pass/fail', 'KUnit pass/fail', 'console', 'ccache hits', 'time', 'exit'];
  const body = rows.map((r) => [
    r.version,
    r.applies,
    r.checkpatch === null ? '-' : `${r.checkpatch.errors}/${r.checkpatch.warnings}/${r.checkpatch.checks}`,
    r.builds,
    r.newW1Warnings === null ? '-' : String(r.newW1Warnings),
    passFail(r.guest),
    passFail(r.kunit),
    r.consoleFindings === null ? '-' : String(r.consoleFindings),
    r.ccache === null || r.ccache.hits + r.ccache.misses === 0 ? '-' : `${Math.round((100 * r.ccache.hits) / (r.ccache.hits + r.ccache.misses))}% of ${r.ccache.hits + r.ccache.misses}`,
    `${(r.timeMs / 60_000).toFixed(1)} min`,
    String(r.exitCode),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const details = rows.filter((r) => r.detail !== '').map((r) => `${r.version}: ${r.detail}`);
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ...(details.length > 0 ? ['', ...details] : [])].join('\n');
}

/** One JUnit suite per version: its check steps, then every result of its run. */
export function matrixJUnit(rows: readonly MatrixRow[], runResults: ReadonlyMap<string, readonly TestResult[]>): string {
  const results: TestResult[] = [];
  for (const row of rows) {
    const suite = `${matrixPackage} ${row.version}`;
    const step = (name: string, ok: boolean | null, diagnostic: string): void => {
      results.push({ name: `${suite} > ${name}`, suite, status: ok === null ? 'skip' : ok ? 'pass' : 'fail', ...(ok === false || ok === null ? { diagnostic } : {}) });
    };
    step('the series applies', row.applies === '-' ? null : row.applies === 'ok', row.detail);
    step('checkpatch --strict is clean', row.checkpatch === null ? null : row.checkpatch.errors + row.checkpatch.warnings + row.checkpatch.checks === 0, 'see check.json');
    step('every patch builds', row.builds === '-' ? null : row.builds === 'ok', row.detail);
    step('no new W=1 warnings', row.newW1Warnings === null ? null : row.newW1Warnings === 0, 'see check.json');
    const run = runResults.get(row.version);
    if (run === undefined) step('the suite ran', null, row.detail || 'not run: an earlier stage failed');
    for (const r of run ?? []) results.push({ ...r, name: `${suite} > ${r.name}`, suite });
  }
  return toJUnitXml(results, { name: 'rbmap matrix' });
}

export interface MatrixRequest extends Omit<RunRequest, 'kernelVersion' | 'kernelSrc' | 'out'> {
  versions: string;
  outDir: string;
}

/** The versions `apt-cache madison` lists for the package, newest first. */
export async function archiveVersions(): Promise<string[]> {
  const r = await tryRun('apt-cache', ['madison', matrixPackage]);
  return parseMadison(r.stdout);
}

async function matrixVersion(request: MatrixRequest, version: string): Promise<{ row: MatrixRow; results: TestResult[] | undefined }> {
  const started = Date.now();
  const dir = join(request.outDir, version);
  const row: MatrixRow = {
    version, applies: '-', checkpatch: null, builds: '-', newW1Warnings: null, guest: null, kunit: null, consoleFindings: null,
    ccache: null, outcome: 'pass', exitCode: 0, detail: '', timeMs: 0, runDir: null,
  };
  const before = await ccacheStats(request.cacheDir);
  let results: TestResult[] | undefined;
  try {
    const checkRows = await checkSeries({ ...request, kernelVersion: version, reportDir: dir });
    Object.assign(row, checkColumns(checkRows));
    if (row.applies === 'FAIL' || row.builds === 'FAIL') row.outcome = 'setup-error';
    else {
      if (checkRows.some(rowFailed)) row.outcome = 'test-failure';
      row.runDir = join(dir, 'run');
      const { summary } = await runPipeline({ ...request, kernelVersion: version, out: row.runDir });
      request.log(formatReport(summary));
      Object.assign(row, runColumns(summary));
      results = summary.results;
      if (summary.verdict !== 'pass' && row.detail === '') row.detail = summary.reasons[0] ?? `run: ${summary.verdict}`;
      row.outcome = worst([row.outcome, summary.verdict]);
    }
  } catch (error) {
    if (!(error instanceof RbmapError)) throw error;
    row.outcome = error.outcome ?? 'setup-error';
    row.detail = `[${error.code}] ${error.message}`;
  }
  row.exitCode = exitCodeOf(row.outcome);
  const after = await ccacheStats(request.cacheDir);
  if (before !== null && after !== null) row.ccache = { hits: after.hits - before.hits, misses: after.misses - before.misses };
  row.timeMs = Date.now() - started;
  return { row, results };
}

/** Every selected version in turn; writes matrix.json and matrix.xml into outDir. */
export async function runMatrix(request: MatrixRequest): Promise<{ rows: MatrixRow[]; exitCode: number; files: { json: string; junit: string } }> {
  const versions = selectVersions(request.versions, await archiveVersions());
  await mkdir(request.outDir, { recursive: true });
  const rows: MatrixRow[] = [];
  const runResults = new Map<string, TestResult[]>();
  const files = { json: join(request.outDir, 'matrix.json'), junit: join(request.outDir, 'matrix.xml') };
  // Written after every version, so that a matrix stopped half-way still has its rows.
  const write = async (): Promise<void> => {
    await writeFile(files.json, `${JSON.stringify({ exitCode: matrixExitCode(rows), versions, rows }, null, 2)}\n`);
    await writeFile(files.junit, matrixJUnit(rows, runResults));
  };
  for (const [index, version] of versions.entries()) {
    request.log(`matrix: ${matrixPackage} ${version} (${index + 1} of ${versions.length})`);
    const { row, results } = await matrixVersion(request, version);
    rows.push(row);
    if (results !== undefined) runResults.set(version, results);
    await write();
    const ccache = row.ccache === null ? '' : `, ccache ${row.ccache.hits} hits ${row.ccache.misses} misses`;
    request.log(`matrix: ${version}: exit ${row.exitCode} in ${(row.timeMs / 60_000).toFixed(1)} min${ccache}${row.detail !== '' ? ` (${row.detail})` : ''}`);
  }
  return { rows, exitCode: matrixExitCode(rows), files };
}
