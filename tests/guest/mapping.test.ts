/**
 * Mapping: what mmap() of per_cpu/cpuN/trace_pipe_raw gives and refuses.
 */
import assert from 'node:assert/strict';
import { openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createInstance,
  dataPagesListedByOneMetaPage,
  decodePage,
  kbForRingPages,
  kbShownForRingPages,
  MappedConsumer,
  META_STRUCT_LEN,
  metaAreaSize,
  openTracePipeRaw,
  perCpuBufferSizeKb,
  readMetaPage,
  resetBuffer,
  RingBufferMapping,
  ringPagesForKb,
  setBufferSizeKb,
  sys,
  topLevel,
  writeMarkers,
} from '../../reader/index.js';
import { assertErrno } from './lib/assertions.js';
import { ChildHelper, describeChild, runHelper } from './lib/children.js';
import { markersOf, numberedMarkers, pagesWorthOf } from './lib/markers.js';
import { copyOf, formats, smallCpu0Ring } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';

const { PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MADV_DONTNEED } = sys.constants;
const RING_PAGES = 4;


function rangeOf(count: number, first = 0): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

traceTest('mapping: meta page fields are sane before writes (IDs from the head) and after writes', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const before = ring.meta();
  assert.equal(before.entries, 0n);
  assert.equal(before.overrun, 0n);
  assert.equal(before.nrDataPages, RING_PAGES, 'nr_data_pages = ring pages for buffer_size_kb');
  assert.equal(before.readerPage, 0, 'the reader page gets ID 0');
  assert.deepEqual(before.dataPages, rangeOf(RING_PAGES, 1), 'ring pages get IDs 1..n from the head');
  assert.equal(before.dataPageHead, 0, 'the head is data_pages[0]');
  assert.equal(ring.pageIdCount, RING_PAGES + 1);
  assert.equal(before.metaPageSize, ring.pageSize, 'a short list keeps the one-page meta area of the RFC');
  assert.ok(before.metaStructLen >= META_STRUCT_LEN, `meta_struct_len ${before.metaStructLen}`);
  assert.equal(before.readerRead, 0, 'nothing consumed');
  assert.equal(before.readerLostEvents, 0n);
  assert.equal(before.read, 0n);
  assert.equal(before.flags, 0);

  const markers = numberedMarkers('meta-sane', 30);
  writeMarkers(topLevel, markers);
  const after = ring.updateMeta();
  assert.equal(after.entries, BigInt(markers.length), 'entries counts the markers');
  assert.equal(after.overrun, 0n);
  assert.equal(after.nrDataPages, RING_PAGES);
  assert.deepEqual(ring.inconsistencies(after), []);
  assert.ok(after.pagesTouched <= RING_PAGES + 1, `pages_touched ${after.pagesTouched}`);
  assert.equal(after.read, 0n, 'writing consumes nothing');
  assert.equal(after.readerRead, 0);
});

/** Each page ID mapped alone at meta_page_size + id * PAGE_SIZE shows the same bytes as the ring's own mapping. */
function assertPagesAtTheirOffsets(ring: RingBufferMapping, fd: number): void {
  const pageSize = ring.pageSize;
  const { metaPageSize } = ring.meta();
  for (let id = 0; id < ring.pageIdCount; id++) {
    const single = sys.mmap(fd, pageSize, PROT_READ, MAP_SHARED, metaPageSize + id * pageSize);
    try {
      assert.ok(copyOf(new DataView(single.buffer)).equals(copyOf(ring.pageView(id))), `page ID ${id}`);
    } finally {
      sys.munmap(single);
    }
  }
  const metaArea = sys.mmap(fd, metaPageSize, PROT_READ, MAP_SHARED, 0);
  try {
    assert.ok(copyOf(new DataView(metaArea.buffer)).equals(copyOf(ring.metaView())), 'offset 0 is the meta area');
  } finally {
    sys.munmap(metaArea);
  }
}

traceTest('mapping: the page with ID n is at byte meta_page_size + n * PAGE_SIZE (checked with one-page mappings)', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('page-offset', 250)); // more than two pages
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  assert.equal(ring.metaPageSize, ring.pageSize, 'a one-page meta area: page ID n at page offset 1 + n, as in the RFC');
  assertPagesAtTheirOffsets(ring, fd);
  // After a handover the new reader page's ID points at the page with the oldest markers.
  assert.equal(ring.getReaderPage(), true);
  const reader = ring.meta().readerPage;
  const { events } = decodePage(ring.pageView(reader), formats().layouts, formats().lookup);
  assert.equal(markersOf(events)[0], 'page-offset-000000', `page ID ${reader} holds the first markers`);
});

