/**
 * Hostile input to the mapping: lengths and offsets a reader never passes,
 * MAP_FIXED and mremap() games on a live mapping, flags that must not stick,
 * files and CPUs that cannot be mapped. Each case expects the exact errno or
 * signal the documentation promises, and leaves the mapping counts balanced:
 * once every piece is unmapped, a resize of the CPU succeeds again.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync } from 'node:fs';
import {
  kbForRingPages,
  MappedConsumer,
  onlineCpus,
  openTracePipeRaw,
  perCpuPath,
  readMetaPage,
  RingBufferMapping,
  setBufferSizeKb,
  sys,
  topLevel,
  writeMarkers,
  writeTraceFile,
} from '../../reader/index.js';
import { assertErrno } from './lib/assertions.js';
import { describeChild, runHelper } from './lib/children.js';
import { markersOf, numberedMarkers } from './lib/markers.js';
import { formats, smallCpu0Ring } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';

const RING_PAGES = 8;
const { PROT_NONE, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MREMAP_MAYMOVE, MREMAP_FIXED } = sys.constants;
const pageSize = sys.pageSize();
const page = BigInt(pageSize);

/** The largest file offset the mm core lets through (MAX_LFS_FILESIZE, for a regular tracefs file). */
const MAX_FILE_OFFSET = 2n ** 63n - 1n;

/** A resize of cpu0 succeeds: no mapping count was left behind. */
function assertCpu0Unmapped(what: string): void {
  try {
    setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 2), 0);
  } catch (error) {
    assert.fail(`${what}: cpu0 still counts as mapped (${String(error)})`);
  }
}

function copyOf(addr: bigint, length: number): Buffer {
  return Buffer.from(new Uint8Array(sys.viewOf(addr, length)));
}

traceTest('hostile: a zero length and an offset that is not page-aligned are refused with EINVAL by the mm core', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  assertErrno(() => sys.mmapRaw(0n, 0n, PROT_READ, MAP_SHARED, fd, 0n), 'EINVAL', 'length 0');
  assertErrno(() => sys.mmapRaw(0n, page, PROT_READ, MAP_SHARED, fd, 1n), 'EINVAL', 'offset 1');
  assertErrno(() => sys.mmapRaw(0n, page, PROT_READ, MAP_SHARED, fd, page + 8n), 'EINVAL', 'offset one page + 8');
  assertCpu0Unmapped('after the refused mappings');
});

traceTest('hostile: offsets whose pages end past 2^63 (up to 2^64 - one page) are refused with EOVERFLOW before the driver sees them', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const refused = [2n ** 64n - page, 2n ** 64n - 2n * page, 2n ** 63n, 2n ** 63n - page];
  for (const offset of refused) {
    assertErrno(() => sys.mmapRaw(0n, page, PROT_READ, MAP_SHARED, fd, offset), 'EOVERFLOW', `one page at offset 0x${offset.toString(16)}`);
  }
  assertErrno(() => sys.mmapRaw(0n, 2n * page, PROT_READ, MAP_SHARED, fd, MAX_FILE_OFFSET + 1n - 2n * page), 'EOVERFLOW', 'two pages ending at 2^63');
  assertCpu0Unmapped('after the refused mappings');
});

traceTest('hostile: the largest page offset the mm core passes maps, and SIGBUSes on access (no wrap in the page arithmetic)', async () => {
  smallCpu0Ring(RING_PAGES);
  const largest = ((MAX_FILE_OFFSET - page) / page) * page;
  const result = await runHelper('touch-beyond', ['at', '0', largest.toString()]);
  assert.equal(result.signal, 'SIGBUS', `one page at offset 0x${largest.toString(16)}: ${describeChild(result)}`);
  assertCpu0Unmapped('after the child died');
});

traceTest('hostile: a one-page mapping at page offset 2^40 SIGBUSes on access', async () => {
  smallCpu0Ring(RING_PAGES);
  const result = await runHelper('touch-beyond', ['at', '0', String(2n ** 40n * page)]);
  assert.equal(result.signal, 'SIGBUS', describeChild(result));
});

traceTest('hostile: anonymous memory placed with MAP_FIXED over the middle of a mapping splits it; the rest still reads, and the counts stay balanced', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('fixed-anon', 40));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const { addr, length } = ring.mapping;
  const hole = addr + 2n * page;
  assert.equal(sys.mmapRaw(hole, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0n), hole);
  assert.ok(copyOf(hole, pageSize).every((byte) => byte === 0), 'the anonymous page reads as zeroes');
  assert.equal(ring.updateMeta().nrDataPages, RING_PAGES, 'the meta page still reads, and the ioctl still works');
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 2), 0), 'EBUSY', 'resize while the pieces live');
  sys.munmapRange(addr, length);
  ring.forgetUnmappedRange();
  assertCpu0Unmapped('after the pieces and the anonymous page were unmapped');
});

