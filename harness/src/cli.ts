#!/usr/bin/env node
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatMatrix, runMatrix } from './matrix.js';
import { benchRows, formatBenchTable, formatLossSpreads, lossSpreads, parseBenchResults, writeBenchFiles, type BenchRow } from './bench.js';
import { compareCopyPaths, copyPathsChartSvg, formatCopyPaths, spreadCounts, type KernelSide } from './copyPaths.js';
import { checkSeries, formatCheck, rowFailed } from './check.js';
import { doctor } from './doctor.js';
import { ExitCode, RbmapError, worstExitCode } from './errors.js';
import { createHackTree, exportHackTree } from './hack.js';
import {
  checkCommandOptions, isCommandName, parseCommandLine, pipelineOptions, positiveIntOption, type CommandName, type PipelineOptions,
} from './options.js';
import { formatReport, runArtifactPaths } from './report.js';
import { cacheRoot, projectRoot, runsRoot } from './paths.js';
import { runRegress } from './regress.js';
import { formatTimings, runPipeline, runShell, type GuestMode, type PipelineResult } from './run.js';
import { variantNamed } from './variants.js';

const usage = `rbmap — build a kernel with the ring-buffer mapping series, boot it in QEMU, prove it.

usage: rbmap <command> [options]

commands:
  doctor [--install]   check host packages (install the missing ones with --install, as root)
  run                  source → patch → config → build → rootfs → boot → results → report
  shell                boot the same kernel and rootfs with a shell on the console
  check                per patch: applies, checkpatch --strict, builds, new W=1 warnings
  stress [--seconds N] [--seed S]
                       the guest's seeded concurrency stress alone, N seconds (default 60);
                       prints its seed; the same seed replays the same operations
  bench [--seconds N] [--rounds R] [--copy-paths]
                       the reader benchmark: read(), splice() and the mapping (C and
                       TypeScript) against one writer, two ring sizes, three rates, N seconds
                       each (default 5), the 32 KB read()/mapping loss rows R times (default 3);
                       a table, and bench.json + bench.svg in the run folder. --no-patches:
                       read() and splice() only. --copy-paths: read() and splice() on the
                       kernel without the series and with it, R boots of each, alternating;
                       one table of both: the rows beyond pristine's spread, either way
  matrix [--versions all|V,V,...]
                       per Debian linux-source-6.1 version (apt-cache madison): check, then run
                       the suite; one table, matrix.json and matrix.xml; exit = the worst row
  regress              the kernel's own ftrace selftests on the tree without the series
                       (pristine) and with it, same config (variant selftests), one vCPU;
                       one table case | pristine | series; fails on any case that passes on
                       pristine and not with the series; regress.json in the run folder
  hack [--dir DIR]     a git work tree with the series as commits, for editing it
  export [--tree DIR]  write the hack tree's commits back to kernel-patches/

options that choose the kernel (run, shell, check, stress, bench; regress all but
--no-patches; matrix the last three):
  --kernel-src DIR         build this tree instead of Debian's linux-source-6.1
  --kernel-version V       Debian's linux-source-6.1 of version V (apt-cache madison
                           linux-source-6.1), fetched from the archive into the cache
  --no-patches             do not apply kernel-patches/ (tree used as it is)
  --config-fragment FILE   merge this fragment too (repeatable); every option is verified
  --arch NAME              architecture record from vm/ (default x86_64; also doctor)
  --variant NAME           default, or debug: KASAN, lockdep and RCU checks (with perf events),
                           DEBUG_VM, DEBUG_PAGEALLOC, fault injection; or selftests: what the
                           ftrace selftests need (regress's default); each its own build folder
options that boot it (run, shell, stress, bench, matrix; regress all but --rootfs):
  --rootfs FILE            boot this initramfs (cpio, optionally gzip) instead of building ours
  --smp N                  guest CPUs (default 2; regress 1, see the README)
  --mem MB                 guest memory (default 1024, at least 256)
  --kvm auto|kvm|tcg       accelerator; auto probes KVM once and falls back to TCG (default auto)
  --out DIR                run folder (default .rbmap/runs/<time>)
options of a guest run (run, stress, bench, matrix, regress):
  --timeout S              whole guest run limit (default 900; regress 2400 per kernel)
  --boot-timeout S         time allowed to reach the guest's /init (default 120)
  --watchdog S             end the guest after S seconds without any output (default 180;
                           regress 600)
  --test-timeout S         per guest test limit (default 120; not regress)
  -v, --verbose            echo the guest console while it runs
options of one command:
  --filter PATTERN         run, matrix: only guest tests whose name matches (node --test-name-pattern)
  --keep-going             run, matrix: keep running guest test files after one fails
                           check: keep applying/building the next patches after a failure
  --stress-seconds N       run, matrix: how long the stress test runs (default 10)
  --seed S                 run, stress, matrix: the stress test's seed (default: drawn and printed)
  --guest-mode MODE        run: test (default); hang: a guest that never finishes (proves the
                           watchdog); crash: the guest panics the kernel (proves crash reports)
  --versions all|V,V,...   matrix: the versions (default all that apt-cache madison lists)
  --json                   run, check, bench, matrix, regress: the summary as one JSON object on stdout
                           (the human report goes to stderr)
  --install                doctor: install what is missing (as root)
  --dir DIR / --tree DIR   hack, export: the hack tree (default .rbmap/linux)
  --base REF               export: the commit the series sits on (default rbmap-base)
  --force                  hack: reset an existing hack tree to kernel-patches/
An option a command does not take is a usage error.

exit codes: 0 pass, 1 test failure, 2 kernel crash, 3 timeout, 4 setup error, 64 usage error
cache: ${cacheRoot()} (set RBMAP_CACHE to move it)`;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A run's report (stdout; stderr when stdout is for --json) and its timings line. */
function printRunReport(result: PipelineResult, json: boolean): void {
  (json ? process.stderr : process.stdout).write(`${formatReport(result.summary)}\n`);
  log(formatTimings(result.timingsMs));
}

