import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildAddon, buildGuestPrograms } from './addon.js';
import { bootOutcomeError, runQemu } from './boot.js';
import { scanConsoleFile } from './consoleScan.js';
import { guestCommandLineWords, type GuestMode as ContractGuestMode } from './contract.js';
import { RbmapError } from './errors.js';
import { prepareKernel, type PreparedKernel } from './kernel.js';
import { parseKtap } from './ktap.js';
import { chooseAccel } from './kvm.js';
import type { PipelineOptions } from './options.js';
import { projectPaths } from './paths.js';
import { buildQemuArgs, type Accel, type QemuOptions } from './qemu.js';
import { buildSummary, runArtifactPaths, writeSummaryFiles, type RunArtifacts, type RunSummary } from './report.js';
import { buildRootfs } from './rootfs.js';
import { parseTap } from './tap.js';
import { hostDebianArch } from '../../vm/index.js';
import { debianUserland } from './userland.js';

/** What the guest does this boot (the KVM probe's mode is kvm.ts's own). */
export type GuestMode = Exclude<ContractGuestMode, 'probe'>;

/** What the pipeline needs; it prints progress only, so whether the command prints JSON is not its business. */
export interface RunRequest extends Omit<PipelineOptions, 'json'> {
  cacheDir: string;
  runsDir: string;
  guestMode: GuestMode;
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

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

async function makeRunDir(request: RunRequest): Promise<RunArtifacts> {
  const dir = request.out ?? join(request.runsDir, `${stamp(new Date())}-${request.guestMode}`);
  await mkdir(dir, { recursive: true });
  if (request.out === undefined) {
    const latest = join(request.runsDir, 'latest');
    await rm(latest, { force: true });
    await symlink(dir, latest).catch(() => undefined);
  }
  const artifacts = runArtifactPaths(dir);
  for (const f of [artifacts.tap, artifacts.ktap, artifacts.status]) await rm(f, { force: true });
  return artifacts;
}

/** The kernel (source → patch → config → build) and the initramfs. */
export async function prepareGuest(request: RunRequest, timings: Timings): Promise<{ kernel: PreparedKernel; initrd: string }> {
  // Before the kernel build, so that a missing package stops the run at once: a guest of
  // another architecture than the host's runs Debian's busybox and Node.js of its own.
  const foreign = request.rootfs === undefined && request.arch.debianArch !== hostDebianArch();
  const userland = foreign
    ? await timed(timings, 'userland', () => debianUserland({ cacheDir: request.cacheDir, debianArch: request.arch.debianArch, log: request.log }))
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
        initPath: projectPaths.rootfsInit,
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

/** What one run of the pipeline produced: the summary (also in summary.json), its folder and timings. */
export interface PipelineResult {
  readonly summary: RunSummary;
  readonly runDir: string;
  readonly timingsMs: Readonly<Record<string, number>>;
}

/** The whole pipeline; prints progress only (the caller prints the report). */
export async function runPipeline(request: RunRequest): Promise<PipelineResult> {
  const started = Date.now();
  const timings: Timings = {};
  const artifacts = await makeRunDir(request);
  request.log(`run: artifacts in ${artifacts.runDir}`);
  const { kernel, initrd } = await prepareGuest(request, timings);
  const choice = await timed(timings, 'accel', () =>
    chooseAccel({ mode: request.kvm, arch: request.arch, kernel: kernel.build.image, initrd, cacheDir: request.cacheDir, log: request.log }),
  );
  const accel = choice.accel;
  request.log(`accel: ${accel} (${choice.why}${choice.cached ? ', cached verdict' : ''})`);
  const qemu = qemuOptions(request, kernel, initrd, accel, artifacts);
  const limits = { bootTimeoutMs: request.bootTimeoutS * 1000, runTimeoutMs: request.timeoutS * 1000, watchdogMs: request.watchdogS * 1000 };
  request.log(`boot: ${request.arch.qemuBinary} (${accel}, ${request.smp} CPUs, ${request.memMb} MB)`);
  const outcome = await timed(timings, 'guest', () =>
    runQemu({
      command: request.arch.qemuBinary,
      args: buildQemuArgs(qemu),
      consoleLogPath: artifacts.consoleLog,
      ...limits,
      watchedFiles: [artifacts.tap, artifacts.ktap, artifacts.status],
      ...(request.verbose ? { onLine: (line: string) => process.stderr.write(`  | ${line}\n`) } : {}),
    }),
  );
  const read = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');
  const expectKunit = kernel.seriesState !== 'not-requested' && request.guestMode === 'test';
  const tapText = read(artifacts.tap);
  const summary = buildSummary({
    boot: outcome,
    guestTap: parseTap(tapText, { defaultSuite: 'guest' }),
    tapText,
    kunit: parseKtap(read(artifacts.ktap), expectKunit ? { expectedSuites: seriesKunitSuites } : {}),
    findings: scanConsoleFile(artifacts.consoleLog),
    statusText: read(artifacts.status),
    artifacts,
  });
  timings['total'] = Date.now() - started;
  if (outcome.bootMs !== null) timings['boot-to-init'] = outcome.bootMs;
  const testsStartMs = outcome.firstOutputMs[artifacts.tap];
  if (testsStartMs !== undefined) timings['boot-to-first-test'] = testsStartMs;
  writeSummaryFiles(summary);
  const context = {
    kernel: { tree: kernel.tree.label, srcDir: kernel.srcDir, buildDir: kernel.buildDir, series: kernel.seriesState, rebuilt: kernel.build.ran, image: kernel.build.image },
    initrd,
    accel,
    timingsMs: timings,
  };
  await writeFile(join(artifacts.runDir, 'run.json'), `${JSON.stringify(context, null, 2)}\n`);
  return { summary, runDir: artifacts.runDir, timingsMs: timings };
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
  const artifacts = await makeRunDir(request);
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
