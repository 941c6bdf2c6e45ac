/**
 * The ioctls on a trace_pipe_raw fd: UPDATE_META_PAGE, GET_READER_PAGE,
 * command 0 (wake waiters), unknown commands, and the TCGETS hazard.
 */
import assert from 'node:assert/strict';
import {
  decodePage,
  MappedConsumer,
  openTracePipeRaw,
  readTraceFile,
  RingBufferMapping,
  setTracingOn,
  sys,
  topLevel,
  TRACE_MMAP_IOCTL_GET_READER_PAGE,
  TRACE_MMAP_IOCTL_UPDATE_META_PAGE,
  writeMarkers,
  writeTraceFile,
} from '../../reader/index.js';
import { assertErrno } from './lib/assertions.js';
import { ChildHelper, describeChild } from './lib/children.js';
import { markersOf, numberedMarkers } from './lib/markers.js';
import { formats, smallCpu0Ring } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';
import { waitForKernelWait } from './lib/waiting.js';

const RING_PAGES = 6;


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `child` blocks in splice() of cpu0; command 0 on the mapped fd makes it return with nothing. */
async function assertCommand0WakesSplice(child: ChildHelper, ring: RingBufferMapping): Promise<void> {
  await child.waitFor(/blocking/);
  await waitForKernelWait(child.pid, /ring_buffer_wait|wait_on_pipe/);
  await sleep(500);
  assert.equal(child.exited, false, 'the reader is blocked before the wake-up');
  assert.equal(sys.ioctl(ring.fd, 0), 0, 'command 0 returns 0');
  const result = await child.result(20_000);
  assert.match(result.stdout, /returned 0/, `woken reader returns with nothing: ${describeChild(result)}`);
}

traceTest('ioctl: UPDATE_META_PAGE returns 0 and its entries/overrun match the events written', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  assert.equal(sys.ioctl(ring.fd, TRACE_MMAP_IOCTL_UPDATE_META_PAGE), 0);
  assert.equal(ring.meta().entries, 0n);
  let written = 0;
  for (const count of [1, 60, 200]) {
    writeMarkers(topLevel, numberedMarkers(`count-${count}`, count));
    written += count;
    const meta = ring.updateMeta();
    assert.equal(meta.entries, BigInt(written), `after ${written} markers`);
    assert.equal(meta.overrun, 0n);
    assert.deepEqual(ring.inconsistencies(meta), []);
  }
  // pages_touched follows the writer: the markers span several pages by now.
  const spanned = new MappedConsumer(ring, formats()).drain().eventsPerPage.filter((count) => count > 0).length;
  const touched = ring.updateMeta().pagesTouched;
  assert.ok(touched >= spanned - 1 && touched <= spanned, `pages_touched ${touched} for ${spanned} pages written`);
});

traceTest('ioctl: GET_READER_PAGE hands pages over in ring order; markers come out complete, in order, once', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const markers = numberedMarkers('ring-order', 450); // about four pages, less than the ring
  writeMarkers(topLevel, markers);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const { layouts, lookup } = formats();
  const out: string[] = [];
  assert.equal(ring.meta().readerRead, 0, 'the reader page holds nothing read yet');
  for (let handovers = 0; ; handovers++) {
    const before = ring.updateMeta();
    const expectedNext = before.dataPages[before.dataPageHead];
    if (!ring.getReaderPage()) break;
    assert.ok(handovers < RING_PAGES + 2, 'GET_READER_PAGE stops with EAGAIN');
    const after = ring.meta();
    assert.equal(after.readerPage, expectedNext, 'the new reader page is the page data_page_head named');
    assert.equal(
      after.dataPages[before.dataPageHead],
      before.readerPage,
      'the old reader page takes the old head slot in data_pages[]',
    );
    assert.equal(after.dataPageHead, (before.dataPageHead + 1) % before.nrDataPages, 'the head moves one slot on');
    assert.deepEqual(ring.inconsistencies(after), []);
    const { walk, events } = decodePage(ring.pageView(after.readerPage), layouts, lookup);
    assert.equal(after.readerRead, walk.header.dataLength, 'the whole page is handed over: reader_read == its commit');
    out.push(...markersOf(events));
  }
  assert.deepEqual(out, markers);
});

