import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { bootDoneMarker } from '../../guest/contract.js';
import { RbmapError } from '../common/errors.js';

export type BootEndReason = 'exited' | 'boot-timeout' | 'run-timeout' | 'watchdog' | 'qemu-error';

export interface BootOptions {
  /** QEMU binary (or a stand-in in tests). */
  command: string;
  args: string[];
  /** The whole console is appended here as it arrives. */
  consoleLogPath: string;
  /** The guest must print `bootMarker` within this time (0 = no limit). */
  bootTimeoutMs: number;
  /** Limit for the whole run, from spawn to exit (0 = no limit). */
  runTimeoutMs: number;
  /**
   * After the boot marker: end the run when neither the console nor any of
   * `watchedFiles` has grown for this long (0 = off). Before the marker the boot
   * timeout is the only guard.
   */
  watchdogMs: number;
  /** Result channel files whose growth counts as guest activity. */
  watchedFiles?: string[];
  bootMarker?: string;
  /** Called with each complete console line (no line terminator), e.g. for live echo. */
  onLine?: (line: string) => void;
  /**
   * The user's terminal is the console: stdin is inherited (QEMU puts it in raw mode),
   * the output is still copied to the log and to our stdout. No watchdog, no boot timeout.
   */
  interactive?: boolean;
  /** Time between SIGTERM and SIGKILL when QEMU has to be stopped. */
  killGraceMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface BootOutcome {
  reason: BootEndReason;
  qemuExitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** Time from spawn to the boot marker; null if it never appeared. */
  bootMs: number | null;
  /** Time from spawn to the first byte of each watched file that received any (ticker resolution). */
  firstOutputMs: Record<string, number>;
  /** Path of the console log file (the console itself, byte for byte). */
  consoleLog: string;
  /** Bytes of console output received. */
  consoleBytes: number;
  /** QEMU's own stderr (capped), or the spawn error. */
  stderr: string;
}

const stderrCap = 64 * 1024;
const streamDrainMs = 1000;

/** The console as it arrives: into the log file, the time of the boot marker, whole lines to onLine. */
class ConsoleSink {
  bytes = 0;
  bootMs: number | null = null;
  lastActivityAt: number;
  private markerWindow = '';
  private partialLine = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly fd: number;

  constructor(
    private readonly options: BootOptions,
    private readonly marker: string,
    private readonly startedAt: number,
  ) {
    mkdirSync(dirname(options.consoleLogPath), { recursive: true });
    this.fd = openSync(options.consoleLogPath, 'w');
    this.lastActivityAt = startedAt;
  }

  write(chunk: Buffer): void {
    writeSync(this.fd, chunk);
    this.bytes += chunk.length;
    this.lastActivityAt = Date.now();
    if (this.options.interactive === true) process.stdout.write(chunk);
    if (this.bootMs === null) {
      this.markerWindow += chunk.toString('latin1');
      if (this.markerWindow.includes(this.marker)) {
        this.bootMs = Date.now() - this.startedAt;
        this.markerWindow = '';
      } else {
        this.markerWindow = this.markerWindow.slice(-this.marker.length);
      }
    }
    const { onLine } = this.options;
    if (onLine !== undefined) {
      const lines = (this.partialLine + this.decoder.write(chunk)).split('\n');
      this.partialLine = lines.pop() ?? '';
      for (const line of lines) onLine(line.replace(/\r$/, ''));
    }
  }

