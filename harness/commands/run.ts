import { existsSync, readFileSync } from 'node:fs';
import { buildAddon, buildGuestPrograms } from '../rootfs/addon.js';
import { bootOutcomeError, runQemu, type BootOutcome } from '../boot/boot.js';
import { scanConsoleFile } from '../boot/consoleScan.js';
import { guestCommandLineWords, type GuestMode } from '../../guest/contract.js';
import { RbmapError } from '../common/errors.js';
import { prepareKernel, type PreparedKernel } from '../build/kernel.js';
import { parseKtap } from '../results/ktap.js';
import { chooseAccel, type AccelMode } from '../boot/kvm.js';
import { projectPaths } from '../common/paths.js';
import { buildQemuArgs, type Accel, type QemuOptions } from '../boot/qemu.js';
import { buildSummary, writeSummaryFiles, type RunSummary } from '../results/report.js';
import { guestRunFolder, writeRunRecord, type RunArtifacts, type RunRecord } from '../common/runFolder.js';
import { buildRootfs } from '../rootfs/rootfs.js';
import { parseTap } from '../results/nodeTap.js';
import { isHostArch, type ArchRecord } from '../../vm/index.js';
import { fetchDebianUserland } from '../rootfs/userland.js';
import type { VariantRecord } from '../build/variants.js';

/** What one run of the pipeline takes: the kernel, how to boot it, the guest's mode and options. */
export interface RunRequest {
  arch: ArchRecord;
  variant: VariantRecord;
  /** Build this tree; absent: Debian's linux-source-6.1. */
  kernelSrc?: string;
  /** Debian's linux-source-6.1 of this version, fetched from the archive. */
  kernelVersion?: string;
  applySeries: boolean;
  /** Boot this initramfs instead of building ours. */
  rootfs?: string;
  extraFragments: string[];
  smp: number;
  memMb: number;
  timeoutS: number;
  bootTimeoutS: number;
  watchdogS: number;
  testTimeoutS: number;
  filter?: string;
  keepGoing: boolean;
  /** How long the seeded stress test runs in the guest. */
  stressSeconds: number;
  /** Its seed; drawn at random (and printed) when absent. */
  stressSeed?: number;
  /** The reader benchmark's full matrix (rbmap bench), seconds per measurement; absent: the short run. */
  benchSeconds?: number;
  /** Its small-ring loss rows, measured this many times each (interleaved). */
  benchRounds?: number;
  /** The benchmark's read() and splice() rows only (a kernel without the series). */
  benchCopyPathsOnly?: boolean;
  kvm: AccelMode;
  /** The run folder (runFolder.ts); made if missing. */
  out: string;
  verbose: boolean;
  cacheDir: string;
  guestMode: GuestMode;
  /** Progress lines; the pipeline prints nothing else. */
  log: (line: string) => void;
}

/** KUnit suites the series adds; their absence from the KTAP stream is a failure. */
export const seriesKunitSuites = ['ring_buffer_map'];

/** Wall time of each stage, in ms, for the summary and the closing report. */
type Timings = Record<string, number>;

async function timed<T>(timings: Timings, stage: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings[stage] = Date.now() - started;
  }
}

