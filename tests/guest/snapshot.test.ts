/**
 * Snapshot: a snapshot swap must never move pages out of a mapped
 * ring. Writing 1 to per_cpu/cpuN/snapshot or to snapshot fails with EBUSY
 * while a CPU is mapped, the mapped data stays intact, and both work after the
 * unmap.
 */
import assert from 'node:assert/strict';
import {
  createInstance,
  kbForRingPages,
  MappedConsumer,
  onlineCpus,
  perCpuPath,
  readTraceFile,
  resetBuffer,
  RingBufferMapping,
  setBufferSizeKb,
  setTracingOn,
  snapshotSupported,
  sys,
  topLevel,
  type TraceArray,
  tracePath,
  writeMarkers,
  writePerCpuFile,
  writeTraceFile,
} from '../../reader/index.js';
import { assertErrno } from './lib/assertions.js';
import { markersOf, numberedMarkers } from './lib/markers.js';
import { formats, refreshedMappingBytes } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';
import { captureState, restoreState } from './lib/trace-state.js';
import { openSync, readFileSync } from 'node:fs';

const RING_PAGES = 4;

function prepare(array: TraceArray, prefix: string): string[] {
  sys.setAffinity(0);
  setBufferSizeKb(array, kbForRingPages(RING_PAGES));
  resetBuffer(array);
  const markers = numberedMarkers(prefix, 150);
  writeMarkers(array, markers);
  return markers;
}

function assertIntact(ring: RingBufferMapping, before: Buffer, markers: string[]): void {
  assert.ok(refreshedMappingBytes(ring).equals(before), 'meta page and data pages unchanged');
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), markers, 'mapped markers intact');
}

function snapshotText(array: TraceArray, cpu?: number): string {
  return readFileSync(cpu === undefined ? tracePath(array, 'snapshot') : perCpuPath(array, cpu, 'snapshot'), 'utf8');
}

traceTest('snapshot: the snapshot files exist (CONFIG_TRACER_SNAPSHOT, per-CPU swap)', () => {
  assert.ok(snapshotSupported(topLevel), 'snapshot file');
  assert.ok(readFileSync(perCpuPath(topLevel, 0, 'snapshot'), 'utf8').length > 0, 'per_cpu/cpu0/snapshot readable');
});

traceTest('snapshot: writing 1 to per_cpu/cpu0/snapshot fails with EBUSY while cpu0 is mapped; data intact', ({ cleanup }) => {
  const markers = prepare(topLevel, 'snap-percpu');
  cleanup.snapshot(topLevel);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const before = refreshedMappingBytes(ring);
  assertErrno(() => writePerCpuFile(topLevel, 0, 'snapshot', '1\n'), 'EBUSY', 'per-CPU snapshot swap');
  assert.ok(!snapshotText(topLevel, 0).includes('snap-percpu-'), 'no marker reached the snapshot buffer');
  assertIntact(ring, before, markers);
});

traceTest('snapshot: writing 1 to snapshot fails with EBUSY while cpu0 is mapped; data intact', ({ cleanup }) => {
  const markers = prepare(topLevel, 'snap-global');
  cleanup.snapshot(topLevel);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const before = refreshedMappingBytes(ring);
  assertErrno(() => writeTraceFile(topLevel, 'snapshot', '1\n'), 'EBUSY', 'whole-buffer snapshot swap');
  assert.ok(!snapshotText(topLevel).includes('snap-global-'), 'no marker reached the snapshot buffer');
  assertIntact(ring, before, markers);
});

traceTest('snapshot: a whole-buffer snapshot is refused while any CPU (here the last one) is mapped', ({ cleanup }) => {
  const cpus = onlineCpus();
  const last = cpus[cpus.length - 1]!;
  prepare(topLevel, 'snap-any');
  cleanup.snapshot(topLevel);
  const ring = cleanup.closes(`cpu${last} mapping`, RingBufferMapping.open({ cpu: last }));
  const before = refreshedMappingBytes(ring);
  assertErrno(() => writeTraceFile(topLevel, 'snapshot', '1\n'), 'EBUSY', `snapshot with cpu${last} mapped`);
  assert.ok(refreshedMappingBytes(ring).equals(before), `cpu${last} pages unchanged`);
});