  close(): void {
    this.partialLine += this.decoder.end();
    if (this.partialLine !== '' && this.options.onLine !== undefined) this.options.onLine(this.partialLine.replace(/\r$/, ''));
    closeSync(this.fd);
  }
}

/**
 * If this process exits or is interrupted while QEMU runs, take QEMU down with it
 * (`kill`), then die of the same signal. Returns the function that removes the hooks.
 */
function killWithThisProcess(kill: () => void, interactive: boolean): () => void {
  const onProcessExit = (): void => kill();
  const onSignal = (signal: NodeJS.Signals): void => {
    kill();
    remove();
    process.kill(process.pid, signal);
  };
  const forwardedSignals: NodeJS.Signals[] = interactive ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const remove = (): void => {
    process.off('exit', onProcessExit);
    for (const signal of forwardedSignals) process.off(signal, onSignal);
  };
  process.on('exit', onProcessExit);
  for (const signal of forwardedSignals) process.on(signal, onSignal);
  return remove;
}

/**
 * Every tick: a growing watched file counts as activity (and its first output is timed),
 * then the run timeout, the boot timeout (before the marker) and the no-output watchdog
 * (after it) are checked; `stop` ends QEMU.
 */
function watchActivity(
  options: BootOptions,
  consoleSink: ConsoleSink,
  startedAt: number,
  stop: (reason: BootEndReason) => void,
): { ticker: NodeJS.Timeout; firstOutputMs: Record<string, number> } {
  const batch = options.interactive !== true;
  const watchedSizes = new Map<string, number>();
  const firstOutputMs: Record<string, number> = {};
  const tickMs = Math.max(50, Math.min(500, Math.floor(minPositive(options.watchdogMs, options.bootTimeoutMs, 2000) / 4)));
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const file of options.watchedFiles ?? []) {
      const size = fileSize(file);
      if (size !== (watchedSizes.get(file) ?? 0)) {
        watchedSizes.set(file, size);
        consoleSink.lastActivityAt = now;
        firstOutputMs[file] ??= now - startedAt;
      }
    }
    const booted = consoleSink.bootMs !== null;
    if (options.runTimeoutMs > 0 && now - startedAt >= options.runTimeoutMs) stop('run-timeout');
    else if (batch && !booted && options.bootTimeoutMs > 0 && now - startedAt >= options.bootTimeoutMs) stop('boot-timeout');
    else if (batch && booted && options.watchdogMs > 0 && now - consoleSink.lastActivityAt >= options.watchdogMs) stop('watchdog');
  }, tickMs);
  return { ticker, firstOutputMs };
}

/**
 * Runs QEMU to its end and supervises it: console to the log file as it arrives,
 * boot timeout, run timeout and no-output watchdog, each ending QEMU with SIGTERM
 * then SIGKILL. Resolves once QEMU is gone; never leaves it running, not even when
 * this process is interrupted.
 */
export async function runQemu(options: BootOptions): Promise<BootOutcome> {
  const interactive = options.interactive === true;
  const startedAt = Date.now();
  const consoleSink = new ConsoleSink(options, options.bootMarker ?? bootDoneMarker, startedAt);
  const qemu = startQemu(options, consoleSink);
  const ender = new QemuEnder(qemu.child, interactive, options.killGraceMs ?? 3000);
  const removeProcessHooks = killWithThisProcess(() => ender.signal('SIGKILL'), interactive);
  const watch = watchActivity(options, consoleSink, startedAt, (reason) => ender.stop(reason));

  const exit = await qemu.exited;
  clearInterval(watch.ticker);
  ender.cancelKill();
  // A process that inherited the pipes (a script's child) can keep them open; don't wait forever.
  await waitForStreams(qemu.child, streamDrainMs);
  removeProcessHooks();
  consoleSink.close();

  let stderr = qemu.stderr();
  if (exit.spawnError !== null) stderr += `${stderr === '' ? '' : '\n'}could not start ${options.command}: ${exit.spawnError.message}`;
  const reason: BootEndReason = ender.reason ?? (exit.spawnError === null && exit.code === 0 ? 'exited' : 'qemu-error');
  return {
    reason,
    qemuExitCode: exit.code,
    signal: exit.signal,
    durationMs: Date.now() - startedAt,
    bootMs: consoleSink.bootMs,
    firstOutputMs: watch.firstOutputMs,
    consoleLog: options.consoleLogPath,
    consoleBytes: consoleSink.bytes,
    stderr,
  };
}

interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError: Error | null;
}