/** rbmap run and stress: the report, and with --json the one object on stdout; the exit code. */
function finishRun(command: 'run' | 'stress', result: PipelineResult, json: boolean): number {
  printRunReport(result, json);
  const { verdict, exitCode, counts, reasons } = result.summary;
  if (json) process.stdout.write(`${JSON.stringify({ command, verdict, exitCode, counts, reasons, runDir: result.runDir, timingsMs: result.timingsMs })}\n`);
  return exitCode;
}

interface BenchBoot {
  code: number;
  rows: BenchRow[];
  tap: string;
}

/** One boot that runs the benchmark's guest test alone with the full matrix; its rows. */
async function benchBoot(options: PipelineOptions, seconds: number, rounds: number, out: string, cacheDir: string, copyPathsOnly: boolean): Promise<BenchBoot> {
  // As tests/guest/throughput.test.ts measures: copy paths, 2 methods x 3 rates x 2 rings + 1, then 2 per extra round;
  // else 6 methods x 3 rates x 2 rings, rbmap-cat on each ring, 4 methods waking at the first event, then 8 per extra round.
  const measurements = copyPathsOnly ? 13 + 2 * (rounds - 1) : 42 + 8 * (rounds - 1);
  const result = await runPipeline({
    ...options,
    out,
    filter: '^bench:',
    benchSeconds: seconds,
    benchRounds: rounds,
    benchCopyPathsOnly: copyPathsOnly,
    testTimeoutS: Math.max(options.testTimeoutS, measurements * (seconds + 30) + 60),
    timeoutS: Math.max(options.timeoutS, measurements * (seconds + 30) + 300),
    cacheDir,
    runsDir: runsRoot(),
    guestMode: 'test',
    log,
  });
  printRunReport(result, options.json);
  const code = result.summary.exitCode;
  const tap = runArtifactPaths(out).tap;
  return { code, rows: benchRows(parseBenchResults(existsSync(tap) ? readFileSync(tap, 'utf8') : '')), tap };
}

