import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchRecord } from '../../vm/arch.js';
import { buildKernel } from '../build/build.js';
import { RbmapError } from '../common/errors.js';
import { git } from '../source/git.js';
import { configureKernel } from '../build/kconfig.js';
import { prepareTree } from '../build/kernel.js';
import { tryRun } from '../common/proc.js';
import type { VariantRecord } from '../build/variants.js';
import { amPatches, seriesKeyRef, type SeriesPatch } from '../source/series.js';

export interface CheckpatchResult {
  errors: number;
  warnings: number;
  checks: number;
  /** The first problem lines, for the report. */
  problems: string[];
}

export type StepStatus = 'ok' | 'FAIL' | 'skipped';

export interface CheckRow {
  patch: string;
  subject: string;
  applies: StepStatus;
  checkpatch: CheckpatchResult | null;
  builds: StepStatus;
  /** W=1 warnings in the files this patch touches, beyond those the base has. */
  newW1Warnings: string[] | null;
  detail: string;
}

export function parseCheckpatch(output: string): CheckpatchResult {
  const total = /total: (\d+) errors?, (\d+) warnings?, (?:(\d+) checks?, )?\d+ lines checked/.exec(output);
  if (total === null) {
    return { errors: 1, warnings: 0, checks: 0, problems: [`checkpatch printed no summary:\n${output.slice(0, 2000)}`] };
  }
  const problems = output.split('\n').filter((l) => /^(ERROR|WARNING|CHECK):/.test(l));
  return { errors: Number(total[1]), warnings: Number(total[2]), checks: Number(total[3] ?? 0), problems };
}

/** `file:line:col: warning: text [-Wflag]` lines that fall in one of `files`, line numbers dropped. */
export function warningsIn(output: string, files: string[]): string[] {
  const found: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^(?:\.\.\/)*(?:\S*\/)?((?:[\w.+-]+\/)*[\w.+-]+\.[ch]):\d+(?::\d+)?: warning: (.*)$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined) continue;
    const file = files.find((f) => line.includes(f));
    if (file !== undefined) found.push(`${file}: ${m[2]}`);
  }
  return found;
}

/** Multiset difference: warnings in `after` not matched one-for-one by `before`. */
export function newWarnings(before: string[], after: string[]): string[] {
  const pool = new Map<string, number>();
  for (const w of before) pool.set(w, (pool.get(w) ?? 0) + 1);
  const fresh: string[] = [];
  for (const w of after) {
    const left = pool.get(w) ?? 0;
    if (left > 0) pool.set(w, left - 1);
    else fresh.push(w);
  }
  return fresh;
}

export interface CheckRequest {
  arch: ArchRecord;
  variant: VariantRecord;
  cacheDir: string;
  kernelSrc?: string;
  kernelVersion?: string;
  extraFragments: string[];
  /** Keep applying and building the next patches after one fails. */
  keepGoing: boolean;
  reportDir: string;
  log: (line: string) => void;
}

/** What checking one patch needs: the tree, its base's W=1 warnings, a build and a W=1 compile. */
interface PatchChecker {
  srcDir: string;
  buildDir: string;
  threeWay: boolean;
  baseWarnings: string[];
  build: () => Promise<void>;
  w1: (files: string[]) => Promise<string[]>;
}

function patchChecker(request: CheckRequest, prepared: { srcDir: string; buildDir: string; fragments: string[] }, optionalFragments: string[]): Omit<PatchChecker, 'baseWarnings'> {
  const { srcDir, buildDir, fragments } = prepared;
  const { arch, cacheDir, log } = request;
  return {
    srcDir,
    buildDir,
    threeWay: request.kernelSrc !== undefined || request.kernelVersion !== undefined,
    build: async () => {
      await configureKernel({ srcDir, buildDir, arch, fragments, log, optionalFragments });
      await buildKernel({ srcDir, buildDir, arch, cacheDir, log });
    },
    w1: async (files) => {
      const objects = files.map((f) => f.replace(/\.c$/, '.o'));
      if (objects.length === 0) return [];
      // A W=1 compile that fails (after the normal build passed) stops the check with E_BUILD.
      const r = await buildKernel({ srcDir, buildDir, arch, cacheDir, log, makeArgs: ['W=1', ...objects], logFile: join(buildDir, 'rbmap-w1.log') });
      return warningsIn(r.diagnostics.join('\n'), files);
    },
  };
}

/** One patch onto the tree, filling its row; 'conflict' and 'build' say what stopped it. */
async function checkPatch(checker: PatchChecker, patch: SeriesPatch, row: CheckRow): Promise<'ok' | 'conflict' | 'build'> {
  const failure = await amPatches(checker.srcDir, [patch], checker.threeWay);
  if (failure !== null) {
    row.applies = 'FAIL';
    row.detail = `conflicts in ${failure.conflictingFiles.join(', ') || '?'}\n${failure.output}`;
    return 'conflict';
  }
  row.applies = 'ok';
  row.checkpatch = await runCheckpatch(checker.srcDir, patch);
  try {
    await checker.build();
    row.builds = 'ok';
  } catch (e) {
    row.builds = 'FAIL';
    row.detail = e instanceof Error ? e.message : String(e);
    return 'build';
  }
  const touched = builtSources(checker.srcDir, checker.buildDir, patch.files.filter((f) => f.endsWith('.c')));
  row.newW1Warnings = newWarnings(checker.baseWarnings, await checker.w1(touched));
  return 'ok';
}

