/**
 * Coexistence: the other readers keep working on a mapped buffer and
 * keep the meta page true; resets, clock changes, instances, all CPUs at once.
 *
 * "The meta page is true" is checked by using it: after the other reader has
 * consumed what it wanted, new markers are written and must come out of the
 * mapping (reader_page, data_pages[] and the head drive the consumer) complete,
 * in order and once.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import {
  availableClocks,
  createInstance,
  currentClock,
  hasCode,
  instanceExists,
  kbForRingPages,
  MappedConsumer,
  onlineCpus,
  openTracePipeRaw,
  perCpuPath,
  removeInstance,
  resetBuffer,
  RingBufferMapping,
  setBufferSizeKb,
  setClock,
  sys,
  topLevel,
  tracePath,
  writeMarkers,
} from '../../reader/index.js';
import { assertErrno } from './lib/assertions.js';
import { markersOf, markersOfRawPages, numberedMarkers, pagesWorthOf } from './lib/markers.js';
import { formats, readAllPages, readTextUntilEmpty, smallCpu0Ring } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';

const RING_PAGES = 6;


/** The meta page is consistent and drives a correct drain of fresh markers. */
function assertMetaTrue(ring: RingBufferMapping, consumer: MappedConsumer, prefix: string, count = 250): void {
  const meta = ring.updateMeta();
  assert.deepEqual(ring.inconsistencies(meta), [], 'meta page consistent');
  const markers = numberedMarkers(prefix, count);
  writeMarkers(topLevel, markers);
  assert.deepEqual(markersOf(consumer.drain().events), markers, 'fresh markers come out of the mapping');
}

/** Another reader took every event: GET_READER_PAGE says EAGAIN, and the meta page counts them all as read. */
function assertNothingLeftForTheMapping(ring: RingBufferMapping, reader: string): void {
  const meta = ring.updateMeta();
  assert.equal(meta.entries - meta.overrun - meta.read, 0n, `${reader} consumed everything: read == entries - overrun`);
  assert.equal(ring.getReaderPage(), false, `${reader} consumed everything: GET_READER_PAGE says EAGAIN`);
}

traceTest('coexist: read() of the mapped trace_pipe_raw returns correct pages and keeps the meta page true', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const markers = numberedMarkers('coexist-read', 300);
  writeMarkers(topLevel, markers);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, nonBlocking: true }));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.mapFd(fd, 0));
  const data = readAllPages(fd);
  assert.deepEqual(markersOfRawPages(data, ring.pageSize), markers, 'read() returns every marker once, in order');
  assert.equal(ring.updateMeta().entries, BigInt(markers.length));
  assertNothingLeftForTheMapping(ring, 'read()');
  const consumer = new MappedConsumer(ring, formats());
  assert.deepEqual(consumer.drain().events, [], 'the mapping starts at reader_read: nothing read() took');
  assertMetaTrue(ring, consumer, 'after-read');
});

traceTest('coexist: read() through a second, unmapped fd of a mapped CPU works too', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const markers = numberedMarkers('coexist-read2', 200);
  writeMarkers(topLevel, markers);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, nonBlocking: true }));
  assert.deepEqual(markersOfRawPages(readAllPages(fd), ring.pageSize), markers);
  assertNothingLeftForTheMapping(ring, 'read() of the other fd');
  const consumer = new MappedConsumer(ring, formats());
  assert.deepEqual(consumer.drain().events, [], 'the mapping starts at reader_read: nothing read() took');
  assertMetaTrue(ring, consumer, 'after-read2');
});

traceTest('coexist: splice() of the mapped trace_pipe_raw returns full pages; the rest stays on the mapped reader page', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const markers = numberedMarkers('coexist-splice', pagesWorthOf(350));
  writeMarkers(topLevel, markers);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, nonBlocking: true }));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.mapFd(fd, 0));
  const spliced: Buffer[] = [];
  for (let i = 0; i < RING_PAGES + 2; i++) {
    let chunk: Buffer;
    try {
      chunk = sys.splice(fd, ring.pageSize, sys.constants.SPLICE_F_NONBLOCK);
    } catch (error) {
      if (hasCode(error, 'EAGAIN')) break;
      throw error;
    }
    if (chunk.length === 0) break;
    assert.equal(chunk.length % ring.pageSize, 0, 'splice moves whole pages');
    spliced.push(chunk);
  }
  assert.ok(spliced.length >= 2, `full pages were spliced (${spliced.length})`);
  const fromSplice = markersOfRawPages(Buffer.concat(spliced), ring.pageSize);
  const consumer = new MappedConsumer(ring, formats());
  const fromMapping = markersOf(consumer.drain().events);
  assert.ok(fromMapping.length > 0, 'the partly written page is left for the mapping');
  assert.deepEqual([...fromSplice, ...fromMapping], markers, 'splice + mapping give every marker once, in order');
  assertMetaTrue(ring, consumer, 'after-splice');
});

