/**
 * rbmap regress: "nothing changes for programs that never map", with the kernel's own
 * ftrace selftests as the oracle. The same tree and config, built without the series
 * (pristine) and with it, each booted with ftracetest as the guest's job; one table of
 * the cases of both, and a failure for any case that passes on pristine and not with
 * the series.
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootOutcomeError, runQemu, type BootOutcome } from '../boot/boot.js';
import { scanConsoleFile, type ConsoleFinding } from '../boot/consoleScan.js';
import { guestCommandLineWords, parseStatusLine } from '../../guest/contract.js';
import { RbmapError } from '../common/errors.js';
import { exitCodeOf, worst } from '../common/outcome.js';
import { compareRuns, countResults, formatComparison, parseFtracetest, passes, type ComparedCase, type FtraceRun, type RerunVerdict, type ResultCounts } from '../results/ftracetest.js';
import { chooseAccel } from '../boot/kvm.js';
import type { PipelineOptions } from './options.js';
import { buildQemuArgs, type Accel } from '../boot/qemu.js';
import { extendImage } from '../rootfs/rootfs.js';
import { prepareGuest } from './run.js';

export type RegressSideName = 'pristine' | 'series';

export interface RegressRequest extends Omit<PipelineOptions, 'out'> {
  cacheDir: string;
  outDir: string;
  log: (line: string) => void;
}

export interface RegressSide {
  side: RegressSideName;
  run: FtraceRun;
  counts: ResultCounts;
  /** ftracetest's exit code from the status channel; null if it never came. */
  status: number | null;
  findings: ConsoleFinding[];
  outcome: Pick<BootOutcome, 'reason' | 'durationMs' | 'bootMs'>;
  kernel: { tree: string; buildDir: string; rebuilt: boolean };
  dir: string;
  timingsMs: Record<string, number>;
}

export interface RegressResult {
  exitCode: number;
  reasons: string[];
  rows: ComparedCase[];
  sides: RegressSide[];
  /** What regress.txt holds: the comparison and the re-run notes. */
  table: string;
  files: { json: string; table: string };
}

/** Where ftracetest lives in a kernel tree, and where the guest's /init looks for it. */
const selftestsInTree = join('tools', 'testing', 'selftests', 'ftrace');
const selftestsInGuest = '/opt/ftracetest';
const progressEveryMs = 15_000;

function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

interface PreparedSide {
  side: RegressSideName;
  dir: string;
  /** The kernel image, copied out of the build folder (the other side's build replaces it there). */
  image: string;
  initrd: string;
  kernel: RegressSide['kernel'];
  timings: Record<string, number>;
}

/** One side's kernel (built in the variant's build folder) and its initramfs with ftracetest added. */
async function prepareSide(request: RegressRequest, side: RegressSideName): Promise<PreparedSide> {
  const dir = join(request.outDir, side);
  await mkdir(dir, { recursive: true });
  const timings: Record<string, number> = {};
  request.log(`regress: ${side}: kernel ${side === 'series' ? 'with' : 'without'} the series, variant ${request.variant.name}`);
  const { kernel, initrd: baseImage } = await prepareGuest({ ...request, applySeries: side === 'series', guestMode: 'ftracetest' }, timings);
  if (side === 'series' && kernel.seriesState !== 'applied') {
    throw new RbmapError('E_USAGE', `${kernel.srcDir} already holds the series: its "pristine" kernel would be the series too`, {
      hint: 'point --kernel-src at the tree without the series (the base the series applies to)',
    });
  }
  const image = join(dir, 'kernel.img');
  await copyFile(kernel.build.image, image);
  const initrd = join(dir, 'initramfs.cpio');
  await extendImage({ baseImage, tree: join(kernel.srcDir, selftestsInTree), guestPath: selftestsInGuest, image: initrd });
  return { side, dir, image, initrd, kernel: { tree: kernel.tree.label, buildDir: kernel.buildDir, rebuilt: kernel.build.ran }, timings };
}