/** QEMU started: its console into the sink, the head of its stderr kept, its end awaited. */
function startQemu(options: BootOptions, consoleSink: ConsoleSink): { child: ChildProcess; exited: Promise<QemuExit>; stderr: () => string } {
  const interactive = options.interactive === true;
  const child: ChildProcess = spawn(options.command, options.args, {
    stdio: [interactive ? 'inherit' : 'ignore', 'pipe', interactive ? 'inherit' : 'pipe'],
    // Own process group in batch mode, so the whole group can be killed. Not when
    // interactive: a background group reading the terminal would get SIGTTIN.
    detached: !interactive,
    env: options.env ?? process.env,
  });
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => consoleSink.write(chunk));
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < stderrCap) stderr += chunk.toString('utf8').slice(0, stderrCap - stderr.length);
  });
  const exited = new Promise<QemuExit>((resolve) => {
    child.on('error', (error) => {
      // Also emitted when a signal cannot be sent; only a failed spawn has no pid.
      if (child.pid === undefined) resolve({ code: null, signal: null, spawnError: error });
    });
    child.once('exit', (code, signal) => resolve({ code, signal, spawnError: null }));
  });
  return { child, exited, stderr: () => stderr };
}

/** Ends QEMU for a reason: SIGTERM to its process group, SIGKILL after the grace time. */
class QemuEnder {
  reason: BootEndReason | null = null;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly interactive: boolean,
    private readonly killGraceMs: number,
  ) {}

  signal(signal: NodeJS.Signals): void {
    const { child } = this;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      if (this.interactive) child.kill(signal);
      else process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  stop(reason: BootEndReason): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.signal('SIGTERM');
    this.killTimer = setTimeout(() => this.signal('SIGKILL'), this.killGraceMs);
  }

  cancelKill(): void {
    if (this.killTimer !== undefined) clearTimeout(this.killTimer);
  }
}

/** The RbmapError matching an outcome that did not end on its own, or null. */
export function bootOutcomeError(outcome: BootOutcome, limits: { bootTimeoutMs: number; runTimeoutMs: number; watchdogMs: number }): RbmapError | null {
  const log = `console log: ${outcome.consoleLog}`;
  switch (outcome.reason) {
    case 'exited':
      return null;
    case 'boot-timeout':
      return new RbmapError('E_BOOT_TIMEOUT', `the guest did not reach ${bootDoneMarker} within ${limits.bootTimeoutMs / 1000} s (${log})`, {
        hint: 'look at the end of the console log: a kernel that stops early usually lacks a console or initramfs option',
      });
    case 'run-timeout':
      return new RbmapError('E_RUN_TIMEOUT', `the guest run exceeded ${limits.runTimeoutMs / 1000} s (${log})`, {
        hint: 'raise the run timeout if the tests are just slow under TCG, or look for a hung test in the TAP file',
      });
    case 'watchdog':
      return new RbmapError('E_WATCHDOG', `the guest produced no output for ${limits.watchdogMs / 1000} s (${log})`, {
        hint: 'the guest or a test hangs; the last lines of the console and of the TAP file show where',
      });
    case 'qemu-error':
      return new RbmapError('E_QEMU', `QEMU failed (exit code ${String(outcome.qemuExitCode)}, signal ${String(outcome.signal)}): ${outcome.stderr.trim() || 'no message'}`, {
        hint: 'check the QEMU binary and its arguments (rbmap doctor)',
      });
  }
}

function minPositive(...values: number[]): number {
  const positive = values.filter((value) => value > 0);
  return positive.length === 0 ? 2000 : Math.min(...positive);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function waitForStreams(child: ChildProcess, limitMs: number): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((stream) => stream !== null && !stream.readableEnded && !stream.destroyed);
  if (streams.length === 0) return;
  await new Promise<void>((resolve) => {
    let open = streams.length;
    const timer = setTimeout(() => {
      for (const stream of streams) stream?.destroy();
      resolve();
    }, limitMs);
    for (const stream of streams) {
      stream?.once('close', () => {
        open -= 1;
        if (open === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}
