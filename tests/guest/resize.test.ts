/**
 * Resize: buffer_size_kb writes (per-CPU and whole buffer) fail with
 * EBUSY while a CPU buffer is mapped, leave its contents untouched, and work
 * again after the last unmap.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import {
  kbForRingPages,
  kbShownForRingPages,
  MappedConsumer,
  onlineCpus,
  perCpuBufferSizeKb,
  readBufferSizeKb,
  resetBuffer,
  RingBufferMapping,
  setBufferSizeKb,
  sys,
  topLevel,
  tracePath,
  writeMarkers,
} from '../../reader/index.js';
import { assertErrno } from './lib/assertions.js';
import { ChildHelper } from './lib/children.js';
import { markersOf, numberedMarkers } from './lib/markers.js';
import { formats, refreshedMappingBytes } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';

const RING_PAGES = 4;
const GROWN_PAGES = 6;

function prepareCpu0(markerPrefix: string): string[] {
  sys.setAffinity(0);
  for (const cpu of onlineCpus()) setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES), cpu);
  resetBuffer(topLevel);
  const markers = numberedMarkers(markerPrefix, 200);
  writeMarkers(topLevel, markers);
  return markers;
}

traceTest('resize: per-CPU buffer_size_kb of a mapped CPU fails with EBUSY and leaves its pages untouched', ({ cleanup }) => {
  const markers = prepareCpu0('resize-percpu');
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const before = refreshedMappingBytes(ring);
  const sizeBefore = perCpuBufferSizeKb(topLevel, 0);
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(GROWN_PAGES), 0), 'EBUSY', 'grow cpu0');
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(2), 0), 'EBUSY', 'shrink cpu0');
  assert.equal(perCpuBufferSizeKb(topLevel, 0), sizeBefore, 'size unchanged');
  assert.ok(refreshedMappingBytes(ring).equals(before), 'meta page and data pages unchanged');
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), markers, 'contents intact');
});

traceTest('resize: whole-buffer buffer_size_kb fails with EBUSY while one CPU is mapped; no CPU is resized', ({ cleanup }) => {
  const markers = prepareCpu0('resize-global');
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const before = refreshedMappingBytes(ring);
  const sizes = onlineCpus().map((cpu) => perCpuBufferSizeKb(topLevel, cpu));
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(GROWN_PAGES)), 'EBUSY', 'grow every CPU');
  assert.deepEqual(
    onlineCpus().map((cpu) => perCpuBufferSizeKb(topLevel, cpu)),
    sizes,
    'no CPU changed size (not even the unmapped ones)',
  );
  assert.ok(refreshedMappingBytes(ring).equals(before), 'mapped pages unchanged');
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), markers);
});

traceTest('resize: refused because the trace file is open, with nothing mapped, it fails with ENOMEM as on 6.1', () => {
  prepareCpu0('resize-trace-open');
  const size = perCpuBufferSizeKb(topLevel, 0);
  // A reader of the trace file holds the buffers against a resize while it is open.
  const trace = openSync(tracePath(topLevel, 'trace'), 'r');
  try {
    assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(GROWN_PAGES), 0), 'ENOMEM', 'grow cpu0 while trace is open');
    assert.equal(perCpuBufferSizeKb(topLevel, 0), size, 'size unchanged');
  } finally {
    closeSync(trace);
  }
  setBufferSizeKb(topLevel, kbForRingPages(GROWN_PAGES), 0);
  assert.equal(perCpuBufferSizeKb(topLevel, 0), kbShownForRingPages(GROWN_PAGES), 'resized once trace is closed');
});

traceTest('resize: an unmapped CPU can still be resized while another CPU is mapped', ({ cleanup }) => {
  const cpus = onlineCpus();
  assert.ok(cpus.length >= 2, `needs two online CPUs, the guest has ${cpus.length} (-smp 2 and a kernel that sees the second CPU: CONFIG_ACPI on x86)`);
  prepareCpu0('resize-other');
  cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const other = cpus[1]!;
  setBufferSizeKb(topLevel, kbForRingPages(GROWN_PAGES), other);
  assert.equal(perCpuBufferSizeKb(topLevel, other), kbShownForRingPages(GROWN_PAGES));
});

traceTest('resize: both resizes succeed after the unmap', () => {
  prepareCpu0('resize-after');
  const ring = RingBufferMapping.open({ cpu: 0 });
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(GROWN_PAGES), 0), 'EBUSY', 'while mapped');
  ring.close();
  setBufferSizeKb(topLevel, kbForRingPages(GROWN_PAGES), 0);
  assert.equal(perCpuBufferSizeKb(topLevel, 0), kbShownForRingPages(GROWN_PAGES));
  setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 1));
  assert.equal(readBufferSizeKb(topLevel).kb, kbShownForRingPages(RING_PAGES + 1));
  const again = RingBufferMapping.open({ cpu: 0 });
  try {
    assert.equal(again.meta().nrDataPages, RING_PAGES + 1, 'a new mapping sees the resized ring');
  } finally {
    again.close();
  }
});

traceTest('resize: a mapping held by another process blocks the resize until that process unmaps', async ({ cleanup }) => {
  prepareCpu0('resize-process');
  const child = new ChildHelper('map-holder', ['0']);
  cleanup.add('stop map-holder', () => child.kill());
  await child.waitFor(/^mapped /m);
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(GROWN_PAGES), 0), 'EBUSY', 'while the child maps cpu0');
  child.send('unmap');
  await child.waitFor(/^unmapped/m);
  setBufferSizeKb(topLevel, kbForRingPages(GROWN_PAGES), 0);
  child.send('exit');
  assert.equal((await child.result()).code, 0);
});