/**
 * Applies the series one patch at a time onto the pristine base and, after each patch,
 * runs checkpatch --strict, builds (incrementally, in the same build folder `run` uses),
 * and compiles the touched C files with W=1 to compare their warnings with the base's.
 */
export async function checkSeries(request: CheckRequest): Promise<CheckRow[]> {
  const prepared = await prepareTree({ ...request, applySeries: true, atBase: true });
  const series = prepared.series;
  if (series === null) throw new RbmapError('E_PATCH_APPLY', 'no series to check', {});
  const base = prepared.tree.baseCommit;
  if (base === null) throw new RbmapError('E_SOURCE', 'check needs a git tree', {});
  const partial = patchChecker(request, prepared, series.configFragment !== null ? [series.configFragment] : []);
  const cFiles = [...new Set(series.patches.flatMap((p) => p.files).filter((f) => f.endsWith('.c') && !f.startsWith('Documentation/')))];
  request.log('check: building the base');
  await partial.build();
  const checker: PatchChecker = { ...partial, baseWarnings: await partial.w1(builtSources(prepared.srcDir, prepared.buildDir, cFiles)) };

  const rows: CheckRow[] = [];
  let broken = false;
  let failedBuild = false;
  for (const patch of series.patches) {
    const row: CheckRow = { patch: patch.file, subject: patch.subject, applies: 'skipped', checkpatch: null, builds: 'skipped', newW1Warnings: null, detail: '' };
    rows.push(row);
    if (broken) continue;
    request.log(`check: ${patch.file}`);
    const stopped = await checkPatch(checker, patch, row);
    // After a conflict nothing further can be applied: later patches build on this one.
    if (stopped === 'conflict') broken = true;
    if (stopped === 'build') {
      failedBuild = true;
      broken = !request.keepGoing;
    }
  }
  if (!broken && !failedBuild) {
    // The tip is what `run` wants: remember it so run reuses this commit and build.
    await git(prepared.srcDir, ['update-ref', seriesKeyRef(base, series), 'HEAD']);
    await checker.build();
  }
  await mkdir(request.reportDir, { recursive: true });
  await writeFile(join(request.reportDir, 'check.json'), `${JSON.stringify(rows, null, 2)}\n`);
  return rows;
}

async function runCheckpatch(srcDir: string, patch: SeriesPatch): Promise<CheckpatchResult> {
  // checkpatch runs scripts/spdxcheck.py with the first python3 on PATH and takes its silence
  // for a pass; a python3 without ply and GitPython (pyenv, a venv) would skip the licence
  // check unnoticed, so the Debian python3 that doctor equips comes first.
  const env = { ...process.env, PATH: `/usr/bin:${process.env['PATH'] ?? ''}` };
  const r = await tryRun('perl', ['scripts/checkpatch.pl', '--strict', '--color=never', '--showfile', patch.path], { cwd: srcDir, env });
  return parseCheckpatch(`${r.stdout}\n${r.stderr}`);
}

/** The C files of the tree at its current commit that this configuration builds. */
function builtSources(srcDir: string, buildDir: string, cFiles: string[]): string[] {
  return cFiles.filter((f) => existsSync(join(srcDir, f)) && existsSync(join(buildDir, f.replace(/\.c$/, '.o'))));
}

export function rowFailed(row: CheckRow): boolean {
  const cp = row.checkpatch;
  return (
    row.applies !== 'ok' ||
    row.builds !== 'ok' ||
    cp === null ||
    cp.errors + cp.warnings + cp.checks > 0 ||
    (row.newW1Warnings?.length ?? 0) > 0
  );
}

export function formatCheck(rows: CheckRow[]): string {
  const lines = ['patch                                                  applies  checkpatch (E/W/C)  builds  new W=1'];
  for (const r of rows) {
    const cp = r.checkpatch === null ? '-' : `${r.checkpatch.errors}/${r.checkpatch.warnings}/${r.checkpatch.checks}`;
    const w1 = r.newW1Warnings === null ? '-' : String(r.newW1Warnings.length);
    lines.push(`${r.patch.slice(0, 54).padEnd(54)} ${r.applies.padEnd(8)} ${cp.padEnd(19)} ${r.builds.padEnd(7)} ${w1}`);
  }
  for (const r of rows.filter(rowFailed)) {
    lines.push('', `${r.patch}:`);
    if (r.detail !== '') lines.push(r.detail);
    for (const p of r.checkpatch?.problems ?? []) lines.push(`  ${p}`);
    for (const w of r.newW1Warnings ?? []) lines.push(`  W=1: ${w}`);
  }
  const failed = rows.filter(rowFailed).length;
  lines.push('', `${rows.length - failed} passed, ${failed} failed`);
  return lines.join('\n');
}
