/**
 * Lost events: when the writer laps a mapped reader, the first page handed
 * over after the gap tells how many events were lost, in the meta page
 * (reader_lost_events) and in the page's commit word (RB_MISSED_EVENTS, as
 * read() pages carry it); what came out plus what was lost is what was written.
 */
import assert from 'node:assert/strict';
import {
  MappedConsumer,
  RingBufferMapping,
  topLevel,
  writeMarkers,
} from '../../reader/index.js';
import { ChildHelper, describeChild } from './lib/children.js';
import { markersOf, numberedMarkers, pagesWorthOf } from './lib/markers.js';
import { readerScript } from './lib/paths.js';
import { formats, smallCpu0Ring } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';

const RING_PAGES = 4;
/** About 110 markers fill a 4 KiB page: 1200 lap a 4-page ring a few times. */
const LAPPING_COUNT = pagesWorthOf(1200);

traceTest('lost events: the first page after a lap carries RB_MISSED_EVENTS and reader_lost_events == the overrun delta; out + lost == written', ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const consumer = new MappedConsumer(ring, formats());
  const first = numberedMarkers('before-lap', pagesWorthOf(50)); // half a page: the writer stays on the reader page
  writeMarkers(topLevel, first);
  const early = consumer.drain();
  assert.deepEqual(markersOf(early.events), first);
  assert.equal(early.lostEvents, 0n, 'nothing lost yet');
  const overrunBefore = ring.updateMeta().overrun;

  const lapping = numberedMarkers('lap', LAPPING_COUNT);
  writeMarkers(topLevel, lapping);
  const overrunAfter = ring.updateMeta().overrun;
  const overwritten = overrunAfter - overrunBefore;
  assert.ok(overwritten > 0n, 'the writer lapped the ring');

  const late = consumer.drain();
  const firstNew = late.pages.findIndex((page) => page.newPage);
  assert.ok(firstNew >= 0, 'a new page was swapped in');
  assert.ok(firstNew <= 1, 'before it at most the rest of the old reader page');
  const gapPage = late.pages[firstNew]!;
  assert.equal(gapPage.lostEvents, overwritten, 'reader_lost_events of the first new page == overrun after - overrun before');
  assert.equal(gapPage.missedEventsFlag, true, 'its commit word carries RB_MISSED_EVENTS (the writer is past it)');
  if (gapPage.storedLostEvents !== null) assert.equal(gapPage.storedLostEvents, overwritten, 'the count stored after its events (RB_MISSED_STORED)');
  assert.deepEqual(
    late.pages.filter((page, index) => index !== firstNew && page.lostEvents > 0n).map((page) => page.readerPage),
    [],
    'no other page reports lost events',
  );
  assert.equal(late.pagesWithMissedEvents, 1, 'one page carries the flag');
  assert.equal(late.lostEvents, overwritten);

  const out = markersOf([...early.events, ...late.events]);
  const written = [...first, ...lapping];
  assert.equal(new Set(out).size, out.length, 'nothing came out twice');
  assert.equal(out[out.length - 1], written[written.length - 1], 'the newest marker came out last');
  assert.equal(BigInt(out.length) + late.lostEvents, BigInt(written.length), 'out + lost == written');
  // What came out of the gap page on is the newest run of what was written.
  const afterGap = markersOf(late.pages.slice(firstNew).flatMap((page) => page.events));
  assert.deepEqual(afterGap, written.slice(written.length - afterGap.length), 'after the gap: a contiguous run up to the newest');
  const meta = ring.updateMeta();
  assert.equal(meta.entries - meta.overrun - meta.read, 0n, 'nothing left unread');
  assert.deepEqual(ring.inconsistencies(meta), []);
});

traceTest('lost events: rbmap-cat prints "CPU 0: LOST k EVENTS" before the first marker after the gap, k == overrun', async ({ cleanup }) => {
  smallCpu0Ring(RING_PAGES);
  const markers = numberedMarkers('cat-lap', LAPPING_COUNT);
  writeMarkers(topLevel, markers);
  const child = new ChildHelper(readerScript('bin/rbmap-cat'), ['--cpu', '0']);
  cleanup.add('stop rbmap-cat', () => child.kill());
  const result = await child.result(60_000);
  assert.equal(result.code, 0, describeChild(result));
  const counts = /^cpu0: entries=(\d+) overrun=(\d+)$/m.exec(result.stdout);
  assert.ok(counts !== null, `the meta counts at the end: ${describeChild(result)}`);
  const overrun = Number(counts[2]);
  assert.equal(Number(counts[1]), markers.length);
  assert.ok(overrun > 0, 'the writer lapped the ring');
  const lines = result.stdout.split('\n');
  const lostLines = lines.filter((line) => line.startsWith('CPU 0: LOST'));
  assert.deepEqual(lostLines, [`CPU 0: LOST ${overrun} EVENTS`], 'one LOST line with the overrun');
  assert.equal(lines[0], lostLines[0], 'the gap comes before every event printed');
  const printed = lines.map((line) => /: print: (cat-lap-\d{6})$/.exec(line)?.[1]).filter((marker) => marker !== undefined);
  assert.match(lines[1] ?? '', /: print: cat-lap-\d{6}$/, 'the first marker after the gap follows the LOST line');
  assert.deepEqual(printed, markers.slice(overrun), 'the markers after the lost ones, in order');
});
