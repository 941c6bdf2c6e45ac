/**
 * The host decoding benchmark (tests/host/decode-speed/): the reader
 * library's cursor against a C decoder over the same generated pages. Asserts
 * that both decode every event alike, field by field, and that the
 * measurement has its shape; the ratio is printed, not asserted (machines
 * differ), and goes to the README.
 */
import t from 'tap';
import { decodePage, markerText, type EventFormat } from '../../reader/index.js';
import {
  dumpC,
  dumpEvents,
  formatSpeedTable,
  generatePages,
  LAYOUTS,
  measureSpeed,
  PAGE_SIZE,
  prepareC,
  PRINT_FORMAT,
  PRINT_ID,
} from './decode-speed/speed.js';
import { compileFormat, EventCursor } from '../../reader/index.js';

const pages = generatePages(256);
const decoder = prepareC(pages);

t.test('the generated pages hold what the benchmark claims: both header kinds, extends, discarded events, a stamp past 2^53', async (t) => {
  const cursor = new EventCursor(new DataView(pages.bytes.buffer), LAYOUTS);
  let events = 0;
  let lengthWords = 0;
  let extends_ = 0;
  let discarded = 0;
  let beyondSafe = 0;
  for (let page = 0; page < pages.pages; page++) {
    cursor.setPage(page * PAGE_SIZE);
    while (cursor.next()) {
      events++;
      if (cursor.typeLen === 0) lengthWords++;
      if (typeof cursor.timestamp() === 'bigint') beyondSafe++;
    }
    extends_ += cursor.timeExtends;
    discarded += cursor.discarded;
  }
  t.equal(events, pages.events);
  t.ok(lengthWords > 0 && lengthWords < events, `${lengthWords} of ${events} events have a length word`);
  t.ok(extends_ > 0, `${extends_} time extends`);
  t.ok(discarded > 0, `${discarded} discarded events`);
  t.ok(beyondSafe > 0, `${beyondSafe} events stamped past 2^53 ns`);
});

t.test('the cursor and the C decoder agree on every event, field by field (time stamps exact past 2^53)', async (t) => {
  const compiled = compileFormat(PRINT_FORMAT, true);
  const fromCursor = dumpEvents(new EventCursor(new DataView(pages.bytes.buffer), LAYOUTS), pages.pages, compiled);
  const fromC = dumpC(decoder);
  t.equal(fromCursor.length, pages.events);
  t.equal(fromC.length, pages.events);
  const firstDifference = fromCursor.findIndex((line, i) => line !== fromC[i]);
  t.equal(firstDifference, -1, firstDifference === -1 ? 'no difference' : `event ${firstDifference}: TS ${fromCursor[firstDifference]} | C ${fromC[firstDifference]}`);
  const lastPage = new DataView(pages.bytes.buffer, (pages.pages - 1) * PAGE_SIZE, PAGE_SIZE);
  const lookup = (id: number): EventFormat | null => (id === PRINT_ID ? PRINT_FORMAT : null);
  const objects = decodePage(lastPage, LAYOUTS, lookup).events;
  const tail = fromC.slice(-objects.length);
  t.same(
    objects.map((event) => `${event.timestamp} ${markerText(event)}`),
    tail.map((line) => line.split(' ').filter((_, i) => i === 0 || i >= 6).join(' ')),
    'the DecodedEvent objects of the last page say the same',
  );
});

t.test('ns per event: the cursor against C, header walk and full decode', async (t) => {
  const timed = generatePages(256, false);
  const table = measureSpeed(timed, prepareC(timed));
  for (const [what, row] of Object.entries(table)) {
    for (const side of ['ts', 'c'] as const) {
      const sample = row[side];
      t.equal(sample.events, timed.events, `${what} ${side}: every event, each pass`);
      t.ok(sample.passes >= 1 && sample.ns > 0 && Number.isFinite(sample.nsPerEvent), `${what} ${side}: ${sample.nsPerEvent.toFixed(1)} ns/event over ${sample.passes} passes`);
    }
  }
  t.comment(`decode speed, ${timed.events} events on ${timed.pages} pages, Node ${process.version}, the fastest of 5 interleaved rounds:\n${formatSpeedTable(table)}`);
});
