/**
 * What the stress worker processes and their threads share: the seeded PRNG,
 * markers that carry their own checksum, and a stable read of a meta page
 * that other consumers change meanwhile.
 */
import { decodePage, hasCode, markerText, metaInconsistencies, type PageGeometry, readMetaPage, sys } from '../../../reader/index.js';
import { formats } from './ring.js';
import { sleepMs } from './waiting.js';

/**
 * Pin the calling thread to `cpu`, waiting while the CPU is offline: a hotplug step of
 * another worker takes CPU 1 down for a moment, and sched_setaffinity() refuses an
 * offline CPU with EINVAL.
 */
export function pinToCpu(cpu: number, waitMs = 5000): void {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      sys.setAffinity(cpu);
      return;
    } catch (error) {
      if (!hasCode(error, 'EINVAL') || Date.now() > deadline) throw error;
      sleepMs(10);
    }
  }
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of the marker's body, as 8 hex digits. */
function markerChecksum(body: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < body.length; i++) hash = Math.imul(hash ^ body.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** `stress-<worker>-<i>-<checksum>`: a consumer can tell a whole marker from a torn one. */
export function stressMarker(worker: number, i: number): string {
  const body = `stress-${worker}-${i}`;
  return `${body}-${markerChecksum(body)}`;
}

/** Throws on a stress marker (of any worker) whose checksum does not match; returns how many were whole. */
export function countWholeMarkers(texts: readonly string[], where: string): number {
  let whole = 0;
  for (const text of texts) {
    if (!text.startsWith('stress-')) continue;
    const match = /^(stress-\d+-\d+)-([0-9a-f]{8})$/.exec(text);
    if (match === null || markerChecksum(match[1]!) !== match[2]) throw new Error(`${where}: torn marker ${JSON.stringify(text)}`);
    whole++;
  }
  return whole;
}

/** Every stress marker on a page (in place or a copy) must be whole; returns how many were. */
export function countWholeMarkersOnPage(view: DataView, where: string): number {
  const { layouts, lookup } = formats();
  const { events } = decodePage(view, layouts, lookup);
  return countWholeMarkers(events.map((event) => markerText(event) ?? ''), where);
}

/** The same for each whole page of a copy (read(), splice()). */
export function countWholeMarkersInPages(data: Buffer, pageSize: number, where: string): number {
  let whole = 0;
  for (let at = 0; at + pageSize <= data.length; at += pageSize) {
    whole += countWholeMarkersOnPage(new DataView(data.buffer, data.byteOffset + at, pageSize), where);
  }
  return whole;
}

/**
 * Problems with a meta area that other consumers of the same buffer may be
 * changing meanwhile. The kernel writes the meta area under the consumer lock,
 * so a read beside a page swap can catch it half-written (a page ID in
 * data_pages[] and in reader_page at once); the documented ABI only promises
 * a consistent meta page after one's own ioctl, with one consumer. So a read
 * counts only when two copies in a row are equal, and a problem only when
 * every such read of META_SETTLE_ATTEMPTS, a millisecond apart, shows one:
 * a lasting inconsistency still fails, a swap in flight does not. Empty if
 * the area never held still.
 */
export function settledMetaProblems(area: DataView, geometry: PageGeometry): string[] {
  const bytes = new Uint8Array(area.buffer, area.byteOffset, area.byteLength);
  let problems: string[] = [];
  for (let attempt = 0; attempt < META_SETTLE_ATTEMPTS; attempt++) {
    if (attempt > 0) sleepMs(1);
    const first = Buffer.from(bytes);
    const second = Buffer.from(bytes);
    if (!first.equals(second)) continue;
    problems = metaInconsistencies(readMetaPage(new DataView(first.buffer, first.byteOffset, first.byteLength)), geometry);
    if (problems.length === 0) return [];
  }
  return problems;
}

export const META_SETTLE_ATTEMPTS = 20;

/** Run `action`; 'ok', or the errno name of an allowed failure; any other failure is thrown. */
export function expectOkOr(action: () => void, ...allowed: string[]): string {
  try {
    action();
    return 'ok';
  } catch (error) {
    for (const code of allowed) if (hasCode(error, code)) return code;
    throw error;
  }
}

/**
 * The least a stress worker and its thread must do for the run to count as
 * exercised. A worker's duration starts once its thread runs (a Node worker
 * thread takes seconds to start on emulated arm64 or under KASAN; it may take
 * up to STRESS_THREAD_START_MS). On a guest too slow to reach the floors in the
 * duration, the worker goes on until it and its thread have, for at most
 * STRESS_GRACE_MS more. The test asserts the same floors.
 */
export const STRESS_FLOOR = { workerSteps: 20, threadSteps: 3 } as const;
export const STRESS_THREAD_START_MS = 30_000;
export const STRESS_GRACE_MS = 30_000;

const enum ControlCell {
  stop,
  threadSteps,
  threadState,
}

const enum ThreadState {
  starting,
  running,
  ended,
}

/**
 * Shared between a worker's main thread and its thread: the thread says when
 * it runs and when it has ended (a failure ends it early) and counts its
 * steps; the main thread says when to stop. The main loop never yields to the
 * event loop, so messages could not tell it any of this in time.
 */
export class StressControl {
  private readonly cells: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT)) {
    this.cells = new Int32Array(buffer);
  }

  stop(): void {
    Atomics.store(this.cells, ControlCell.stop, 1);
  }

  get stopped(): boolean {
    return Atomics.load(this.cells, ControlCell.stop) !== 0;
  }

  countThreadStep(): void {
    Atomics.add(this.cells, ControlCell.threadSteps, 1);
  }

  get threadSteps(): number {
    return Atomics.load(this.cells, ControlCell.threadSteps);
  }

  threadRunning(): void {
    this.setThreadState(ThreadState.running);
  }

  threadEnded(): void {
    this.setThreadState(ThreadState.ended);
  }

  /** Block until the thread runs or has ended; false if it still starts after `limitMs`. */
  waitForThread(limitMs: number): boolean {
    const deadline = Date.now() + limitMs;
    for (;;) {
      if (Atomics.load(this.cells, ControlCell.threadState) !== ThreadState.starting) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.cells, ControlCell.threadState, ThreadState.starting, left);
    }
  }

  /** The thread has reached its floor, or will not: it has ended. */
  threadHasDoneEnough(floor: number): boolean {
    return this.threadSteps >= floor || Atomics.load(this.cells, ControlCell.threadState) === ThreadState.ended;
  }

  private setThreadState(state: ThreadState): void {
    Atomics.store(this.cells, ControlCell.threadState, state);
    Atomics.notify(this.cells, ControlCell.threadState);
  }
}

/** The slowest operation of a stress loop: on a slow guest, what its time went to. */
export interface SlowestOperation {
  readonly name: string;
  readonly ms: number;
  readonly result: string;
}

/** The last operations of a stress loop, for the failure report, and how long each kind took. */
export class OperationLog {
  private readonly lines: string[] = [];
  readonly counts = new Map<string, number>();
  private readonly totalMs = new Map<string, number>();
  slowest: SlowestOperation | undefined;
  steps = 0;

  /** Run one operation and record its result and time. */
  run(name: string, operation: () => string): void {
    const start = performance.now();
    const result = operation();
    const ms = Math.round(performance.now() - start);
    this.lines.push(`${this.steps++} ${name}: ${result} (${ms} ms)`);
    if (this.lines.length > 20) this.lines.shift();
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    this.totalMs.set(name, (this.totalMs.get(name) ?? 0) + ms);
    if (this.slowest === undefined || ms > this.slowest.ms) this.slowest = { name, ms, result };
  }

  last(): string {
    return this.lines.join('\n');
  }

  /** Milliseconds spent per kind of operation, the largest first. */
  timeShares(): Record<string, number> {
    return Object.fromEntries([...this.totalMs].sort((a, b) => b[1] - a[1]));
  }
}
