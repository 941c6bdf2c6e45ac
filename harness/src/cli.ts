#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatMatrix, runMatrix } from './matrix.js';
import { benchRows, formatBenchTable, formatLossSpreads, lossSpreads, parseBenchResults, writeBenchFiles } from './bench.js';
import { checkSeries, formatCheck, rowFailed } from './check.js';
import { doctor } from './doctor.js';
import { ExitCode, RbmapError } from './errors.js';
import { createHackTree, exportHackTree } from './hack.js';
import {
  checkCommandOptions, isCommandName, parseCommandLine, pipelineOptions, positiveIntOption, type CommandName, type PipelineOptions,
} from './options.js';
import { runArtifactPaths } from './report.js';
import { cacheRoot, projectRoot, runsRoot } from './paths.js';
import { runPipeline, runShell, type GuestMode } from './run.js';

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
  bench [--seconds N] [--rounds R]
                       the reader benchmark: read(), splice() and the mapping (C and
                       TypeScript) against one writer, two ring sizes, three rates, N seconds
                       each (default 5), the 32 KB read()/mapping loss rows R times (default 3);
                       a table, and bench.json + bench.svg in the run folder
  matrix [--versions all|V,V,...]
                       per Debian linux-source-6.1 version (apt-cache madison): check, then run
                       the suite; one table, matrix.json and matrix.xml; exit = the worst row
  hack [--dir DIR]     a git work tree with the series as commits, for editing it
  export [--tree DIR]  write the hack tree's commits back to kernel-patches/

options that choose the kernel (run, shell, check, stress, bench; matrix the last three):
  --kernel-src DIR         build this tree instead of Debian's linux-source-6.1
  --kernel-version V       Debian's linux-source-6.1 of version V (apt-cache madison
                           linux-source-6.1), fetched from the archive into the cache
  --no-patches             do not apply kernel-patches/ (tree used as it is)
  --config-fragment FILE   merge this fragment too (repeatable); every option is verified
  --arch NAME              architecture record from vm/ (default x86_64; also doctor, hack)
  --variant NAME           default, or debug: KASAN, lockdep and RCU checks (with perf events),
                           DEBUG_VM, DEBUG_PAGEALLOC, fault injection; its own build folder
options that boot it (run, shell, stress, bench, matrix):
  --rootfs FILE            boot this initramfs (cpio, optionally gzip) instead of building ours
  --smp N                  guest CPUs (default 2)
  --mem MB                 guest memory (default 1024, at least 256)
  --kvm auto|kvm|tcg       accelerator; auto probes KVM once and falls back to TCG (default auto)
  --out DIR                run folder (default .rbmap/runs/<time>)
options of a guest run (run, stress, bench, matrix):
  --timeout S              whole guest run limit (default 900)
  --boot-timeout S         time allowed to reach the guest's /init (default 120)
  --watchdog S             end the guest after S seconds without any output (default 180)
  --test-timeout S         per guest test limit (default 120)
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
  --json                   run, check, bench, matrix: the summary as one JSON object on stdout
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

/** The benchmark's guest test alone with the full matrix, then its table, bench.json and bench.svg. */
async function runBench(options: PipelineOptions, seconds: number, rounds: number, cacheDir: string): Promise<number> {
  const out = options.out ?? join(runsRoot(), `bench-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  log(`bench: ${seconds} s per measurement, the small-ring loss rows ${rounds} times; results in ${out}`);
  const measurements = 24 + 4 * (rounds - 1);
  const code = await runPipeline({
    ...options,
    json: false,
    out,
    filter: '^bench:',
    benchSeconds: seconds,
    benchRounds: rounds,
    testTimeoutS: Math.max(options.testTimeoutS, measurements * (seconds + 30) + 60),
    timeoutS: Math.max(options.timeoutS, measurements * (seconds + 30) + 300),
    cacheDir,
    runsDir: runsRoot(),
    guestMode: 'test',
    log,
  });
  const tap = runArtifactPaths(out).tap;
  const rows = benchRows(parseBenchResults(existsSync(tap) ? readFileSync(tap, 'utf8') : ''));
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
  try {
    return await runCommand(command, options, values);
  } catch (error) {
    // With --json, stdout carries one object even when the command fails before its summary.
    if (options.json && error instanceof RbmapError) {
      const { code, message, hint } = error;
      process.stdout.write(`${JSON.stringify({ command, exitCode: error.exitCode, error: { code, message, hint } })}\n`);
    }
    throw error;
  }
}

async function runCommand(command: CommandName, options: PipelineOptions, values: ReturnType<typeof parseCommandLine>['values']): Promise<number> {
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
      return runPipeline({ ...options, cacheDir, runsDir: runsRoot(), guestMode: mode as GuestMode, log });
    }
    case 'stress': {
      // The guest's seeded stress test alone, for as long as asked; its seed is printed.
      const seconds = positiveIntOption('seconds', values.seconds ?? '60');
      const stressSeed = options.stressSeed ?? Math.floor(Math.random() * 1_000_000_000);
      log(`stress: ${seconds} s, seed ${stressSeed} (replay with --seed ${stressSeed})`);
      return runPipeline({
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
    }
    case 'bench':
      return runBench(options, positiveIntOption('seconds', values.seconds ?? '5'), positiveIntOption('rounds', values.rounds ?? '3'), cacheDir);
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
    case 'hack':
      await createHackTree({ cacheDir, dir: hackDir, force: values.force, log, arch: options.arch });
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