function timestampedRunDir(kind: string): string {
  return join(runsRoot(), `${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}

/** The benchmark's table, bench.json and bench.svg (--no-patches: read() and splice() only). */
async function runBench(options: PipelineOptions, seconds: number, rounds: number, cacheDir: string): Promise<number> {
  const out = options.out ?? timestampedRunDir('bench');
  log(`bench: ${seconds} s per measurement, the small-ring loss rows ${rounds} times${options.applySeries ? '' : ', read() and splice() only (no series, no mapping)'}; results in ${out}`);
  const { code, rows, tap } = await benchBoot(options, seconds, rounds, out, cacheDir, !options.applySeries);
  if (rows.length === 0) {
    log(`bench: no measurements came back (see ${tap} and the console log next to it)`);
    const exitCode = code === ExitCode.pass ? ExitCode.testFailure : code;
    if (options.json) process.stdout.write(`${JSON.stringify({ command: 'bench', exitCode, runDir: out, rows })}\n`);
    return exitCode;
  }
  const files = writeBenchFiles(out, rows);
  const spreads = lossSpreads(rows);
  const spreadTable = spreads.length === 0 ? '' : `\n\nEvents lost over the rounds:\n${formatLossSpreads(spreads)}`;
  (options.json ? process.stderr : process.stdout).write(`\n${formatBenchTable(rows)}${spreadTable}\n\nbench: ${files.json}, chart ${files.svg}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify({ command: 'bench', exitCode: code, runDir: out, rows, lossSpreads: spreads, files })}\n`);
  return code;
}

/**
 * bench --copy-paths: read() and splice() on the kernel without the series and with it, one
 * boot of each per round, alternating, so that the machine's drift falls on both alike.
 */
async function runCopyPathsBench(options: PipelineOptions, seconds: number, rounds: number, cacheDir: string): Promise<number> {
  const out = options.out ?? timestampedRunDir('copy-paths');
  log(`bench --copy-paths: ${rounds} rounds of one boot without the series and one with it, ${seconds} s per measurement; results in ${out}`);
  const measured: { side: KernelSide; boot: number; row: BenchRow }[] = [];
  const reasons: string[] = [];
  let exitCode: number = ExitCode.pass;
  for (let round = 1; round <= rounds; round++) {
    for (const side of ['pristine', 'series'] as const) {
      log(`bench --copy-paths: round ${round} of ${rounds}, ${side}`);
      const dir = join(out, `${side}-${round}`);
      const boot = await benchBoot({ ...options, applySeries: side === 'series' }, seconds, 1, dir, cacheDir, true);
      if (boot.code !== ExitCode.pass || boot.rows.length === 0) {
        reasons.push(`${side}, round ${round}: the benchmark boot ended with exit ${boot.code} and ${boot.rows.length} rows (see ${dir})`);
        exitCode = worstExitCode([exitCode, boot.code === ExitCode.pass ? ExitCode.testFailure : boot.code]);
      }
      measured.push(...boot.rows.map((row) => ({ side, boot: round, row })));
    }
  }
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
  (options.json ? process.stderr : process.stdout).write(`\n${table}\n\n${verdict}\nbench --copy-paths: ${files.json}, table ${files.table}, chart ${files.svg}\n`);
  if (options.json) process.stdout.write(`${JSON.stringify({ command: 'bench', copyPaths: true, exitCode, reasons, counts, runDir: out, rows, files })}\n`);
  return exitCode;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = parseCommandLine(argv);
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return command === undefined && !values.help ? ExitCode.usage : ExitCode.pass;
  }
  if (!isCommandName(command)) throw new RbmapError('E_USAGE', `unknown command ${command}`, { hint: 'rbmap --help lists the commands' });
  if (positionals.length > 1) {
    throw new RbmapError('E_USAGE', `unexpected arguments: ${positionals.slice(1).join(' ')}`, { hint: 'rbmap --help' });
  }
  checkCommandOptions(command, tokens.flatMap((token) => (token.kind === 'option' ? [token.name] : [])));
  const options = pipelineOptions(values);
  const given = new Set(tokens.flatMap((token) => (token.kind === 'option' ? [token.name] : [])));
  try {
    return await runCommand(command, options, values, given);
  } catch (error) {
    // With --json, stdout carries one object even when the command fails before its summary.
    if (options.json && error instanceof RbmapError) {
      const { code, message, hint } = error;
      process.stdout.write(`${JSON.stringify({ command, exitCode: error.exitCode, error: { code, message, hint } })}\n`);
    }
    throw error;
  }
}

/**
 * rbmap regress. Its own defaults where the user gave none: the selftests variant, one
 * vCPU (under TCG with two, ftrace's live code patching hangs pristine 6.1 too), and
 * limits that fit ftracetest's longest cases.
 */
async function runRegressCommand(options: PipelineOptions, given: ReadonlySet<string>, cacheDir: string): Promise<number> {
  const outDir = options.out ?? timestampedRunDir('regress');
  const result = await runRegress({
    ...options,
    variant: given.has('variant') ? options.variant : variantNamed('selftests'),
    smp: given.has('smp') ? options.smp : 1,
    timeoutS: given.has('timeout') ? options.timeoutS : 2400,
    watchdogS: given.has('watchdog') ? options.watchdogS : 600,
    outDir,
    cacheDir,
    runsDir: runsRoot(),
    log,
  });
  const [pristine, series] = result.sides;
  const consoleLines = result.sides.map((side) => {
    const found = side.findings.map((f) => `${f.kind} (line ${f.line})`).join(', ');
    return `console   ${side.side}: ${found === '' ? 'clean' : found} (${join(side.dir, 'console.log')})`;
  });
  const text = `${result.table}\n${consoleLines.join('\n')}\n`;
  const verdict = result.reasons.length === 0 ? 'regress: pass' : `regress: exit ${result.exitCode}\n${result.reasons.map((r) => `  - ${r}`).join('\n')}`;
  (options.json ? process.stderr : process.stdout).write(`\n${text}\n${verdict}\nregress: ${result.files.json}, table ${result.files.table}\n`);
  if (options.json) {
    const counts = { pristine: pristine?.counts, series: series?.counts };
    process.stdout.write(`${JSON.stringify({ command: 'regress', exitCode: result.exitCode, reasons: result.reasons, outDir, counts, files: result.files })}\n`);
  }
  return result.exitCode;
}

async function runCommand(
  command: CommandName,
  options: PipelineOptions,
  values: ReturnType<typeof parseCommandLine>['values'],
  given: ReadonlySet<string>,
): Promise<number> {
  const cacheDir = cacheRoot();
  const hackDir = values.dir ?? values.tree ?? join(projectRoot, '.rbmap', 'linux');
  switch (command) {
    case 'doctor':
      await doctor(options.arch, { install: values.install, log });
      return ExitCode.pass;
    case 'run': {
      const mode = values['guest-mode'];
      if (mode !== 'test' && mode !== 'hang' && mode !== 'crash') {
        throw new RbmapError('E_USAGE', `--guest-mode ${mode}: expected test, hang or crash`, { hint: 'rbmap --help' });
      }
      return finishRun('run', await runPipeline({ ...options, cacheDir, runsDir: runsRoot(), guestMode: mode as GuestMode, log }), options.json);
    }
    case 'stress': {
      // The guest's seeded stress test alone, for as long as asked; its seed is printed.
      const seconds = positiveIntOption('seconds', values.seconds ?? '60');
      const stressSeed = options.stressSeed ?? Math.floor(Math.random() * 1_000_000_000);
      log(`stress: ${seconds} s, seed ${stressSeed} (replay with --seed ${stressSeed})`);
      const result = await runPipeline({
        ...options,
        filter: '^stress:',
        stressSeconds: seconds,
        stressSeed,
        testTimeoutS: Math.max(options.testTimeoutS, seconds + 120),
        timeoutS: Math.max(options.timeoutS, seconds + 600),
        watchdogS: Math.max(options.watchdogS, seconds + 120),
        cacheDir,
        runsDir: runsRoot(),
        guestMode: 'test',
        log,
      });
      return finishRun('stress', result, false);
    }
    case 'bench': {
      const seconds = positiveIntOption('seconds', values.seconds ?? '5');
      const rounds = positiveIntOption('rounds', values.rounds ?? '3');
      if (!values['copy-paths']) return runBench(options, seconds, rounds, cacheDir);
      if (!options.applySeries) throw new RbmapError('E_USAGE', '--copy-paths and --no-patches exclude each other', { hint: '--copy-paths boots the kernel without the series and with it itself' });
      return runCopyPathsBench(options, seconds, rounds, cacheDir);
    }
    case 'shell':
      return runShell({ ...options, cacheDir, runsDir: runsRoot(), guestMode: 'shell', log });
    case 'check': {
      const rows = await checkSeries({
        arch: options.arch,
        variant: options.variant,
        cacheDir,
        ...(options.kernelSrc !== undefined ? { kernelSrc: options.kernelSrc } : {}),
        ...(options.kernelVersion !== undefined ? { kernelVersion: options.kernelVersion } : {}),
        extraFragments: options.extraFragments,
        keepGoing: options.keepGoing,
        reportDir: join(projectRoot, '.rbmap', 'check'),
        log,
      });
      const exitCode = rows.some(rowFailed) ? ExitCode.testFailure : ExitCode.pass;
      (options.json ? process.stderr : process.stdout).write(`${formatCheck(rows)}\n`);
      if (options.json) process.stdout.write(`${JSON.stringify({ command: 'check', exitCode, rows })}\n`);
      return exitCode;
    }
    case 'matrix': {
      const outDir = options.out ?? join(runsRoot(), `matrix-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      const { out: _out, json: _json, kernelVersion: _version, kernelSrc: _src, ...rest } = options;
      const { rows, exitCode, files } = await runMatrix({ ...rest, versions: values.versions, outDir, cacheDir, runsDir: runsRoot(), guestMode: 'test', log });
      (options.json ? process.stderr : process.stdout).write(`\n${formatMatrix(rows)}\n\nmatrix: exit ${exitCode}; ${files.json}, JUnit ${files.junit}\n`);
      if (options.json) process.stdout.write(`${JSON.stringify({ command: 'matrix', exitCode, outDir, rows, files })}\n`);
      return exitCode;
    }
    case 'regress':
      return runRegressCommand(options, given, cacheDir);
    case 'hack':
      await createHackTree({ cacheDir, dir: hackDir, force: values.force, log });
      return ExitCode.pass;
    case 'export':
      await exportHackTree({ dir: hackDir, base: values.base, log });
      return ExitCode.pass;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof RbmapError) {
      log(`rbmap: error [${error.code}]: ${error.message}`);
      if (error.hint !== undefined) log(`rbmap: what to do: ${error.hint}`);
      process.exitCode = error.exitCode;
    } else {
      log(`rbmap: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      log('rbmap: what to do: this is a bug in the harness; please report it with the command line you used');
      process.exitCode = ExitCode.setupError;
    }
  },
);
