/**
 * rbmap bench: the reader benchmark's guest test alone with its full matrix, and
 * bench --copy-paths: read() and splice() on the kernel without the series and with it.
 */
import { writeFileSync } from 'node:fs';
import { benchPlan } from '../../guest/benchPlan.js';
import { join } from 'node:path';
import { benchRows, formatBenchTable, formatLossSpreads, lossSpreads, parseBenchResults, writeBenchFiles, type BenchRow } from '../results/bench.js';
import { compareCopyPaths, copyPathsChartSvg, formatCopyPaths, spreadCounts, type KernelSide } from '../results/copyPaths.js';
import { focusedRunRequest, printRunReport, runFolderOf } from './guestRuns.js';
import type { PipelineOptions } from './options.js';
import { exitCodeOf, worst, type Outcome } from '../common/outcome.js';
import { log, printHuman, printJson } from './output.js';
import { runPipeline } from './run.js';

export interface BenchOptions {
  seconds: number;
  rounds: number;
}

interface BenchBoot {
  outcome: Outcome;
  rows: BenchRow[];
  tap: string;
}

/** One boot that runs the benchmark's guest test alone with the full matrix; its rows. */
async function benchBoot(options: PipelineOptions, bench: BenchOptions, out: string, copyPathsOnly: boolean): Promise<BenchBoot> {
  const request = focusedRunRequest(options, out, {
    filter: '^bench:',
    workS: benchPlan({ full: true, copyPathsOnly, rounds: bench.rounds }).length * (bench.seconds + 30),
    slackS: { test: 60, run: 300 },
  });
  const result = await runPipeline({ ...request, benchSeconds: bench.seconds, benchRounds: bench.rounds, benchCopyPathsOnly: copyPathsOnly });
  printRunReport(result, options.json);
  return { outcome: result.summary.verdict, rows: benchRows(parseBenchResults(result.guestTap)), tap: result.summary.artifacts.tap };
}

/** The benchmark's table, bench.json and bench.svg (--no-patches: read() and splice() only). */
export async function runBench(options: PipelineOptions, bench: BenchOptions): Promise<number> {
  const out = runFolderOf(options, 'bench');
  const only = options.applySeries ? '' : ', read() and splice() only (no series, no mapping)';
  log(`bench: ${bench.seconds} s per measurement, the small-ring loss rows ${bench.rounds} times${only}; results in ${out}`);
  const { outcome, rows, tap } = await benchBoot(options, bench, out, !options.applySeries);
  if (rows.length === 0) {
    log(`bench: no measurements came back (see ${tap} and the console log next to it)`);
    const exitCode = exitCodeOf(worst([outcome, 'test-failure']));
    printJson(options.json, { command: 'bench', exitCode, runDir: out, rows });
    return exitCode;
  }
  const files = writeBenchFiles(out, rows);
  const spreads = lossSpreads(rows);
  const spreadTable = spreads.length === 0 ? '' : `\n\nEvents lost over the rounds:\n${formatLossSpreads(spreads)}`;
  printHuman(options.json, `\n${formatBenchTable(rows)}${spreadTable}\n\nbench: ${files.json}, chart ${files.svg}`);
  const exitCode = exitCodeOf(outcome);
  printJson(options.json, { command: 'bench', exitCode, runDir: out, rows, lossSpreads: spreads, files });
  return exitCode;
}

/**
 * bench --copy-paths: read() and splice() on the kernel without the series and with it, one
 * boot of each per round, alternating, so that the machine's drift falls on both alike.
 */
export async function runCopyPathsBench(options: PipelineOptions, bench: BenchOptions): Promise<number> {
  const out = runFolderOf(options, 'copy-paths');
  const { seconds, rounds } = bench;
  log(`bench --copy-paths: ${rounds} rounds of one boot without the series and one with it, ${seconds} s per measurement; results in ${out}`);
  const measured: { side: KernelSide; boot: number; row: BenchRow }[] = [];
  const reasons: string[] = [];
  const outcomes: Outcome[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const side of ['pristine', 'series'] as const) {
      log(`bench --copy-paths: round ${round} of ${rounds}, ${side}`);
      const dir = join(out, `${side}-${round}`);
      const boot = await benchBoot({ ...options, applySeries: side === 'series' }, { seconds, rounds: 1 }, dir, true);
      if (boot.outcome !== 'pass' || boot.rows.length === 0) {
        reasons.push(`${side}, round ${round}: the benchmark boot ended with ${boot.outcome} and ${boot.rows.length} rows (see ${dir})`);
        outcomes.push(worst([boot.outcome, 'test-failure']));
      }
      measured.push(...boot.rows.map((row) => ({ side, boot: round, row })));
    }
  }
  const exitCode = exitCodeOf(worst(outcomes));
  const rows = compareCopyPaths(measured);
  const counts = spreadCounts(rows);
  const files = { json: join(out, 'copy-paths.json'), table: join(out, 'copy-paths.txt'), svg: join(out, 'copy-paths.svg') };
  const table = formatCopyPaths(rows);
  writeFileSync(files.table, `${table}\n`);
  writeFileSync(files.svg, copyPathsChartSvg(rows));
  writeFileSync(files.json, `${JSON.stringify({ exitCode, reasons, seconds, rounds, counts, rows, measured }, null, 2)}\n`);
  const verdict = [
    `bench --copy-paths: reader CPU per MB with the series: ${counts.within} rows within pristine's spread, ${counts.more} above it, ${counts.less} below it`,
    ...reasons.map((r) => `bench --copy-paths: ${r}`),
  ].join('\n');
  printHuman(options.json, `\n${table}\n\n${verdict}\nbench --copy-paths: ${files.json}, table ${files.table}, chart ${files.svg}`);
  printJson(options.json, { command: 'bench', copyPaths: true, exitCode, reasons, counts, runDir: out, rows, files });
  return exitCode;
}