traceTest('coexist: trace_pipe reads the markers of a mapped buffer and keeps the meta page true', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const markers = numberedMarkers('coexist-pipe', 250);
  writeMarkers(topLevel, markers);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const text = readTextUntilEmpty(tracePath(topLevel, 'trace_pipe'));
  const seen = [...text.matchAll(/: (coexist-pipe-\d{6})$/gm)].map((match) => match[1]);
  assert.deepEqual(seen, markers, 'trace_pipe shows every marker once, in order');
  assertNothingLeftForTheMapping(ring, 'trace_pipe');
  const consumer = new MappedConsumer(ring, formats());
  assert.deepEqual(consumer.drain().events, [], 'the mapping starts at reader_read: nothing trace_pipe took');
  assertMetaTrue(ring, consumer, 'after-pipe');
});

/**
 * One read() of at most `bytes` of per_cpu/cpu0/trace_pipe: the markers of the
 * lines it returned. trace_pipe consumes each event it formats; the line of
 * the last one may be cut by the read size (its rest would only come with the
 * next read() of the same open file).
 */
function markersFromCpu0TracePipe(bytes: number, prefix: string): string[] {
  const fd = openSync(perCpuPath(topLevel, 0, 'trace_pipe'), sys.constants.O_RDONLY | sys.constants.O_NONBLOCK);
  try {
    const chunk = Buffer.alloc(bytes);
    const text = chunk.toString('utf8', 0, readSync(fd, chunk, 0, bytes, null));
    return [...text.matchAll(new RegExp(`: (${prefix}-\\d{6})\n`, 'g'))].map((match) => match[1]!);
  } finally {
    closeSync(fd);
  }
}

/** trace_pipe consumed `consumed` events (the meta page's read); the whole lines it printed are the first ones of them. */
function assertTracePipeTookTheOldest(printed: readonly string[], consumed: number, markers: readonly string[]): void {
  assert.ok(consumed > 0 && consumed < 20, `trace_pipe consumed a few markers (${consumed})`);
  assert.ok(printed.length === consumed || printed.length === consumed - 1, `printed ${printed.length} whole lines for ${consumed} events consumed`);
  assert.deepEqual(printed, markers.slice(0, printed.length), 'trace_pipe took the oldest');
}

traceTest('coexist: reader_read follows trace_pipe and read(): the mapping then hands over only what they left, each marker once', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const markers = numberedMarkers('follows', pagesWorthOf(350));
  writeMarkers(topLevel, markers);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, nonBlocking: true }));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));

  // A short read of trace_pipe: a few events, the middle of the first page.
  const printed = markersFromCpu0TracePipe(400, 'follows');
  const afterPipe = ring.updateMeta();
  const takenByPipe = Number(afterPipe.read);
  assertTracePipeTookTheOldest(printed, takenByPipe, markers);
  assert.ok(afterPipe.readerRead > 0, `reader_read ${afterPipe.readerRead} counts what trace_pipe consumed of the reader page`);

  // read() of another fd copies the rest of that page (the buffer is mapped) and consumes it.
  const page = Buffer.alloc(ring.pageSize);
  assert.ok(readSync(fd, page, 0, ring.pageSize, null) > 0, 'read() returned data');
  const fromRead = markersOfRawPages(page, ring.pageSize);
  assert.deepEqual(fromRead, markers.slice(takenByPipe, takenByPipe + fromRead.length), 'read() went on where trace_pipe stopped');
  assert.ok(fromRead.length > 0, 'read() took markers');
  assert.equal(ring.updateMeta().read, BigInt(takenByPipe + fromRead.length), 'read counts both readers');

  const fromMapping = markersOf(new MappedConsumer(ring, formats()).drain().events);
  assert.ok(fromMapping.length > 0, 'the mapping got the rest');
  assert.deepEqual(fromMapping, markers.slice(takenByPipe + fromRead.length), 'the mapping: exactly what the two readers left, in order');
  assertNothingLeftForTheMapping(ring, 'the three readers');
});

traceTest('coexist: a mapping made after trace_pipe consumed part of the reader page starts at reader_read', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const markers = numberedMarkers('late-map', 30); // less than a page: the writer stays on it
  writeMarkers(topLevel, markers);
  const printed = markersFromCpu0TracePipe(300, 'late-map');
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const takenByPipe = Number(ring.updateMeta().read);
  assertTracePipeTookTheOldest(printed, takenByPipe, markers);
  const consumer = new MappedConsumer(ring, formats());
  assert.deepEqual(markersOf(consumer.drain().events), markers.slice(takenByPipe), 'only what trace_pipe left');
  const more = numberedMarkers('late-map-more', 5);
  writeMarkers(topLevel, more);
  assert.deepEqual(markersOf(consumer.drain().events), more, 'then what the writer adds to the same page');
});

