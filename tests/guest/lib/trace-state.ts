/**
 * Saving and restoring the tracefs state around a guest test: what a test may
 * change at the top level (per-CPU sizes, tracing_on, clock, snapshot, instances).
 */
import {
  currentClock,
  freeSnapshot,
  instanceNames,
  isTracingOn,
  perCpuBufferSizeKb,
  perCpuDirectories,
  removeInstance,
  resetBuffer,
  setBufferSizeKb,
  setClock,
  setTracingOn,
  snapshotAllocated,
  topLevel,
  type TraceArray,
} from '../../../reader/index.js';


/** Everything a test may change at the top level, captured to be put back. */
export interface TraceState {
  readonly array: TraceArray;
  readonly perCpuKb: ReadonlyMap<number, number>;
  readonly tracingOn: boolean;
  readonly clock: string;
  readonly snapshotAllocated: boolean;
  /** Instances present when the state was captured (top level only). */
  readonly instances: readonly string[];
}

export function captureState(array: TraceArray = topLevel): TraceState {
  const perCpuKb = new Map<number, number>();
  for (const cpu of perCpuDirectories(array)) perCpuKb.set(cpu, perCpuBufferSizeKb(array, cpu));
  return {
    array,
    perCpuKb,
    tracingOn: isTracingOn(array),
    clock: currentClock(array),
    snapshotAllocated: snapshotAllocated(array),
    instances: array.name === null ? instanceNames() : [],
  };
}

/**
 * Put the captured state back: instances created since removed, snapshot freed
 * if it was not allocated, clock, per-CPU sizes (only where they changed, so an
 * unexpanded top-level buffer stays small), tracing_on, and an empty buffer.
 * Failures are collected and thrown together so one does not hide the others.
 */
export function restoreState(state: TraceState): void {
  const failures: string[] = [];
  const attempt = (what: string, action: () => void): void => {
    try {
      action();
    } catch (error) {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  if (state.array.name === null) {
    for (const name of instanceNames().filter((name) => !state.instances.includes(name))) {
      attempt(`remove leftover instance ${name}`, () => removeInstance(name));
    }
  }
  attempt('snapshot', () => {
    if (!state.snapshotAllocated && snapshotAllocated(state.array)) freeSnapshot(state.array);
  });
  attempt('trace_clock', () => {
    if (currentClock(state.array) !== state.clock) setClock(state.array, state.clock);
  });
  for (const [cpu, kb] of state.perCpuKb) {
    attempt(`cpu${cpu} buffer_size_kb`, () => {
      if (perCpuBufferSizeKb(state.array, cpu) !== kb) setBufferSizeKb(state.array, kb, cpu);
    });
  }
  attempt('tracing_on', () => setTracingOn(state.array, state.tracingOn));
  attempt('reset', () => resetBuffer(state.array));
  if (failures.length > 0) throw new Error(`restoring tracefs state failed:\n${failures.join('\n')}`);
}