traceTest('snapshot: an instance whole-buffer snapshot is refused with EBUSY while its cpu0 is mapped', ({ cleanup }) => {
  const name = `rbmap-snap-${process.pid}`;
  cleanup.instance(name);
  const array = createInstance(name);
  const markers = prepare(array, 'snap-instance');
  cleanup.snapshot(array);
  const ring = cleanup.closes('instance cpu0 mapping', RingBufferMapping.open({ cpu: 0, instance: name }));
  const before = refreshedMappingBytes(ring);
  assertErrno(() => writeTraceFile(array, 'snapshot', '1\n'), 'EBUSY', 'instance snapshot swap');
  assertErrno(() => writePerCpuFile(array, 0, 'snapshot', '1\n'), 'EBUSY', 'instance per-CPU snapshot swap');
  assertIntact(ring, before, markers);
});

traceTest('snapshot: per-CPU and whole-buffer snapshots work again after the unmap', ({ cleanup }) => {
  prepare(topLevel, 'snap-after');
  cleanup.snapshot(topLevel);
  const ring = RingBufferMapping.open({ cpu: 0 });
  assertErrno(() => writePerCpuFile(topLevel, 0, 'snapshot', '1\n'), 'EBUSY', 'while mapped');
  ring.close();

  writePerCpuFile(topLevel, 0, 'snapshot', '1\n');
  assert.ok(snapshotText(topLevel, 0).includes(': snap-after-000149'), 'per-CPU snapshot holds the markers');

  writeMarkers(topLevel, ['snap-after-global']);
  writeTraceFile(topLevel, 'snapshot', '1\n');
  assert.ok(snapshotText(topLevel).includes(': snap-after-global'), 'whole-buffer snapshot holds the new marker');
  assert.ok(!readTraceFile(topLevel, 'trace').includes('snap-after-global'), 'and the live buffer no longer does');
});

traceTest('snapshot: after a whole-buffer snapshot taken with tracing off, restoring the trace state makes per-CPU snapshots work again', ({ t, cleanup }) => {
  cleanup.snapshot(topLevel);
  // What the stress does at random: the snapshot buffer inherits tracing_on=0 and keeps it.
  setTracingOn(topLevel, false);
  writeTraceFile(topLevel, 'snapshot', '1\n');
  setTracingOn(topLevel, true);
  writeTraceFile(topLevel, 'snapshot', '0\n');
  prepare(topLevel, 'snap-off');
  writePerCpuFile(topLevel, 0, 'snapshot', '1\n');
  const swappedWhileOff = snapshotText(topLevel, 0).includes(': snap-off-000149');
  t.diagnostic(`per-CPU snapshot with the snapshot buffer not recording: ${swappedWhileOff ? 'swapped' : 'silently not swapped (ring_buffer_swap_cpu: -EAGAIN)'}`);

  restoreState(captureState());
  prepare(topLevel, 'snap-rearmed');
  writePerCpuFile(topLevel, 0, 'snapshot', '1\n');
  assert.ok(snapshotText(topLevel, 0).includes(': snap-rearmed-000149'), 'per-CPU snapshot holds the markers after the restore');
});

traceTest('snapshot: per_cpu/cpu0/snapshot_raw (the swappable snapshot buffer) cannot be mapped (ENODEV)', ({ cleanup }) => {
  const fd = cleanup.fd(openSync(perCpuPath(topLevel, 0, 'snapshot_raw'), sys.constants.O_RDONLY));
  assertErrno(
    () => sys.mmap(fd, sys.pageSize(), sys.constants.PROT_READ, sys.constants.MAP_SHARED, 0),
    'ENODEV',
    'mmap of snapshot_raw',
  );
});
