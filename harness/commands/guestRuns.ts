/**
 * The requests of the commands that boot the guest once for its tests (run, stress,
 * bench, shell), from the command line's options, and their reports.
 */
import type { GuestMode } from '../../guest/contract.js';
import type { PipelineOptions } from './options.js';
import { log, printHuman, printJson } from './output.js';
import { cacheRoot, runsRoot } from '../common/paths.js';
import { formatReport } from '../results/report.js';
import { formatTimings, type PipelineResult, type RunRequest } from './run.js';
import { newRunFolder, type RunKind } from '../common/runFolder.js';

/** The run folder a command uses: --out, or a new one named after the command. */
export function runFolderOf(options: Pick<PipelineOptions, 'out'>, kind: RunKind): string {
  return options.out ?? newRunFolder(runsRoot(), kind);
}

export function runRequest(options: PipelineOptions, guestMode: GuestMode, out: string): RunRequest {
  const { json: _json, out: _out, ...request } = options;
  return { ...request, out, cacheDir: cacheRoot(), guestMode, log };
}

/** Guest work of a known length: the tests whose names match `filter`, with every limit stretched to fit. */
export interface FocusedRun {
  filter: string;
  workS: number;
  /** Seconds added to the work for the per-test limit, the whole run and (if given) the watchdog. */
  slackS: { test: number; run: number; watchdog?: number };
}

/** The request of a focused run (bench, stress): the user's limits, or the work's if longer. */
export function focusedRunRequest(options: PipelineOptions, out: string, focus: FocusedRun): RunRequest {
  const { workS, slackS } = focus;
  return {
    ...runRequest(options, 'test', out),
    filter: focus.filter,
    testTimeoutS: Math.max(options.testTimeoutS, workS + slackS.test),
    timeoutS: Math.max(options.timeoutS, workS + slackS.run),
    watchdogS: slackS.watchdog === undefined ? options.watchdogS : Math.max(options.watchdogS, workS + slackS.watchdog),
  };
}

/** A run's report (stdout; stderr when stdout is for --json) and its timings line. */
export function printRunReport(result: PipelineResult, json: boolean): void {
  printHuman(json, formatReport(result.summary));
  log(formatTimings(result.timingsMs));
}

/** rbmap run and stress: the report, and with --json the one object on stdout; the exit code. */
export function finishRun(command: 'run' | 'stress', result: PipelineResult, json: boolean): number {
  printRunReport(result, json);
  const { verdict, exitCode, counts, reasons } = result.summary;
  printJson(json, { command, verdict, exitCode, counts, reasons, runDir: result.runDir, timingsMs: result.timingsMs, record: result.record });
  return exitCode;
}
