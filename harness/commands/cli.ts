#!/usr/bin/env node
import { join } from 'node:path';
import { runBench, runCopyPathsBench } from './benchCommand.js';
import { checkSeries, formatCheck, rowFailed } from './check.js';
import { doctor } from './doctor.js';
import { RbmapError } from '../common/errors.js';
import { finishRun, focusedRunRequest, runFolderOf, runRequest } from './guestRuns.js';
import { createHackTree, exportHackTree } from '../source/hack.js';
import { formatMatrix, runMatrix } from './matrix.js';
import {
  checkCommandOptions, isCommandName, parseCommandLine, pipelineOptions, positiveIntOption, type CommandName, type PipelineOptions,
} from './options.js';
import { ExitCode, exitCodeOf } from '../common/outcome.js';
import { log, printHuman, printJson } from './output.js';
import { cacheRoot, projectRoot } from '../common/paths.js';
import { runRegress } from './regress.js';
import { runPipeline, runShell } from './run.js';
import { variantNamed } from '../build/variants.js';

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
  --out DIR                run folder (default .rbmap/runs/<time>-<kind>, kind: the command,
                           or the guest mode for run)
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
    return await commands[command]({ options, values, given });
  } catch (error) {
    // With --json, stdout carries one object even when the command fails before its summary.
    if (error instanceof RbmapError) {
      const { code, message, hint } = error;
      printJson(options.json, { command, exitCode: error.exitCode, error: { code, message, hint } });
    }
    throw error;
  }
}

interface CommandContext {
  options: PipelineOptions;
  values: ReturnType<typeof parseCommandLine>['values'];
  /** The options given on the command line (not defaulted). */
  given: ReadonlySet<string>;
}

async function runCommand({ options, values }: CommandContext): Promise<number> {
  const mode = values['guest-mode'];
  if (mode !== 'test' && mode !== 'hang' && mode !== 'crash') {
    throw new RbmapError('E_USAGE', `--guest-mode ${mode}: expected test, hang or crash`, { hint: 'rbmap --help' });
  }
  return finishRun('run', await runPipeline(runRequest(options, mode, runFolderOf(options, mode))), options.json);
}

/** The guest's seeded stress test alone, for as long as asked; its seed is printed. */
async function stressCommand({ options, values }: CommandContext): Promise<number> {
  const seconds = positiveIntOption('seconds', values.seconds ?? '60');
  const stressSeed = options.stressSeed ?? Math.floor(Math.random() * 1_000_000_000);
  log(`stress: ${seconds} s, seed ${stressSeed} (replay with --seed ${stressSeed})`);
  const request = focusedRunRequest(options, runFolderOf(options, 'stress'), { filter: '^stress:', workS: seconds, slackS: { test: 120, run: 600, watchdog: 120 } });
  return finishRun('stress', await runPipeline({ ...request, stressSeconds: seconds, stressSeed }), options.json);
}

async function benchCommand({ options, values }: CommandContext): Promise<number> {
  const bench = { seconds: positiveIntOption('seconds', values.seconds ?? '5'), rounds: positiveIntOption('rounds', values.rounds ?? '3') };
  if (!values['copy-paths']) return runBench(options, bench);
  if (!options.applySeries) throw new RbmapError('E_USAGE', '--copy-paths and --no-patches exclude each other', { hint: '--copy-paths boots the kernel without the series and with it itself' });
  return runCopyPathsBench(options, bench);
}

async function checkCommand({ options }: CommandContext): Promise<number> {
  const rows = await checkSeries({
    arch: options.arch,
    variant: options.variant,
    cacheDir: cacheRoot(),
    ...(options.kernelSrc !== undefined ? { kernelSrc: options.kernelSrc } : {}),
    ...(options.kernelVersion !== undefined ? { kernelVersion: options.kernelVersion } : {}),
    extraFragments: options.extraFragments,
    keepGoing: options.keepGoing,
    reportDir: join(projectRoot, '.rbmap', 'check'),
    log,
  });
  const exitCode = exitCodeOf(rows.some(rowFailed) ? 'test-failure' : 'pass');
  printHuman(options.json, formatCheck(rows));
  printJson(options.json, { command: 'check', exitCode, rows });
  return exitCode;
}

async function matrixCommand({ options, values }: CommandContext): Promise<number> {
  const outDir = runFolderOf(options, 'matrix');
  const { out: _out, json: _json, kernelVersion: _version, kernelSrc: _src, ...rest } = options;
  const { rows, exitCode, files } = await runMatrix({ ...rest, versions: values.versions, outDir, cacheDir: cacheRoot(), guestMode: 'test', log });
  printHuman(options.json, `\n${formatMatrix(rows)}\n\nmatrix: exit ${exitCode}; ${files.json}, JUnit ${files.junit}`);
  printJson(options.json, { command: 'matrix', exitCode, outDir, rows, files });
  return exitCode;
}

const hackDirOf = (values: CommandContext['values']): string => values.dir ?? values.tree ?? join(projectRoot, '.rbmap', 'linux');

const commands: Readonly<Record<CommandName, (context: CommandContext) => Promise<number>>> = {
  doctor: async ({ options, values }) => {
    await doctor(options.arch, { install: values.install, log });
    return ExitCode.pass;
  },
  run: runCommand,
  stress: stressCommand,
  bench: benchCommand,
  shell: ({ options }) => runShell(runRequest(options, 'shell', runFolderOf(options, 'shell'))),
  check: checkCommand,
  matrix: matrixCommand,
  regress: regressCommand,
  hack: async ({ values }) => {
    await createHackTree({ cacheDir: cacheRoot(), dir: hackDirOf(values), force: values.force, log });
    return ExitCode.pass;
  },
  export: async ({ values }) => {
    await exportHackTree({ dir: hackDirOf(values), base: values.base, log });
    return ExitCode.pass;
  },
};

/**
 * rbmap regress. Its own defaults where the user gave none: the selftests variant, one
 * vCPU (under TCG with two, ftrace's live code patching hangs pristine 6.1 too), and
 * limits that fit ftracetest's longest cases.
 */
async function regressCommand({ options, given }: CommandContext): Promise<number> {
  const outDir = runFolderOf(options, 'regress');
  const result = await runRegress({
    ...options,
    variant: given.has('variant') ? options.variant : variantNamed('selftests'),
    smp: given.has('smp') ? options.smp : 1,
    timeoutS: given.has('timeout') ? options.timeoutS : 2400,
    watchdogS: given.has('watchdog') ? options.watchdogS : 600,
    outDir,
    cacheDir: cacheRoot(),
    log,
  });
  const [pristine, series] = result.sides;
  const consoleLines = result.sides.map((side) => {
    const found = side.findings.map((f) => `${f.kind} (line ${f.line})`).join(', ');
    return `console   ${side.side}: ${found === '' ? 'clean' : found} (${join(side.dir, 'console.log')})`;
  });
  const text = `${result.table}\n${consoleLines.join('\n')}\n`;
  const verdict = result.reasons.length === 0 ? 'regress: pass' : `regress: exit ${result.exitCode}\n${result.reasons.map((r) => `  - ${r}`).join('\n')}`;
  printHuman(options.json, `\n${text}\n${verdict}\nregress: ${result.files.json}, table ${result.files.table}`);
  const counts = { pristine: pristine?.counts, series: series?.counts };
  printJson(options.json, { command: 'regress', exitCode: result.exitCode, reasons: result.reasons, outDir, counts, files: result.files });
  return result.exitCode;
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