traceTest('ioctl: GET_READER_PAGE on an empty buffer fails with EAGAIN and leaves the reader page', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const before = ring.updateMeta();
  assertErrno(() => sys.ioctl(ring.fd, TRACE_MMAP_IOCTL_GET_READER_PAGE), 'EAGAIN', 'GET_READER_PAGE on empty');
  assert.deepEqual(ring.updateMeta(), before, 'meta page unchanged');
});

traceTest('ioctl: with the writer on the reader page GET_READER_PAGE gives EAGAIN; after new events it returns 0 and keeps that page', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  writeMarkers(topLevel, numberedMarkers('partial', 5));
  assert.equal(ring.getReaderPage(), true, 'the page with the markers is swapped in');
  const reader = ring.meta().readerPage;
  const { layouts, lookup } = formats();
  const handed = decodePage(ring.pageView(reader), layouts, lookup);
  assert.equal(handed.events.length, 5);
  const fiveMarkersRead = handed.walk.header.dataLength;
  assert.equal(ring.meta().readerRead, fiveMarkersRead, 'reader_read: the five markers handed over');
  assert.equal(ring.getReaderPage(), false, 'nothing more to hand over: EAGAIN');
  assert.equal(ring.meta().readerPage, reader, 'EAGAIN leaves the reader page');
  writeMarkers(topLevel, numberedMarkers('partial-more', 3));
  assert.equal(ring.meta().readerPage, reader, 'still the same reader page');
  assert.deepEqual(
    markersOf(decodePage(ring.pageView(reader), layouts, lookup).events).slice(5),
    numberedMarkers('partial-more', 3),
    'the writer added the new markers to the page user space holds',
  );
  assert.equal(ring.meta().readerRead, fiveMarkersRead, 'writing does not move reader_read');
  assert.equal(ring.getReaderPage(), true, 'unread events on the reader page: 0, not EAGAIN');
  assert.equal(ring.meta().readerPage, reader, 'and the page is kept (nothing else to swap in)');
  const eightMarkersRead = decodePage(ring.pageView(reader), layouts, lookup).walk.header.dataLength;
  assert.equal(ring.meta().readerRead, eightMarkersRead, 'reader_read: up to the three new markers, which follow the five');
  assert.equal(ring.getReaderPage(), false, 'then EAGAIN again');
  assert.equal(ring.updateMeta().entries, 8n);
});

traceTest('ioctl: GET_READER_PAGE (TCGETS) and UPDATE_META_PAGE (TCSETS) on an fd that holds no mapping fail with ENOTTY, as on pristine 6.1', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  assertErrno(() => sys.ioctl(fd, TRACE_MMAP_IOCTL_GET_READER_PAGE), 'ENOTTY', 'GET_READER_PAGE, never mapped');
  assertErrno(() => sys.ioctl(fd, TRACE_MMAP_IOCTL_UPDATE_META_PAGE), 'ENOTTY', 'UPDATE_META_PAGE, never mapped');
  const ring = RingBufferMapping.mapFd(fd, 0);
  ring.close();
  assertErrno(() => sys.ioctl(fd, TRACE_MMAP_IOCTL_GET_READER_PAGE), 'ENOTTY', 'GET_READER_PAGE after unmap');
  assertErrno(() => sys.ioctl(fd, TRACE_MMAP_IOCTL_UPDATE_META_PAGE), 'ENOTTY', 'UPDATE_META_PAGE after unmap');
});