/** The kernel (source → patch → config → build) and the initramfs. */
export async function prepareGuest(request: Omit<RunRequest, 'out'>, timings: Timings): Promise<{ kernel: PreparedKernel; initrd: string }> {
  // Before the kernel build, so that a missing package stops the run at once: a guest of
  // another architecture than the host's runs Debian's busybox and Node.js of its own.
  const foreign = request.rootfs === undefined && !isHostArch(request.arch);
  const userland = foreign
    ? await timed(timings, 'userland', () => fetchDebianUserland({ cacheDir: request.cacheDir, arch: request.arch, log: request.log }))
    : undefined;
  const kernel = await timed(timings, 'kernel', () =>
    prepareKernel({
      arch: request.arch,
      cacheDir: request.cacheDir,
      ...(request.kernelSrc !== undefined ? { kernelSrc: request.kernelSrc } : {}),
      ...(request.kernelVersion !== undefined ? { kernelVersion: request.kernelVersion } : {}),
      applySeries: request.applySeries,
      extraFragments: request.extraFragments,
      variant: request.variant,
      log: request.log,
    }),
  );
  let initrd: string;
  if (request.rootfs !== undefined) {
    if (!existsSync(request.rootfs)) {
      throw new RbmapError('E_ROOTFS', `--rootfs ${request.rootfs} does not exist`, { hint: 'give the path of a cpio (optionally gzip) initramfs' });
    }
    request.log(`rootfs: using ${request.rootfs} as given (its /init must follow docs/internals.md)`);
    initrd = request.rootfs;
  } else {
    initrd = await timed(timings, 'rootfs', async () => {
      const native = { cacheDir: request.cacheDir, crossCompile: request.arch.crossCompile, log: request.log };
      const addonPath = await buildAddon(native);
      const programs = await buildGuestPrograms(native);
      const image = await buildRootfs({
        cacheDir: request.cacheDir,
        architecture: request.arch.name,
        addonPath,
        programs,
        guestTrees: projectPaths.guestTrees,
        initPath: projectPaths.guestInit,
        ...(userland !== undefined ? { userland } : {}),
        log: request.log,
      });
      request.log(`rootfs: ${image.path} (${(image.bytes / 1e6).toFixed(1)} MB, ${image.rebuilt ? 'built' : 'cached'})`);
      return image.path;
    });
  }
  return { kernel, initrd };
}

function guestCommandLine(request: RunRequest): string[] {
  return guestCommandLineWords({
    mode: request.guestMode,
    testTimeoutS: request.testTimeoutS,
    filter: request.filter,
    keepGoing: request.keepGoing,
    stressSeconds: request.stressSeconds,
    stressSeed: request.stressSeed,
    benchSeconds: request.benchSeconds,
    benchRounds: request.benchRounds,
    benchCopyPathsOnly: request.benchCopyPathsOnly,
  });
}

function qemuOptions(request: RunRequest, kernel: PreparedKernel, initrd: string, accel: Accel, artifacts: RunArtifacts): QemuOptions {
  return {
    arch: request.arch,
    kernel: kernel.build.image,
    initrd,
    smp: request.smp,
    memMb: request.memMb,
    accel,
    append: guestCommandLine(request),
    channels: { tap: artifacts.tap, ktap: artifacts.ktap, status: artifacts.status },
    interactive: request.guestMode === 'shell',
  };
}

/** What one run of the pipeline produced; summary.json and run.json hold the same. */
export interface PipelineResult {
  readonly summary: RunSummary;
  readonly record: RunRecord;
  readonly runDir: string;
  readonly timingsMs: Readonly<Record<string, number>>;
  /** The guest tests' TAP stream as it came (bench results travel in its comments). */
  readonly guestTap: string;
}

/** The guest's result streams into a summary, once QEMU has ended. */
function summarise(request: RunRequest, kernel: PreparedKernel, outcome: BootOutcome, artifacts: RunArtifacts): { summary: RunSummary; guestTap: string } {
  const read = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  const expectKunit = kernel.seriesState !== 'not-requested' && request.guestMode === 'test';
  const guestTap = read(artifacts.tap);
  const summary = buildSummary({
    boot: outcome,
    guestTap: parseTap(guestTap, { defaultSuite: 'guest' }),
    tapText: guestTap,
    kunit: parseKtap(read(artifacts.ktap), expectKunit ? { expectedSuites: seriesKunitSuites } : {}),
    findings: scanConsoleFile(artifacts.consoleLog),
    statusText: read(artifacts.status),
    artifacts,
  });
  return { summary, guestTap };
}