traceTest('coexist: a reset (echo > trace) while mapped leaves a consistent, zeroed meta page', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  writeMarkers(topLevel, numberedMarkers('before-reset', 300));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const consumer = new MappedConsumer(ring, formats());
  ring.getReaderPage(); // the reader page is no longer ID 0
  resetBuffer(topLevel);
  const meta = ring.meta(); // no ioctl: the reset itself must refresh it
  assert.equal(meta.entries, 0n, 'entries cleared by the reset');
  assert.equal(meta.overrun, 0n, 'overrun cleared by the reset');
  assert.equal(meta.read, 0n, 'read cleared by the reset');
  assert.equal(meta.readerRead, 0, 'reader_read cleared by the reset');
  assert.deepEqual(ring.inconsistencies(meta), []);
  assert.equal(ring.getReaderPage(), false, 'nothing to read after a reset');
  const left = consumer.drain().events;
  assert.deepEqual(markersOf(left), [], 'the old markers are gone');
  assertMetaTrue(ring, consumer, 'after-reset');
});

traceTest('coexist: a clock change (which resets the buffer) while mapped leaves a consistent meta page', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const original = currentClock(topLevel);
  const other = availableClocks(topLevel).find((clock) => clock !== original && (clock === 'global' || clock === 'mono' || clock === 'counter'));
  assert.ok(other !== undefined, `another clock to switch to among ${availableClocks(topLevel).join(' ')}`);
  writeMarkers(topLevel, numberedMarkers('before-clock', 200));
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const consumer = new MappedConsumer(ring, formats());
  setClock(topLevel, other);
  cleanup.add('restore clock', () => setClock(topLevel, original));
  const meta = ring.meta();
  assert.equal(meta.entries, 0n, 'the clock change reset the buffer');
  assert.equal(meta.readerRead, 0, 'reader_read cleared by the reset');
  assert.deepEqual(ring.inconsistencies(meta), []);
  assert.deepEqual(markersOf(consumer.drain().events), [], 'old markers gone');
  assertMetaTrue(ring, consumer, 'after-clock');
});

traceTest('coexist: rmdir of an instance whose buffer is mapped fails with EBUSY, even with the fd closed', ({ cleanup }) => {
  const name = `rbmap-rmdir-${process.pid}`;
  cleanup.instance(name);
  createInstance(name);
  const fd = openTracePipeRaw({ cpu: 0, instance: name });
  const ring = RingBufferMapping.mapFd(fd, 0);
  cleanup.closes('instance mapping', ring);
  // The mapping alone (through its file reference) must keep the instance.
  closeSync(fd);
  assertErrno(() => removeInstance(name), 'EBUSY', 'rmdir while mapped');
  assert.ok(instanceExists(name), 'instance still there');
  ring.close();
  removeInstance(name);
  assert.ok(!instanceExists(name), 'rmdir works after the unmap');
});

traceTest('coexist: mapping a CPU buffer of an instance works like the top level', ({ cleanup }) => {
  const name = `rbmap-inst-${process.pid}`;
  cleanup.instance(name);
  const array = createInstance(name);
  sys.setAffinity(0);
  setBufferSizeKb(array, kbForRingPages(RING_PAGES));
  const ring = cleanup.closes('instance cpu0 mapping', RingBufferMapping.open({ cpu: 0, instance: name }));
  assert.equal(ring.meta().nrDataPages, RING_PAGES);
  const markers = numberedMarkers('instance', 300);
  writeMarkers(array, markers);
  writeMarkers(topLevel, ['top-level-only']);
  const consumer = new MappedConsumer(ring, formats());
  assert.deepEqual(markersOf(consumer.drain().events), markers, 'only the instance markers, all of them');
  assert.equal(ring.updateMeta().entries, BigInt(markers.length));
});

traceTest('coexist: every CPU mapped at once; each mapping holds exactly the markers written on its CPU', ({ cleanup }) => {
  const cpus = onlineCpus();
  for (const cpu of cpus) setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES), cpu);
  resetBuffer(topLevel);
  const rings = cpus.map((cpu) => cleanup.closes(`cpu${cpu} mapping`, RingBufferMapping.open({ cpu })));
  const written = new Map<number, string[]>();
  for (const cpu of cpus) {
    sys.setAffinity(cpu);
    const markers = numberedMarkers(`cpu${cpu}`, 120);
    writeMarkers(topLevel, markers);
    written.set(cpu, markers);
  }
  sys.setAffinity(0);
  for (const [index, cpu] of cpus.entries()) {
    const ring = rings[index]!;
    const events = new MappedConsumer(ring, formats()).drain().events;
    assert.deepEqual(markersOf(events), written.get(cpu), `cpu${cpu}`);
    assert.deepEqual(ring.inconsistencies(ring.updateMeta()), [], `cpu${cpu} meta`);
  }
});