traceTest('ioctl: unknown commands fail with ENOTTY, mapped or not', ({ cleanup }) => {
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const unknown = [0x5403 /* _IO('T', 3) */, 0x5400, 0x1234, 0x80045401 /* _IOR('T', 1, int) */];
  for (const command of unknown) assertErrno(() => sys.ioctl(fd, command), 'ENOTTY', `unmapped, command 0x${command.toString(16)}`);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.mapFd(fd, 0));
  for (const command of unknown) assertErrno(() => sys.ioctl(ring.fd, command), 'ENOTTY', `mapped, command 0x${command.toString(16)}`);
});

traceTest('ioctl: command 0 on a mapped fd wakes a reader blocked in splice() (tracing off)', async ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  // With tracing off, a woken splice() returns instead of waiting again.
  setTracingOn(topLevel, false);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const child = new ChildHelper('blocked-reader', ['splice', '0']);
  cleanup.add('stop blocked reader', () => child.kill());
  await assertCommand0WakesSplice(child, ring);
});

traceTest('ioctl: command 0 on the same open file (mapped) wakes its splice() reader even with tracing on', async ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.mapFd(fd, 0));
  const child = new ChildHelper('blocked-reader', ['splice', 'inherited'], [fd]);
  cleanup.add('stop blocked reader', () => child.kill());
  await assertCommand0WakesSplice(child, ring);
});

traceTest('ioctl: command 0 wakes waiters; a reader blocked in read() then gets the data written next', async ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const child = new ChildHelper('blocked-reader', ['read', '0']);
  cleanup.add('stop blocked reader', () => child.kill());
  await child.waitFor(/blocking/);
  await waitForKernelWait(child.pid, /ring_buffer_wait|wait_on_pipe/);
  await sleep(500);
  assert.equal(sys.ioctl(fd, 0), 0, 'command 0 returns 0');
  await sleep(1500);
  // 6.1's read() waits again while the buffer stays empty after a wake-up.
  assert.equal(child.exited, false, 'read() goes back to waiting on an empty buffer');
  writeMarkers(topLevel, ['wake-read']);
  const result = await child.result(20_000);
  assert.match(result.stdout, new RegExp(`returned ${sys.pageSize()}`), describeChild(result));
});

traceTest('ioctl: isatty() on a mapped fd with unread data issues TCGETS == GET_READER_PAGE: says "tty" and consumes a page (hazard, pinned)', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('isatty', 10));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const before = ring.updateMeta();
  const result = sys.isatty(ring.fd);
  assert.deepEqual(result, { tty: true, code: null }, 'TCGETS reached GET_READER_PAGE, which returned 0');
  const after = ring.meta();
  assert.notEqual(after.readerPage, before.readerPage, 'isatty() swapped a new reader page in');
  assert.equal(after.readerPage, before.dataPages[before.dataPageHead]);
});

traceTest('ioctl: isatty() on a mapped fd with nothing to read is false with errno EAGAIN, not ENOTTY (hazard, pinned)', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  assert.deepEqual(sys.isatty(ring.fd), { tty: false, code: 'EAGAIN' });
});

traceTest('ioctl: isatty() on a trace_pipe_raw fd that holds no mapping is false with errno ENOTTY, as on pristine 6.1', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  assert.deepEqual(sys.isatty(fd), { tty: false, code: 'ENOTTY' });
});

traceTest('ioctl: poll() on a mapped fd times out when empty, reports POLLIN after a marker, and times out again once the mapping consumed it', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const percentBefore = readTraceFile(topLevel, 'buffer_percent').trim();
  cleanup.add('restore buffer_percent', () => writeTraceFile(topLevel, 'buffer_percent', `${percentBefore}\n`));
  writeTraceFile(topLevel, 'buffer_percent', '0\n'); // wake on any data
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const { POLLIN } = sys.constants;
  assert.equal(sys.poll(ring.fd, POLLIN, 200), 0, 'empty: poll times out');
  writeMarkers(topLevel, ['poll-me']);
  assert.ok((sys.poll(ring.fd, POLLIN, 5000) & POLLIN) !== 0, 'a marker makes the fd readable');
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), ['poll-me']);
  assert.equal(sys.poll(ring.fd, POLLIN, 200), 0, 'consumed through the mapping: no phantom data');
});