function bootTimings(timings: Timings, outcome: BootOutcome, artifacts: RunArtifacts): void {
  if (outcome.bootMs !== null) timings['boot-to-init'] = outcome.bootMs;
  const testsStartMs = outcome.firstOutputMs[artifacts.tap];
  if (testsStartMs !== undefined) timings['boot-to-first-test'] = testsStartMs;
}

/** The whole pipeline; prints progress only (the caller prints the report). */
export async function runPipeline(request: RunRequest): Promise<PipelineResult> {
  const started = Date.now();
  const timings: Timings = {};
  const artifacts = guestRunFolder(request.out);
  request.log(`run: artifacts in ${artifacts.runDir}`);
  const { kernel, initrd } = await prepareGuest(request, timings);
  const choice = await timed(timings, 'accel', () =>
    chooseAccel({ mode: request.kvm, arch: request.arch, kernel: kernel.build.image, initrd, cacheDir: request.cacheDir, log: request.log }),
  );
  const { accel } = choice;
  request.log(`accel: ${accel} (${choice.why}${choice.cached ? ', cached verdict' : ''})`);
  const qemu = { binary: request.arch.qemuBinary, argv: buildQemuArgs(qemuOptions(request, kernel, initrd, accel, artifacts)) };
  request.log(`boot: ${qemu.binary} (${accel}, ${request.smp} CPUs, ${request.memMb} MB)`);
  const outcome = await timed(timings, 'guest', () =>
    runQemu({
      command: qemu.binary,
      args: qemu.argv,
      consoleLogPath: artifacts.consoleLog,
      bootTimeoutMs: request.bootTimeoutS * 1000,
      runTimeoutMs: request.timeoutS * 1000,
      watchdogMs: request.watchdogS * 1000,
      watchedFiles: [artifacts.tap, artifacts.ktap, artifacts.status],
      ...(request.verbose ? { onLine: (line: string) => process.stderr.write(`  | ${line}\n`) } : {}),
    }),
  );
  const { summary, guestTap } = summarise(request, kernel, outcome, artifacts);
  timings['total'] = Date.now() - started;
  bootTimings(timings, outcome, artifacts);
  writeSummaryFiles(summary);
  const { tree, srcDir, buildDir, seriesState, build } = kernel;
  const record: RunRecord = {
    arch: request.arch.name,
    kernel: { tree: tree.label, srcDir, buildDir, series: seriesState, rebuilt: build.ran, image: build.image },
    initrd,
    accel,
    qemu,
    timingsMs: timings,
  };
  writeRunRecord(artifacts, record);
  return { summary, record, runDir: artifacts.runDir, timingsMs: timings, guestTap };
}

/** One line: each stage's time in seconds. */
export function formatTimings(timingsMs: Readonly<Record<string, number>>): string {
  return `timings: ${Object.entries(timingsMs)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
    .join(', ')}`;
}

/** Boots the same kernel and rootfs with an interactive shell on the console. */
export async function runShell(request: RunRequest): Promise<number> {
  const timings: Timings = {};
  const artifacts = guestRunFolder(request.out);
  const { kernel, initrd } = await prepareGuest(request, timings);
  const { accel } = await chooseAccel({ mode: request.kvm, arch: request.arch, kernel: kernel.build.image, initrd, cacheDir: request.cacheDir, log: request.log });
  request.log('shell: tracefs is at /sys/kernel/tracing; try: rbmap-cat --cpu 0 --follow');
  request.log('shell: leave with exit (or Ctrl-A x)');
  const outcome = await runQemu({
    command: request.arch.qemuBinary,
    args: buildQemuArgs(qemuOptions(request, kernel, initrd, accel, artifacts)),
    consoleLogPath: artifacts.consoleLog,
    bootTimeoutMs: 0,
    runTimeoutMs: 0,
    watchdogMs: 0,
    interactive: true,
  });
  const error = bootOutcomeError(outcome, { bootTimeoutMs: 0, runTimeoutMs: 0, watchdogMs: 0 });
  if (error !== null) throw error;
  return 0;
}