traceTest('mapping: data_pages[] stays a permutation of the non-reader IDs across handovers', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const consumer = new MappedConsumer(ring, formats());
  for (let round = 0; round < 3; round++) {
    writeMarkers(topLevel, numberedMarkers(`perm-${round}`, 180));
    consumer.drain();
    const meta = ring.updateMeta();
    assert.deepEqual(ring.inconsistencies(meta), [], `round ${round}`);
    const all = [meta.readerPage, ...meta.dataPages].sort((a, b) => a - b);
    assert.deepEqual(all, rangeOf(RING_PAGES + 1), `round ${round}: reader + data_pages = every ID once`);
  }
});

traceTest('mapping: PROT_WRITE through an O_RDWR fd is refused by the driver with EPERM', ({ cleanup }) => {
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, readWrite: true }));
  assertErrno(() => sys.mmap(fd, sys.pageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, 0), 'EPERM', 'writable shared mapping');
});

traceTest('mapping: PROT_WRITE through an O_RDONLY fd is refused by the mm core with EACCES', ({ cleanup }) => {
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  assertErrno(() => sys.mmap(fd, sys.pageSize(), PROT_READ | PROT_WRITE, MAP_SHARED, 0), 'EACCES', 'writable shared mapping');
});

traceTest('mapping: mprotect() adding PROT_WRITE (or PROT_EXEC) is refused: VM_MAYWRITE is cleared even on an O_RDWR fd', ({ cleanup }) => {
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, readWrite: true }));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.mapFd(fd, 0));
  assertErrno(() => sys.mprotect(ring.mapping.addr, ring.pageSize, PROT_READ | PROT_WRITE), 'EACCES', 'mprotect(+write)');
  assertErrno(() => sys.mprotect(ring.mapping.addr, ring.pageSize, PROT_READ | PROT_EXEC), 'EACCES', 'mprotect(+exec)');
});

traceTest('mapping: a read-only shared mapping through an O_RDONLY fd works (the mm core drops VM_SHARED, keeps VM_MAYSHARE)', ({ cleanup }) => {
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const mapping = sys.mmap(fd, sys.pageSize(), PROT_READ, MAP_SHARED, 0);
  cleanup.add('unmap meta page', () => sys.munmap(mapping));
  assert.ok(readMetaPage(new DataView(mapping.buffer)).nrDataPages >= 2, 'the meta page lists the ring');
});

traceTest('mapping: a private mapping is refused (EINVAL): only shared mappings are offered', ({ cleanup }) => {
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  assertErrno(() => sys.mmap(fd, sys.pageSize(), PROT_READ, sys.constants.MAP_PRIVATE, 0), 'EINVAL', 'MAP_PRIVATE');
});

traceTest('mapping: an executable mapping is refused with EPERM', ({ cleanup }) => {
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  assertErrno(() => sys.mmap(fd, sys.pageSize(), PROT_READ | PROT_EXEC, MAP_SHARED, 0), 'EPERM', 'PROT_EXEC mapping');
});

/** The VmFlags of the VMA that starts at `addr` in /proc/self/smaps. */
function vmFlagsAt(addr: bigint): string[] {
  const smaps = readFileSync('/proc/self/smaps', 'utf8').split('\n');
  const start = addr.toString(16);
  let inside = false;
  for (const line of smaps) {
    const header = /^([0-9a-f]+)-[0-9a-f]+ /.exec(line);
    if (header !== null) inside = header[1] === start;
    else if (inside && line.startsWith('VmFlags:')) return line.slice('VmFlags:'.length).trim().split(/\s+/);
  }
  throw new Error(`no VMA at 0x${start} in /proc/self/smaps`);
}

traceTest('mapping: /proc/self/smaps VmFlags carry dc (VM_DONTCOPY) and dd (VM_DONTDUMP), not mw', ({ cleanup }) => {
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const flags = vmFlagsAt(ring.mapping.addr);
  assert.ok(flags.includes('dc'), `dc in ${flags.join(' ')}`);
  assert.ok(flags.includes('dd'), `dd in ${flags.join(' ')}`);
  // Through an O_RDONLY fd the mm core keeps VM_MAYSHARE ("ms") and drops VM_SHARED.
  assert.ok(flags.includes('ms'), `may share: ${flags.join(' ')}`);
  assert.ok(!flags.includes('mw') && !flags.includes('wr'), `never writable: ${flags.join(' ')}`);
  assert.ok(!flags.includes('ex') && !flags.includes('me'), `never executable: ${flags.join(' ')}`);
});