/** Boots one side with ftracetest as the guest's job; its cases, exit status and console findings. */
async function bootSide(request: RegressRequest, prepared: PreparedSide, accel: Accel, rerun?: { cases: readonly string[]; dir: string }): Promise<RegressSide> {
  const { side } = prepared;
  const dir = rerun?.dir ?? prepared.dir;
  await mkdir(dir, { recursive: true });
  const channels = { tap: join(dir, 'ftracetest.out'), ktap: join(dir, 'kernel.ktap'), status: join(dir, 'status') };
  const consoleLog = join(dir, 'console.log');
  for (const file of [...Object.values(channels), consoleLog]) await rm(file, { force: true });
  const args = buildQemuArgs({
    arch: request.arch,
    kernel: prepared.image,
    initrd: prepared.initrd,
    smp: request.smp,
    memMb: request.memMb,
    accel,
    append: guestCommandLineWords({ mode: 'ftracetest', ...(rerun === undefined ? {} : { ftracetestCases: rerun.cases }) }),
    channels,
    interactive: false,
  });
  const limits = { bootTimeoutMs: request.bootTimeoutS * 1000, runTimeoutMs: request.timeoutS * 1000, watchdogMs: request.watchdogS * 1000 };
  request.log(`regress: ${side}: booting (${accel}, ${request.smp} CPU${request.smp === 1 ? '' : 's'}), ftracetest's output in ${channels.tap}`);
  const started = Date.now();
  const ticker = setInterval(() => {
    const run = parseFtracetest(readIfExists(channels.tap));
    const now = run.unfinished !== null ? `, now [${run.unfinished.number}] ${run.unfinished.name}` : '';
    request.log(`regress: ${side}: ${run.cases.length} cases done${now} (${Math.round((Date.now() - started) / 1000)} s)`);
  }, progressEveryMs);
  let outcome: BootOutcome;
  try {
    outcome = await runQemu({
      command: request.arch.qemuBinary,
      args,
      consoleLogPath: consoleLog,
      ...limits,
      watchedFiles: Object.values(channels),
      ...(request.verbose ? { onLine: (line: string) => process.stderr.write(`  ${side} | ${line}\n`) } : {}),
    });
  } finally {
    clearInterval(ticker);
  }
  const timings = { ...prepared.timings, guest: outcome.durationMs };
  if (outcome.reason === 'qemu-error') {
    const error = bootOutcomeError(outcome, limits);
    if (error !== null) throw error;
  }
  const run = parseFtracetest(readIfExists(channels.tap));
  const result: RegressSide = {
    side,
    run,
    counts: countResults(run),
    status: parseStatusLine(readIfExists(channels.status)),
    findings: scanConsoleFile(consoleLog),
    outcome: { reason: outcome.reason, durationMs: outcome.durationMs, bootMs: outcome.bootMs },
    kernel: prepared.kernel,
    dir,
    timingsMs: timings,
  };
  request.log(`regress: ${side}: ${run.cases.length} cases in ${Math.round(outcome.durationMs / 1000)} s (${outcome.reason}), ftracetest exit ${String(result.status)}`);
  return result;
}

/** The verdict: kernel trouble the pristine kernel does not show (2), a guest that did not finish (3), a worse case or missing results (1). */
export function regressVerdict(rows: readonly ComparedCase[], pristine: RegressSide, series: RegressSide): { exitCode: number; reasons: string[] } {
  const reasons: string[] = [];
  const pristineKinds = new Set(pristine.findings.map((f) => f.kind));
  const newFindings = series.findings.filter((f) => !pristineKinds.has(f.kind));
  for (const f of newFindings) reasons.push(`series kernel: ${f.kind} on the console (line ${f.line}), which the pristine kernel did not print`);
  const timedOut = [pristine, series].filter((s) => s.outcome.reason !== 'exited');
  for (const s of timedOut) reasons.push(`${s.side}: the guest did not finish (${s.outcome.reason})${s.run.unfinished !== null ? ` in case [${s.run.unfinished.number}] ${s.run.unfinished.name}` : ''}`);
  const regressions = rows.filter((r) => r.regression);
  for (const r of regressions) reasons.push(`worse with the series: ${r.name} (${r.pristine} on pristine, ${r.series ?? 'no result'} with the series)`);
  for (const s of [pristine, series]) {
    if (s.outcome.reason === 'exited' && (!s.run.finished || s.status === null)) reasons.push(`${s.side}: ftracetest's results are incomplete (no closing counts or no exit status)`);
    if (s.run.cases.length === 0) reasons.push(`${s.side}: no ftracetest case ran`);
  }
  const outcome = worst([
    ...(newFindings.length > 0 ? ['kernel-crash' as const] : []),
    ...(timedOut.length > 0 ? ['timeout' as const] : []),
    ...(reasons.length > 0 ? ['test-failure' as const] : []),
  ]);
  return { exitCode: exitCodeOf(outcome), reasons };
}

