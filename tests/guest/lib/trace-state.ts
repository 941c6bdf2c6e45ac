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
  readBufferSizeKb,
  perCpuDirectories,
  removeInstance,
  resetBuffer,
  setBufferSizeKb,
  setClock,
  setTracingOn,
  snapshotAllocated,
  snapshotSupported,
  topLevel,
  type TraceArray,
  writeTraceFile,
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
 * Put the captured state back: instances created since removed, the snapshot
 * buffer recording again, snapshot freed if it was not allocated, clock, per-CPU
 * sizes (only where they changed, so an unexpanded top-level buffer stays small),
 * tracing_on, and an empty buffer.
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
  // A buffer still never expanded took no snapshot since boot (a snapshot write expands
  // it): nothing to re-arm, and the write would expand it for the tests that follow.
  if (state.tracingOn && snapshotSupported(state.array) && readBufferSizeKb(state.array).expandedKb === null) {
    attempt('snapshot buffer recording', () => rearmSnapshotBuffer(state.array));
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

/**
 * A whole-buffer snapshot taken while tracing is off leaves the snapshot buffer
 * itself not recording (update_max_tr() hands it the live buffer's tracing_on
 * before the swap), and freeing the snapshot does not change that. Every later
 * per-CPU snapshot is then refused inside the kernel (ring_buffer_swap_cpu()
 * returns -EAGAIN) while the write to per_cpu/cpuN/snapshot still succeeds. A
 * whole-buffer swap with tracing on hands the snapshot buffer "on" again. Done
 * before the sizes are restored: the write expands a never-expanded buffer.
 */
function rearmSnapshotBuffer(array: TraceArray): void {
  setTracingOn(array, true);
  writeTraceFile(array, 'snapshot', '1\n');
}