traceTest('mapping: a forked child does not have the mapping (VM_DONTCOPY)', ({ cleanup }) => {
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  assert.equal(sys.forkProbe(ring.mapping.addr, ring.mapping.length), false, 'child sees no ring mapping');
  // Control: an ordinary shared file mapping is inherited, so the probe does see mappings.
  const path = `/tmp/rbmap-fork-control-${process.pid}`;
  writeFileSync(path, Buffer.alloc(sys.pageSize()));
  cleanup.add('remove control file', () => rmSync(path, { force: true }));
  const fd = cleanup.fd(openSync(path, 'r'));
  const control = sys.mmap(fd, sys.pageSize(), PROT_READ, MAP_SHARED, 0);
  try {
    assert.equal(sys.forkProbe(control.addr, control.length), true, 'child sees an ordinary mapping');
  } finally {
    sys.munmap(control);
  }
});

traceTest('mapping: reading past the last page kills the reader with SIGBUS (child process)', async () => {
  smallCpu0Ring(RING_PAGES);
  const result = await runHelper('touch-beyond', ['length', '0']);
  assert.ok(/touching/.test(result.stdout), `mapping one page too long was accepted and the last valid page read: ${describeChild(result)}`);
  assert.equal(result.signal, 'SIGBUS', describeChild(result));
});

traceTest('mapping: a one-page mapping at an offset past the last page SIGBUSes on access, or is refused', async () => {
  smallCpu0Ring(RING_PAGES);
  const result = await runHelper('touch-beyond', ['offset', '0']);
  if (result.code === 3) {
    assert.match(result.stdout, /refused E(INVAL|NXIO|FAULT|PERM)/, describeChild(result));
  } else {
    assert.equal(result.signal, 'SIGBUS', describeChild(result));
  }
});

traceTest('mapping: the same fd mapped twice, two fds and a second process all see the same bytes', async ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('same-bytes', 150));
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const first = cleanup.closes('first mapping', RingBufferMapping.mapFd(fd, 0));
  first.getReaderPage(); // something other than the initial state
  first.updateMeta();
  const second = cleanup.closes('second mapping of the same fd', RingBufferMapping.mapFd(fd, 0));
  const other = cleanup.closes('mapping of another fd', RingBufferMapping.open({ cpu: 0 }));
  assert.notEqual(first.mapping.addr, second.mapping.addr);
  for (const [name, ring] of [['same fd', second], ['other fd', other]] as const) {
    assert.ok(copyOf(first.metaView()).equals(copyOf(ring.metaView())), `${name}: meta page`);
    for (let id = 0; id < first.pageIdCount; id++) {
      assert.ok(copyOf(first.pageView(id)).equals(copyOf(ring.pageView(id))), `${name}: page ID ${id}`);
    }
  }
  const child = new ChildHelper('map-holder', ['0']);
  cleanup.add('stop map-holder', () => child.kill());
  const match = await child.waitFor(/^mapped (.*)$/m);
  const seen = JSON.parse(match[1] ?? '{}') as { pages: string[]; meta: { readerPage: number } };
  const { createHash } = await import('node:crypto');
  const ours = rangeOf(first.pageIdCount).map((id) =>
    createHash('sha256').update(copyOf(first.pageView(id))).digest('hex'),
  );
  assert.deepEqual(seen.pages, ours, 'the other process sees the same data pages');
  assert.equal(seen.meta.readerPage, first.meta().readerPage, 'and the same reader page');
  child.send('exit');
  const result = await child.result();
  assert.equal(result.code, 0, describeChild(result));
});

traceTest('mapping: partial munmap then the rest leaves the count balanced (resize works again)', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const { addr, length } = ring.mapping;
  const pageSize = ring.pageSize;
  // Punch a hole in the middle: the VMA splits in two (each holds the buffer).
  sys.munmapRange(addr + BigInt(2 * pageSize), pageSize);
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 2), 0), 'EBUSY', 'resize while the split halves are mapped');
  // Unmap the first half only: the second still holds the buffer.
  sys.munmapRange(addr, 2 * pageSize);
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 2), 0), 'EBUSY', 'resize while one half is mapped');
  // The rest (munmap of a range with holes is fine).
  sys.munmapRange(addr, length);
  ring.forgetUnmappedRange();
  setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 2), 0);
  assert.equal(perCpuBufferSizeKb(topLevel, 0), kbShownForRingPages(RING_PAGES + 2));
  // and a new mapping sees the new ring
  const again = cleanup.closes('new mapping', RingBufferMapping.open({ cpu: 0 }));
  assert.equal(again.meta().nrDataPages, RING_PAGES + 2);
});

