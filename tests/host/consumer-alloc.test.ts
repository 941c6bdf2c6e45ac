/**
 * The streaming consumer's steady state allocates nothing per page or per
 * event: a young-generation collection under TCG stops a Node reader for
 * 10–60 ms, long enough for the writer to wrap a 1 MB ring. Measured as the
 * growth of V8's new space over thousands of handovers of generated pages,
 * with a collection just before (no collection can run in between: the loop
 * is synchronous).
 */
import t from 'tap';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MappedConsumer, type EventCursor, type HandoverSource } from '../../reader/index.js';
import { generatePages, LAYOUTS, PAGE_SIZE } from './decode-speed/speed.js';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

function newSpaceUsed(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  if (space === undefined) throw new Error('V8 reports no new_space');
  return space.space_used_size;
}

/** A ring whose every GET_READER_PAGE swaps in the next of `pages` generated pages, whole. */
class CyclingRing implements HandoverSource {
  readonly pageIdCount: number;
  readonly pagesView: DataView;
  private readerPage = 0;
  private readerRead = 0;

  constructor(private readonly pages: number) {
    const generated = generatePages(pages, false);
    // Page ID 0 is the reader page at the start, empty; IDs 1..pages hold the generated pages.
    const bytes = new Uint8Array((pages + 1) * PAGE_SIZE);
    bytes.set(generated.bytes, PAGE_SIZE);
    this.pagesView = new DataView(bytes.buffer);
    this.pageIdCount = pages + 1;
  }

  pageOffset(id: number): number {
    return id * PAGE_SIZE;
  }
  readerPageId(): number {
    return this.readerPage;
  }
  readerReadBytes(): number {
    return this.readerRead;
  }
  readerLostEvents(): bigint {
    return 0n;
  }
  headPageId(): number {
    return 0;
  }
  getReaderPage(): boolean {
    this.readerPage = (this.readerPage % this.pages) + 1;
    this.readerRead = this.pagesView.getUint32(this.readerPage * PAGE_SIZE + 8, true) & 0x3fff_ffff;
    return true;
  }
  poll(): boolean {
    return true;
  }
}

t.test('consume() allocates nothing per page handed over or per event', async (t) => {
  const ring = new CyclingRing(64);
  const consumer = new MappedConsumer(ring, { layouts: LAYOUTS, lookup: () => null }, { maxSpinUs: 0 });
  const sum = new Int32Array(1);
  const visit = (cursor: EventCursor): void => {
    sum[0] = sum[0]! + cursor.payloadLength + cursor.eventType();
  };
  const options = { maxPages: 8 };
  const run = (calls: number): { pages: number; events: number } => {
    let pages = 0;
    let events = 0;
    for (let i = 0; i < calls; i++) {
      const taken = consumer.consume(visit, options);
      pages += taken.pages;
      events += taken.events;
    }
    return { pages, events };
  };
  run(4000); // compiled, as in a running reader
  collectGarbage();
  const before = newSpaceUsed();
  const { pages, events } = run(1000);
  const grown = newSpaceUsed() - before;
  t.equal(pages, 8000, 'every call took its 8 pages');
  // What remains is consume()'s result, one small object per call.
  const perPage = grown / pages;
  t.ok(perPage < 16, `${grown} bytes for ${pages} pages and ${events} events: ${perPage.toFixed(1)} bytes per page (limit 16)`);
});
