/**
 * Overrun: when the writer laps the reader, `overrun` in the meta page
 * equals the number of events that never come out; nothing else is lost and
 * nothing comes out twice.
 */
import assert from 'node:assert/strict';
import {
  type DecodedEvent,
  type HandedOverPage,
  kbForRingPages,
  MappedConsumer,
  onlineCpus,
  readTraceFile,
  resetBuffer,
  RingBufferMapping,
  setBufferSizeKb,
  sys,
  topLevel,
  writeMarkers,
  writeTraceFile,
} from '../../reader/index.js';
import { runRbmapBench, statsCount } from './lib/bench-markers.js';
import { markersOf, numberedMarkers, pagesWorthOf } from './lib/markers.js';
import { formats } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';

const RING_PAGES = 3;
/** Markers of this size fit about 110 to a 4 KiB page: 1200 laps a 3-page ring several times. */
const LAPPING_COUNT = pagesWorthOf(1200);

function smallCpu0Ring(): void {
  sys.setAffinity(0);
  setBufferSizeKb(topLevel, kbForRingPages(RING_PAGES), 0);
  resetBuffer(topLevel);
}

/** `out` must be a contiguous run of `all` (no gap, no duplicate); returns where it starts. */
function assertContiguousRun(out: readonly string[], all: readonly string[], what: string): number {
  assert.ok(out.length > 0, `${what}: something came out`);
  const start = all.indexOf(out[0]!);
  assert.ok(start >= 0, `${what}: first marker ${out[0]} was written`);
  assert.deepEqual(out, all.slice(start, start + out.length), `${what}: a contiguous run of what was written`);
  return start;
}

/**
 * The writer moved the head while overwriting: after UPDATE_META_PAGE the head
 * in the meta page must be the page GET_READER_PAGE swaps in next. Takes the
 * handovers up to that new page (events the writer appended to the reader
 * page first, if any) and returns them.
 */
function takeUpToTheHeadPage(ring: RingBufferMapping, consumer: MappedConsumer): HandedOverPage[] {
  const meta = ring.updateMeta();
  const named = meta.dataPages[meta.dataPageHead];
  const taken: HandedOverPage[] = [];
  for (;;) {
    const page = consumer.takePage();
    assert.ok(page !== null, 'a page is handed over');
    taken.push(page);
    if (page.newPage) break;
    assert.equal(taken.length, 1, 'only the reader page itself can be handed over again');
  }
  assert.equal(taken[taken.length - 1]!.readerPage, named, 'the new page is the one data_page_head named after the writer moved the head');
  return taken;
}

function eventsOf(pages: readonly HandedOverPage[]): DecodedEvent[] {
  return pages.flatMap((page) => page.events);
}

traceTest('overrun: a writer that laps an idle reader: overrun == events that never came out', ({ cleanup }) => {
  smallCpu0Ring();
  const markers = numberedMarkers('lap', LAPPING_COUNT);
  writeMarkers(topLevel, markers);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const meta = ring.updateMeta();
  assert.equal(meta.entries, BigInt(markers.length), 'entries counts every event written');
  assert.ok(meta.overrun > 0n, 'the ring was lapped');
  assert.deepEqual(ring.inconsistencies(meta), []);
  const consumer = new MappedConsumer(ring, formats());
  const first = takeUpToTheHeadPage(ring, consumer);
  const drained = consumer.drain();

  const out = markersOf([...eventsOf(first), ...drained.events]);
  const start = assertContiguousRun(out, markers, 'drained');
  assert.equal(start + out.length, markers.length, 'the newest marker came out last');
  assert.equal(BigInt(start), meta.overrun, 'the lost prefix is exactly `overrun` events');
  assert.equal(BigInt(out.length) + meta.overrun, BigInt(markers.length), 'out + overrun == written');
  const lost = [...first, ...drained.pages].reduce((sum, page) => sum + page.lostEvents, 0n);
  assert.equal(lost, meta.overrun, 'the lost events the consumer was told of == overrun');
  assert.equal(ring.updateMeta().overrun, meta.overrun, 'reading does not change overrun');
});

traceTest('overrun: a writer lapping a mapped reader mid-way: every event is read or counted in overrun, once', ({ cleanup }) => {
  smallCpu0Ring();
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const consumer = new MappedConsumer(ring, formats());
  const first = numberedMarkers('mid-a', pagesWorthOf(150));
  writeMarkers(topLevel, first);
  // Take only the first handed-over page, then let the writer lap the ring.
  const early = markersOf(consumer.drain(1).events);
  assertContiguousRun(early, first, 'first page');
  assert.equal(early[0], first[0], 'reading starts at the first marker');

  const second = numberedMarkers('mid-b', LAPPING_COUNT);
  writeMarkers(topLevel, second);
  const meta = ring.updateMeta();
  assert.ok(meta.overrun > 0n, 'the ring was lapped');
  assert.deepEqual(ring.inconsistencies(meta), []);
  const late = markersOf([...eventsOf(takeUpToTheHeadPage(ring, consumer)), ...consumer.drain().events]);

  const all = [...first, ...second];
  const out = [...early, ...late];
  assert.equal(new Set(out).size, out.length, 'nothing came out twice');
  // Read = the prefix taken early + a contiguous run that ends with the newest marker.
  const lateStart = assertContiguousRun(late, all, 'after the lap');
  assert.equal(lateStart + late.length, all.length, 'the newest marker came out last');
  assert.ok(lateStart >= early.length, 'the late run starts after the early prefix');
  assert.equal(BigInt(lateStart - early.length), meta.overrun, 'markers never read (the gap) == overrun');
  assert.equal(BigInt(out.length) + meta.overrun, BigInt(all.length), 'out + overrun == written');
  assert.equal(meta.entries, BigInt(all.length), 'entries counts every event written');
});

const CHASE_WRITER_CPU = 1;
const CHASE_RUNS = 10;
const CHASE_SECONDS = 3;

traceTest(
  `overrun: a mapped reader that keeps catching up with a full-speed writer on another CPU: every event is handed over or counted in overrun (${CHASE_RUNS} runs of ${CHASE_SECONDS} s)`,
  ({ t, cleanup }) => {
    if (!onlineCpus().includes(CHASE_WRITER_CPU)) {
      t.skip('needs a second CPU for the writer (--smp 2 or more)');
      return;
    }
    // A small ring the writer laps, and a reader woken at every event: it asks for the reader
    // page again and again while the writer is still on it (rbmap-bench's mmap reader).
    const initialPercent = readTraceFile(topLevel, 'buffer_percent').trim();
    cleanup.add('restore buffer_percent', () => writeTraceFile(topLevel, 'buffer_percent', initialPercent));
    writeTraceFile(topLevel, 'buffer_percent', '0');
    setBufferSizeKb(topLevel, 32, CHASE_WRITER_CPU);
    resetBuffer(topLevel);
    for (let run = 1; run <= CHASE_RUNS; run++) {
      const args = ['mmap', String(CHASE_WRITER_CPU), '0', String(CHASE_SECONDS), '0', '64'];
      const { written, missing, overrun } = runRbmapBench<{ written: number; missing: number; overrun: number }>(args, CHASE_SECONDS);
      // stats' entries: events written and neither read nor overwritten.
      const unread = statsCount(CHASE_WRITER_CPU, 'entries');
      const what = `run ${run}: ${written} markers written, ${missing} never handed over, overrun ${overrun}`;
      assert.equal(unread, 0n, `${what}: ${unread} events were neither handed over nor counted as overwritten`);
      assert.equal(missing, overrun, `${what}: every marker not handed over was overwritten`);
    }
  },
  { timeout: 180_000 },
);