/** How many times a case that did worse with the series is run again on each kernel. */
export const rerunsPerCase = 3;

/**
 * A case that passed on pristine and not with the series, run again `rerunsPerCase` times
 * on each kernel: the series fails it again and pristine never does (confirmed), both fail
 * it (a flaky case, not the series' doing), or the series passes every time (not reproduced).
 */
export function rerunVerdict(name: string, pristine: FtraceRun, series: FtraceRun): RerunVerdict {
  /** Runs that did not pass the case; a run that never reached it counts as one. */
  const misses = (run: FtraceRun): number => {
    const results = run.cases.filter((c) => c.name === name);
    return results.filter((c) => !passes(c.result)).length + Math.max(0, rerunsPerCase - results.length);
  };
  if (misses(series) === 0) return 'not reproduced';
  return misses(pristine) > 0 ? 'flaky on both kernels' : 'confirmed';
}

export async function runRegress(request: RegressRequest): Promise<RegressResult> {
  await mkdir(request.outDir, { recursive: true });
  // Pristine first: the tree is left with the series applied, as every other command wants it.
  // The builds share one build folder, so they run one after the other; the two guests (one
  // vCPU each) then run side by side, one host core each.
  const prepared = [await prepareSide(request, 'pristine'), await prepareSide(request, 'series')] as const;
  try {
    const { accel } = await chooseAccel({ mode: request.kvm, arch: request.arch, kernel: prepared[1].image, initrd: prepared[1].initrd, cacheDir: request.cacheDir, log: request.log });
    const [pristine, series] = await Promise.all(prepared.map((side) => bootSide(request, side, accel)));
    const rows = compareRuns(pristine!.run, series!.run);
    const notes: string[] = [];
    const suspects = rows.filter((r) => r.regression);
    const files = [...new Set(suspects.flatMap((r) => series!.run.cases.find((c) => c.name === r.name)?.file ?? []))];
    if (files.length > 0) {
      request.log(`regress: ${suspects.length} case(s) did worse with the series; running ${files.length} case file(s) ${rerunsPerCase} more times on each kernel`);
      const cases = files.flatMap((file) => Array.from({ length: rerunsPerCase }, () => file));
      const reruns = await Promise.all(prepared.map((side) => bootSide(request, side, accel, { cases, dir: join(side.dir, 'rerun') })));
      for (const row of suspects) {
        const verdict = rerunVerdict(row.name, reruns[0]!.run, reruns[1]!.run);
        row.rerun = verdict;
        if (verdict !== 'confirmed') {
          row.regression = false;
          notes.push(`${row.name}: ${row.series ?? 'no result'} with the series in the full run, ${verdict} in ${rerunsPerCase} re-runs on each kernel`);
        }
      }
    }
    const { exitCode, reasons } = regressVerdict(rows, pristine!, series!);
    const out = { json: join(request.outDir, 'regress.json'), table: join(request.outDir, 'regress.txt') };
    const table = [formatComparison(rows, pristine!.run, series!.run), ...notes.map((n) => `re-run: ${n}`)].join('\n');
    await writeFile(out.table, `${table}\n`);
    await writeFile(out.json, `${JSON.stringify({ exitCode, reasons, notes, rows, sides: [pristine, series] }, null, 2)}\n`);
    return { exitCode, reasons, rows, sides: [pristine!, series!], table, files: out };
  } finally {
    for (const side of prepared) await rm(side.initrd, { force: true });
  }
}