traceTest('mapping: mremap() shrinking a mapping keeps the count balanced (resize works after the unmap)', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const { addr, length } = ring.mapping;
  const kept = 2 * ring.pageSize;
  const moved = sys.mremap(addr, length, kept, 0);
  assert.equal(moved, addr, 'shrinking in place');
  ring.forgetUnmappedRange();
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 2), 0), 'EBUSY', 'resize while the shrunk mapping lives');
  sys.munmapRange(addr, kept);
  setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 2), 0);
  assert.equal(perCpuBufferSizeKb(topLevel, 0), kbShownForRingPages(RING_PAGES + 2));
});

traceTest('mapping: a process killed while mapping drops its mapping (resize works after it dies)', async ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const child = new ChildHelper('map-holder', ['0']);
  cleanup.add('stop map-holder', () => child.kill());
  await child.waitFor(/^mapped /m);
  assertErrno(() => setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 2), 0), 'EBUSY', 'while the child maps cpu0');
  child.kill();
  const result = await child.result();
  assert.equal(result.signal, 'SIGKILL', describeChild(result));
  setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES + 2), 0);
  assert.equal(perCpuBufferSizeKb(topLevel, 0), kbShownForRingPages(RING_PAGES + 2));
});

traceTest('mapping: madvise(MADV_DONTNEED) then re-reading refaults the same data', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('refault', 200));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  ring.updateMeta();
  const before = copyOf(new DataView(ring.mapping.buffer));
  sys.madvise(ring.mapping.addr, ring.mapping.length, MADV_DONTNEED);
  const after = copyOf(new DataView(ring.mapping.buffer));
  assert.ok(after.equals(before), 'every page reads the same after the zap');
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), numberedMarkers('refault', 200));
});

traceTest('mapping: mremap growth cannot reach a page that does not exist (refused, or SIGBUS)', async () => {
  smallCpu0Ring(RING_PAGES);
  const result = await runHelper('touch-beyond', ['mremap', '0']);
  if (result.code === 3) {
    assert.match(result.stdout, /refused E[A-Z0-9]+/, describeChild(result));
  } else {
    assert.equal(result.signal, 'SIGBUS', `grown page must not be readable: ${describeChild(result)}`);
  }
});

/** Every byte of the meta area after data_pages[] (up to meta_page_size) is zero. */
function assertMetaTailZero(ring: RingBufferMapping): void {
  const meta = ring.updateMeta();
  const listEnd = meta.metaStructLen + 4 * meta.nrDataPages;
  const area = copyOf(ring.metaView());
  assert.equal(area.length, meta.metaPageSize, 'the view covers the whole meta area');
  const nonZero = area.subarray(listEnd).findIndex((byte) => byte !== 0);
  assert.equal(nonZero, -1, `byte ${listEnd + nonZero} of the ${meta.metaPageSize}-byte meta area is not zero`);
}

traceTest('mapping: the bytes of the meta area after data_pages[] are zero', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('meta-zero', 50));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  new MappedConsumer(ring, formats()).drain();
  assertMetaTailZero(ring);
});

/** Guest memory in bytes (MemTotal). */
function guestMemoryBytes(): number {
  return Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024;
}