traceTest('hostile: a mapping placed with MAP_FIXED over part of another mapping of the same CPU shows the page it asked for; the counts stay balanced', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('fixed-ring', 40));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  ring.updateMeta();
  const { addr, length } = ring.mapping;
  const target = addr + 3n * page;
  assert.equal(sys.mmapRaw(target, page, PROT_READ, MAP_SHARED | MAP_FIXED, ring.fd, 0n), target);
  assert.ok(copyOf(target, pageSize).equals(copyOf(addr, pageSize)), 'the meta page now also sits at the third page of the old mapping');
  assert.equal(readMetaPage(new DataView(sys.viewOf(target, pageSize))).nrDataPages, RING_PAGES);
  sys.munmapRange(addr, length);
  ring.forgetUnmappedRange();
  assertCpu0Unmapped('after every piece was unmapped');
});

traceTest('hostile: mremap() moves a mapping to a fixed address (same pages there, counts balanced) and refuses a duplicate (old length 0) with EFAULT', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('moved', 60));
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.mapFd(fd, 0));
  const length = ring.mapping.length;
  let live = sys.mmapRaw(0n, BigInt(length), PROT_READ, MAP_SHARED, fd, 0n);
  cleanup.add('unmap the second mapping', () => {
    if (live !== 0n) sys.munmapRange(live, length);
  });
  const reserved = sys.mmapRaw(0n, BigInt(length), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  cleanup.add('unmap the reservation', () => {
    if (live !== reserved) sys.munmapRange(reserved, length);
  });
  live = sys.mremap(live, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, reserved);
  assert.equal(live, reserved, 'moved to the requested address');
  assert.ok(copyOf(live, length).equals(copyOf(ring.mapping.addr, length)), 'the moved mapping shows the same pages');
  assertErrno(() => sys.mremap(live, 0, length, MREMAP_MAYMOVE), 'EFAULT', 'duplicating a VM_DONTEXPAND mapping');
  // The first mapping still consumes after its sibling moved.
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), numberedMarkers('moved', 60));
  sys.munmapRange(live, length);
  live = 0n;
  ring.close();
  assertCpu0Unmapped('after the moved and the original mapping were unmapped');
});

traceTest('hostile: snapshot_raw cannot be mapped (ENODEV), and there is no all-CPU trace_pipe_raw to map', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  cleanup.snapshot(topLevel);
  writeTraceFile(topLevel, 'snapshot', '1');
  const fd = cleanup.fd(openSync(perCpuPath(topLevel, 0, 'snapshot_raw'), sys.constants.O_RDONLY));
  assertErrno(() => sys.mmapRaw(0n, page, PROT_READ, MAP_SHARED, fd, 0n), 'ENODEV', 'mmap of per_cpu/cpu0/snapshot_raw');
  assert.equal(existsSync(`${topLevel.path}/trace_pipe_raw`), false, 'trace_pipe_raw exists only per CPU');
});

traceTest('hostile: madvise(MADV_DOFORK) lets a child inherit the mapping; its exit leaves the counts balanced (resize works after the unmap)', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('dofork', 100));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  sys.madvise(ring.mapping.addr, ring.mapping.length, sys.constants.MADV_DOFORK);
  for (let i = 0; i < 3; i++) assert.equal(sys.forkProbe(ring.mapping.addr, ring.mapping.length), true, `child ${i} inherited the mapping`);
  assertErrno(() => setBufferSizeKb(topLevel, 64, 0), 'EBUSY', 'resize while the parent still maps cpu0');
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), numberedMarkers('dofork', 100));
  ring.close();
  assertCpu0Unmapped('after the parent unmapped');
});

traceTest('hostile: MADV_DODUMP on the mapping, a CPU that does not exist, and another fd closed meanwhile', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.mapFd(fd, 0));
  // VM_DONTEXPAND makes the VMA special: it stays out of core dumps.
  assertErrno(() => sys.madvise(ring.mapping.addr, ring.mapping.length, sys.constants.MADV_DODUMP), 'EINVAL', 'MADV_DODUMP');
  const absent = Math.max(...onlineCpus()) + 64;
  assertErrno(() => openTracePipeRaw({ cpu: absent }), 'ENOENT', `trace_pipe_raw of cpu${absent}`);
  closeSync(openTracePipeRaw({ cpu: 0 }));
  writeMarkers(topLevel, numberedMarkers('other-closed', 20));
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), numberedMarkers('other-closed', 20), 'the mapped fd still consumes');
});
