/**
 * Shared test support for the guest tests: one test = one clean tracefs state,
 * a cleanup stack (unmap, close, rmdir, free the snapshot) run even when the test
 * fails, a cross-process lock so test files never share tracefs at the same time,
 * and helpers for child processes and errno assertions.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  dataBytesPerPage,
  type DecodedEvent,
  decodePage,
  freeSnapshot,
  hasCode,
  kbForRingPages,
  markerText,
  removeInstanceIfPresent,
  resetBuffer,
  type RingBufferMapping,
  setBufferSizeKb,
  snapshotSupported,
  sys,
  topLevel,
  type TraceArray,
  TraceFormats,
} from '../../../reader/index.js';
import { captureState, restoreState } from './trace-state.js';

// ---------------------------------------------------------------------------
// One test file at a time may touch tracefs (node --test runs files in parallel
// when the guest has more than two CPUs).

const LOCK_DIR = '/tmp/rbmap-tracefs.lock';
const LOCK_OWNER = `${LOCK_DIR}/pid`;
let lockHeld = false;

/** Block the thread for `ms` (the guest tests are synchronous where timing matters). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function lockOwnerAlive(): boolean {
  try {
    const pid = Number(readFileSync(LOCK_OWNER, 'utf8'));
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`);
  } catch {
    return true; // being created right now: treat as alive
  }
}

export function acquireTracefsLock(timeoutMs = 600_000): void {
  if (lockHeld) return;
  const deadline = Date.now() + timeoutMs;
  let ownerlessSince: number | null = null;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(LOCK_OWNER, String(process.pid));
      lockHeld = true;
      process.on('exit', releaseTracefsLock);
      return;
    } catch (error) {
      if (!hasCode(error, 'EEXIST')) throw error;
    }
    if (!lockOwnerAlive()) {
      ownerlessSince ??= Date.now();
      if (Date.now() - ownerlessSince > 500) rmSync(LOCK_DIR, { recursive: true, force: true });
    } else {
      ownerlessSince = null;
    }
    if (Date.now() > deadline) throw new Error(`tracefs lock ${LOCK_DIR} still held after ${timeoutMs} ms`);
    sleepMs(50);
  }
}

export function releaseTracefsLock(): void {
  if (!lockHeld) return;
  lockHeld = false;
  rmSync(LOCK_DIR, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// Cleanup stack

export class Cleanup {
  private readonly actions: Array<{ what: string; action: () => void }> = [];

  /** Register an action; actions run last-registered first. */
  add(what: string, action: () => void): void {
    this.actions.push({ what, action });
  }

  /** Something with a close() (a RingBufferMapping, a MarkerWriter). */
  closes<T extends { close(): void }>(what: string, resource: T): T {
    this.add(`close ${what}`, () => resource.close());
    return resource;
  }

  fd(fd: number, what = `fd ${fd}`): number {
    this.add(`close ${what}`, () => {
      try {
        closeSync(fd);
      } catch (error) {
        if (!hasCode(error, 'EBADF')) throw error;
      }
    });
    return fd;
  }

  instance(name: string): void {
    this.add(`remove instance ${name}`, () => removeInstanceIfPresent(name));
  }

  /** Free the snapshot buffer of the array afterwards (top level or instance). */
  snapshot(array: TraceArray = topLevel): void {
    this.add(`free snapshot of ${array.name ?? 'top level'}`, () => {
      if (snapshotSupported(array)) freeSnapshot(array);
    });
  }

  /** Run everything; returns the failures (never throws). */
  runAll(): string[] {
    const failures: string[] = [];
    while (this.actions.length > 0) {
      const { what, action } = this.actions.pop()!;
      try {
        action();
      } catch (error) {
        failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return failures;
  }
}

// ---------------------------------------------------------------------------
// Tests with a clean tracefs

let sharedFormats: TraceFormats | null = null;

/** header_page/header_event/event formats of the running kernel (read once per file). */
export function formats(): TraceFormats {
  sharedFormats ??= new TraceFormats();
  return sharedFormats;
}

export interface TraceTestContext {
  readonly t: TestContext;
  readonly cleanup: Cleanup;
}

export interface TraceTestOptions {
  readonly timeout?: number;
}

/**
 * A node:test test that holds the tracefs lock, starts from an empty top-level
 * buffer, and afterwards runs its cleanups and restores sizes, clock and
 * tracing_on. A failing cleanup fails the test (state must not leak).
 */
export function traceTest(name: string, body: (context: TraceTestContext) => void | Promise<void>, options: TraceTestOptions = {}): void {
  test(name, { timeout: options.timeout ?? 60_000 }, async (t) => {
    acquireTracefsLock();
    // Markers are written from this thread: keep it on CPU 0 unless a test moves it.
    sys.setAffinity(0);
    const state = captureState();
    resetBuffer(topLevel);
    const cleanup = new Cleanup();
    let bodyError: unknown = null;
    try {
      await body({ t, cleanup });
    } catch (error) {
      bodyError = error;
    }
    const failures = cleanup.runAll();
    try {
      restoreState(state);
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
    if (bodyError !== null) {
      if (failures.length > 0 && bodyError instanceof Error) {
        bodyError.message += `\n(cleanup also failed: ${failures.join('; ')})`;
      }
      throw bodyError;
    }
    if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
  });
}

// ---------------------------------------------------------------------------
// Assertions

/** Assert that `action` throws an error whose `code` is `code` (an errno name). */
export function assertErrno(action: () => unknown, code: string, message?: string): void {
  let thrown: unknown = null;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  if (thrown === null) assert.fail(`${message ?? 'call'}: expected ${code}, but it succeeded`);
  const actual = thrown instanceof Error ? (thrown as Error & { code?: unknown }).code : undefined;
  assert.equal(actual, code, `${message ?? 'call'}: expected ${code}, got ${String(actual)} (${thrown instanceof Error ? thrown.message : String(thrown)})`);
}

/** The marker strings of decoded events (non-marker events are an error). */
export function markersOf(events: readonly DecodedEvent[]): string[] {
  return events.map((event) => {
    const text = markerText(event);
    if (text === null) throw new Error(`unexpected event ${event.name} (type ${event.id}) among markers`);
    return text;
  });
}

/** Decode whole pages as returned by read()/splice() of trace_pipe_raw. */
export function markersOfRawPages(data: Buffer, pageSize: number): string[] {
  const markers: string[] = [];
  const { layouts, lookup } = formats();
  for (let at = 0; at + pageSize <= data.length; at += pageSize) {
    const view = new DataView(data.buffer, data.byteOffset + at, pageSize);
    markers.push(...markersOf(decodePage(view, layouts, lookup).events));
  }
  return markers;
}

/**
 * read() a non-blocking trace_pipe_raw fd page by page until EAGAIN or end of
 * file; returns everything read (whole pages).
 */
export function readAllPages(fd: number, maxPages = 4096): Buffer {
  const pageSize = sys.pageSize();
  const chunks: Buffer[] = [];
  for (let i = 0; i < maxPages; i++) {
    const page = Buffer.alloc(pageSize);
    let bytes: number;
    try {
      bytes = readSync(fd, page, 0, pageSize, null);
    } catch (error) {
      if (hasCode(error, 'EAGAIN')) break;
      throw error;
    }
    if (bytes === 0) break;
    chunks.push(page.subarray(0, bytes));
  }
  return Buffer.concat(chunks);
}

/** Open `path` non-blocking and read text until EAGAIN or end of file (e.g. a trace_pipe). */
export function readTextUntilEmpty(path: string): string {
  const fd = openSync(path, sys.constants.O_RDONLY | sys.constants.O_NONBLOCK);
  const chunks: Buffer[] = [];
  try {
    for (;;) {
      const chunk = Buffer.alloc(65536);
      let bytes: number;
      try {
        bytes = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        if (hasCode(error, 'EAGAIN')) break;
        throw error;
      }
      if (bytes === 0) break;
      chunks.push(chunk.subarray(0, bytes));
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Bytes of a view, copied (for before/after comparisons). */
export function copyOf(view: DataView): Buffer {
  return Buffer.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

/** UPDATE_META_PAGE, then every byte of the mapping (meta + pages): to prove nothing moved. */
export function refreshedMappingBytes(ring: RingBufferMapping): Buffer {
  ring.updateMeta();
  return copyOf(new DataView(ring.mapping.buffer));
}

// ---------------------------------------------------------------------------
// Child processes

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Absolute path of a compiled helper script in tests/guest/helpers/. */
export function helperPath(name: string): string {
  return fileURLToPath(new URL(`../helpers/${name}.js`, import.meta.url));
}

/** A `rbmap.KEY=value` word of the kernel command line (written by guestCommandLineWords() in harness/src/contract.ts). */
export function commandLineValue(key: string): string | undefined {
  const word = readFileSync('/proc/cmdline', 'utf8').trim().split(/\s+/).find((w) => w.startsWith(`rbmap.${key}=`));
  return word?.slice(`rbmap.${key}=`.length);
}

/** The benchmark's native reader and writer (rootfs/bench/rbmap_bench.c). */
export const BENCH_BINARY = '/opt/rbmap/bin/rbmap-bench';

/** Absolute path of a compiled script of the reader library: readerScript('bin/rbmap-cat'). */
export function readerScript(name: string): string {
  return fileURLToPath(new URL(`../../../reader/${name}.js`, import.meta.url));
}

/**
 * A script in a child Node process: a helper of tests/guest/helpers by name, or
 * an absolute path. The test can wait for what the child prints and write to its
 * stdin; the child is killed on timeout.
 */

export class ChildHelper {
  private readonly child: ChildProcess;
  private readonly stdin: Writable;
  private stdoutText = '';
  private stderrText = '';
  private readonly done: Promise<ChildResult>;
  private readonly waiters: Array<{ pattern: RegExp; stream: 'stdout' | 'stderr'; resolve: (match: RegExpMatchArray) => void }> = [];

  constructor(name: string, args: readonly string[], extraFds: readonly number[] = []) {
    this.child = spawn(process.execPath, [name.startsWith('/') ? name : helperPath(name), ...args], {
      stdio: ['pipe', 'pipe', 'pipe', ...extraFds],
    });
    const { stdin, stdout, stderr } = this.child;
    if (stdin === null || stdout === null || stderr === null) throw new Error('child without stdio pipes');
    this.stdin = stdin;
    this.stdin.on('error', () => {
      // the child may exit (SIGBUS) before it reads its input
    });
    const out: Readable = stdout;
    out.setEncoding('utf8');
    stderr.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.stdoutText += chunk;
      this.checkWaiters();
    });
    stderr.on('data', (chunk: string) => {
      this.stderrText += chunk;
      this.checkWaiters();
    });
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        resolve({ code, signal, stdout: this.stdoutText, stderr: this.stderrText });
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  private checkWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      const match = (waiter.stream === 'stdout' ? this.stdoutText : this.stderrText).match(waiter.pattern);
      if (match !== null) {
        this.waiters.splice(i, 1);
        waiter.resolve(match);
      }
    }
  }

  /** Wait until stdout (or stderr) matches `pattern` (rejects if the child ends first or on timeout). */
  async waitFor(pattern: RegExp, timeoutMs = 30_000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    const already = (stream === 'stdout' ? this.stdoutText : this.stderrText).match(pattern);
    if (already !== null) return already;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<RegExpMatchArray>((resolve) => this.waiters.push({ pattern, stream, resolve })),
        this.done.then((result) => {
          throw new Error(`child ended (code ${result.code}, signal ${result.signal}) before printing ${pattern}: ${result.stdout} ${result.stderr}`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`child did not print ${pattern} within ${timeoutMs} ms; stdout: ${this.stdoutText}; stderr: ${this.stderrText}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  send(line: string): void {
    this.stdin.write(`${line}\n`);
  }

  /** Has the child exited? */
  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Wait for the exit; kill it with SIGKILL after `timeoutMs`. */
  async result(timeoutMs = 30_000): Promise<ChildResult> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.done;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/**
 * Wait until the main thread of `pid` sleeps in the kernel function matching
 * `where` (/proc/PID/wchan), e.g. /ring_buffer_wait/. Returns the last wchan
 * seen; never throws (on timeout the caller goes on with what it has).
 */
export async function waitForKernelWait(pid: number, where: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let wchan = '';
  while (Date.now() < deadline) {
    try {
      wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8').trim();
    } catch {
      return wchan;
    }
    if (where.test(wchan)) return wchan;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return wchan;
}

/** Run a helper to completion. */
export async function runHelper(name: string, args: readonly string[], timeoutMs = 30_000): Promise<ChildResult> {
  const child = new ChildHelper(name, args);
  child.send('');
  return child.result(timeoutMs);
}

export function describeChild(result: ChildResult): string {
  return `code ${result.code}, signal ${result.signal}, stdout ${JSON.stringify(result.stdout.trim())}, stderr ${JSON.stringify(result.stderr.trim().slice(0, 800))}`;
}

/** What a 4 KiB data page holds: the page less its 16-byte header. */
const PAGE_PAYLOAD_4K = 4096 - 16;

/**
 * A marker count a test chose as so many 4 KiB pages' worth, scaled to this kernel's
 * page payload: the same number of pages fill with 16 or 64 KiB pages too.
 */
export function pagesWorthOf(countFor4k: number): number {
  return Math.ceil((countFor4k * dataBytesPerPage()) / PAGE_PAYLOAD_4K);
}

/** Pins this process to CPU 0 and gives cpu0 of the top-level buffer an empty ring of `pages` pages. */
export function smallCpu0Ring(pages: number): void {
  sys.setAffinity(0);
  setBufferSizeKb(topLevel, kbForRingPages(pages), 0);
  resetBuffer(topLevel);
}