traceTest('mapping: a ring of as many pages as one meta page lists (1008 with 4 KiB pages) keeps the one-page meta area; one page more maps with two', ({ t, cleanup }) => {
  const pageSize = sys.pageSize();
  const listedByOnePage = dataPagesListedByOneMetaPage(pageSize);
  assert.equal(listedByOnePage, (pageSize - 64) / 4, `data_pages[] from byte 64 to the end of a ${pageSize / 1024} KiB page`);
  const largerBytes = (listedByOnePage + 1) * pageSize;
  const memBytes = guestMemoryBytes();
  if (largerBytes > memBytes / 2) {
    t.skip(`a ${listedByOnePage + 1}-page ring takes ${(largerBytes / 2 ** 20).toFixed(0)} MiB with ${pageSize / 1024} KiB pages, more than half of this guest's ${(memBytes / 2 ** 20).toFixed(0)} MiB (boot it with a larger --mem)`);
    return;
  }
  const name = `rbmap-meta-pages-${process.pid}`;
  cleanup.instance(name);
  const array = createInstance(name);
  const fitsKb = kbForRingPages(listedByOnePage);
  const largerKb = kbForRingPages(listedByOnePage + 1);
  assert.equal(ringPagesForKb(largerKb), listedByOnePage + 1);

  setBufferSizeKb(array, fitsKb, 0);
  const fits = RingBufferMapping.open({ cpu: 0, instance: name });
  try {
    const meta = fits.meta();
    assert.equal(meta.nrDataPages, listedByOnePage, 'exactly full meta page');
    assert.equal(meta.metaPageSize, pageSize, 'the RFC layout: one meta page, page ID n at page offset 1 + n');
    assert.equal(fits.pageOffset(listedByOnePage), (1 + listedByOnePage) * pageSize);
    assert.deepEqual(fits.inconsistencies(meta), []);
  } finally {
    fits.close();
  }

  setBufferSizeKb(array, largerKb, 0);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, instance: name }));
  const larger = cleanup.closes('mapping of the larger ring', RingBufferMapping.mapFd(fd, 0));
  const meta = larger.meta();
  assert.equal(meta.nrDataPages, listedByOnePage + 1);
  assert.equal(meta.metaPageSize, 2 * pageSize, 'the list runs into a second meta page');
  assert.equal(meta.metaPageSize, metaAreaSize(meta.nrDataPages, pageSize));
  assert.equal(larger.mapping.length, 2 * pageSize + (listedByOnePage + 2) * pageSize, 'meta area + every page ID');
  assert.deepEqual(larger.inconsistencies(meta), [], 'every ID listed once, the last ones from the second meta page');
  assertPagesAtTheirOffsets(larger, fd);
  // The IDs are real pages: markers written over several pages come back through them.
  const markers = numberedMarkers('two-meta-pages', pagesWorthOf(400));
  writeMarkers(array, markers);
  assert.deepEqual(markersOf(new MappedConsumer(larger, formats()).drain().events), markers);
  assertMetaTailZero(larger);
  larger.close();
  // shrink again so the instance frees quickly
  setBufferSizeKb(array, 4, 0);
}, { timeout: 120_000 });

traceTest('mapping: a 64 MB ring on cpu0 maps; markers come out through the library; every page ID reads at its offset, one page past SIGBUSes', async ({ t, cleanup }) => {
  const ringKb = 65536;
  const memBytes = guestMemoryBytes();
  if (ringKb * 1024 > memBytes / 4) {
    t.skip(`a ${ringKb / 1024} MB ring is more than a quarter of this guest's ${(memBytes / 2 ** 20).toFixed(0)} MiB (boot it with a larger --mem)`);
    return;
  }
  // The trace-state capture of traceTest puts cpu0's size back afterwards.
  setBufferSizeKb(topLevel, ringKb, 0);
  resetBuffer(topLevel);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const meta = ring.meta();
  const pageSize = ring.pageSize;
  assert.equal(meta.nrDataPages, ringPagesForKb(ringKb), 'the whole ring is listed');
  assert.equal(meta.metaPageSize, metaAreaSize(meta.nrDataPages, pageSize), 'round_up(64 + 4 * nr_data_pages, PAGE_SIZE)');
  if (pageSize === 4096) assert.equal(meta.metaPageSize, 17 * pageSize, 'seventeen meta pages list 16449 IDs');
  assert.deepEqual(ring.inconsistencies(meta), []);

  const markers = numberedMarkers('big-ring', pagesWorthOf(1000));
  writeMarkers(topLevel, markers);
  const drained = new MappedConsumer(ring, formats()).drain();
  assert.deepEqual(markersOf(drained.events), markers, 'every marker once, in order');
  assert.ok(drained.pagesTaken >= 5, `pages filled and handed over (${drained.pagesTaken})`);
  const after = ring.updateMeta();
  assert.equal(after.entries - after.overrun - after.read, 0n, 'nothing left unread (entries - overrun - read)');
  assert.deepEqual(ring.inconsistencies(after), []);
  assertMetaTailZero(ring);

  const result = await runHelper('touch-beyond', ['every', '0'], 120_000);
  assert.match(result.stdout, new RegExp(`^touched ${meta.nrDataPages + 1} pages$`, 'm'), `every page ID read without SIGBUS: ${describeChild(result)}`);
  assert.match(result.stdout, /^touching$/m, describeChild(result));
  assert.equal(result.signal, 'SIGBUS', `the page past the last ID: ${describeChild(result)}`);
}, { timeout: 300_000 });

traceTest('mapping: the meta page read through a fresh mapping equals readMetaPage of the live one', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const metaArea = sys.mmap(fd, ring.metaPageSize, PROT_READ, MAP_SHARED, 0);
  try {
    assert.deepEqual(readMetaPage(new DataView(metaArea.buffer)), ring.meta());
  } finally {
    sys.munmap(metaArea);
  }
});
