/**
 * Host tests of the guest's format parsers and page decoder, the handover
 * protocol of the mapped consumer and the meta-page layout.
 *
 * Pages are built byte by byte following the ring-buffer format (see
 * reader/decoder.ts), and recorded pages from a real guest live in
 * tests/host/fixtures/pages/ (each fixture: an events/ copy and raw pages).
 */
import t from 'tap';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  dataPagesListedByOneMetaPage,
  decodePage,
  decodeRecord,
  type EventFormat,
  EventCursor,
  FieldBoundsError,
  fixAbsoluteTimestamp,
  joinTimestamp,
  readI64,
  readU64,
  type FormatLookup,
  type Handover,
  handoverBetween,
  HandoverError,
  type HandoverSource,
  type Layouts,
  MalformedPageError,
  MappedConsumer,
  markerText,
  META_DATA_PAGE_HEAD,
  META_ENTRIES,
  META_FLAGS,
  META_META_PAGE_SIZE,
  META_META_STRUCT_LEN,
  META_NR_DATA_PAGES,
  META_OVERRUN,
  META_PAGES_TOUCHED,
  META_READ,
  META_READER_LOST_EVENTS,
  META_READER_PAGE,
  META_READER_READ,
  META_STRUCT_LEN,
  metaAreaSize,
  metaInconsistencies,
  MetaPageViewError,
  parseEventFormat,
  parseHeaderEvent,
  parseHeaderPage,
  readMetaPage,
  readPageHeader,
  readReaderFields,
  recordsHandedOver,
  StalledHandoverError,
  TimestampRangeError,
  STANDARD_EVENT_HEADER,
  STANDARD_PAGE_HEADER,
  TraceFormats,
  walkPage,
} from '../../reader/index.js';

import { META_SETTLE_ATTEMPTS, settledMetaProblems } from '../guest/lib/stress.js';
import { COMMON_FIELDS, HEADER_EVENT_6_1, HEADER_PAGE_6_1, PRINT_FORMAT_6_1, PRINT_ID } from './fixtures/formats-6.1.js';

/** A made-up event exercising every storage kind. */
const SAMPLE_ID = 300;
const SAMPLE_FORMAT = [
  'name: sample',
  `ID: ${SAMPLE_ID}`,
  'format:',
  ...COMMON_FIELDS,
  '',
  '\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:1;',
  '\tfield:s32 delta;\toffset:24;\tsize:4;\tsigned:1;',
  '\tfield:u64 big;\toffset:32;\tsize:8;\tsigned:0;',
  '\tfield:s64 negative;\toffset:40;\tsize:8;\tsigned:1;',
  '\tfield:__data_loc char[] name;\toffset:48;\tsize:4;\tsigned:1;',
  '\tfield:__rel_loc u16[] ports;\toffset:52;\tsize:4;\tsigned:0;',
  '\tfield:unsigned long caller[FTRACE_STACK_ENTRIES];\toffset:56;\tsize:16;\tsigned:0;',
  '\tfield:const char * fmt;\toffset:72;\tsize:8;\tsigned:0;',
  '',
  'print fmt: "sample"',
  '',
].join('\n');

const LAYOUTS: Layouts = { page: STANDARD_PAGE_HEADER, event: STANDARD_EVENT_HEADER, littleEndian: true };

const printFormat = parseEventFormat(PRINT_FORMAT_6_1);
const sampleFormat = parseEventFormat(SAMPLE_FORMAT);
const lookup: FormatLookup = (id) => (id === PRINT_ID ? printFormat : id === SAMPLE_ID ? sampleFormat : null);

// ---------------------------------------------------------------------------
// A page builder that writes the format the way the kernel's writer does.

const PAGE_SIZE = 4096;
const DATA_OFFSET = 16;

class PageBuilder {
  readonly bytes = new Uint8Array(PAGE_SIZE);
  private readonly view = new DataView(this.bytes.buffer);
  private offset = DATA_OFFSET;

  constructor(timestamp: bigint) {
    this.view.setBigUint64(0, timestamp, true);
  }

  get position(): number {
    return this.offset;
  }

  private header(typeLen: number, delta: number): void {
    this.view.setUint32(this.offset, ((delta << 5) | typeLen) >>> 0, true);
  }

  /** A data event; small payloads get type_len = words, large ones a length word. */
  event(delta: number, payload: Uint8Array, forceLengthWord = false): this {
    const aligned = Math.ceil(payload.length / 4) * 4;
    if (aligned <= 28 * 4 && !forceLengthWord) {
      this.header(aligned / 4, delta);
      this.bytes.set(payload, this.offset + 4);
      this.offset += 4 + aligned;
    } else {
      this.header(0, delta);
      this.view.setUint32(this.offset + 4, aligned + 4, true);
      this.bytes.set(payload, this.offset + 8);
      this.offset += 8 + aligned;
    }
    return this;
  }

  timeExtend(delta: bigint): this {
    this.header(30, Number(delta & 0x7ffffffn));
    this.view.setUint32(this.offset + 4, Number(delta >> 27n), true);
    this.offset += 8;
    return this;
  }

  absoluteStamp(timestamp: bigint): this {
    const kept = timestamp & ((1n << 59n) - 1n);
    this.header(31, Number(kept & 0x7ffffffn));
    this.view.setUint32(this.offset + 4, Number(kept >> 27n), true);
    this.offset += 8;
    return this;
  }

  /** A discarded event of `total` bytes (header included). */
  discarded(total: number, delta = 1): this {
    this.header(29, delta);
    this.view.setUint32(this.offset + 4, total - 4, true);
    this.offset += total;
    return this;
  }

  /** Raw header word, for malformed pages. */
  rawWord(word: number): this {
    this.view.setUint32(this.offset, word >>> 0, true);
    this.offset += 4;
    return this;
  }

  /** Set commit = data length | flags; optionally store a missed-events count after the data. */
  commit(flags = 0, missed?: bigint, lengthOverride?: number): Uint8Array {
    const length = lengthOverride ?? this.offset - DATA_OFFSET;
    this.view.setBigUint64(8, BigInt((length | flags) >>> 0), true);
    if (missed !== undefined) this.view.setBigUint64(DATA_OFFSET + length, missed, true);
    return this.bytes;
  }
}

function traceEntry(id: number, pid: number, flags: number, preempt: number, body: Uint8Array): Uint8Array {
  const entry = new Uint8Array(8 + body.length);
  const view = new DataView(entry.buffer);
  view.setUint16(0, id, true);
  view.setUint8(2, flags);
  view.setUint8(3, preempt);
  view.setInt32(4, pid, true);
  entry.set(body, 8);
  return entry;
}

/** The payload of a trace_marker write: print_entry { ent; ip; buf = text + "\n\0" }. */
function markerPayload(text: string, pid = 42, ip = 0xffffffff81000000n): Uint8Array {
  const buf = Buffer.from(`${text}\n\0`, 'utf8');
  const body = new Uint8Array(8 + buf.length);
  new DataView(body.buffer).setBigUint64(0, ip, true);
  body.set(buf, 8);
  return traceEntry(PRINT_ID, pid, 0x1, 0, body);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function markersOf(bytes: Uint8Array): string[] {
  return decodePage(viewOf(bytes), LAYOUTS, lookup).events.map((event) => markerText(event) ?? '<not a marker>');
}

// ---------------------------------------------------------------------------

t.test('header_page of 6.1 parses to the x86_64 page layout', async (t) => {
  const layout = parseHeaderPage(HEADER_PAGE_6_1);
  t.same(layout, STANDARD_PAGE_HEADER);
});

t.test('header_page with a 4-byte commit (32-bit kernel) parses', async (t) => {
  const text = HEADER_PAGE_6_1.replace('offset:8;\tsize:8', 'offset:8;\tsize:4').replace('offset:16;\tsize:4080', 'offset:12;\tsize:4084');
  const layout = parseHeaderPage(text);
  t.equal(layout.commitSize, 4);
  t.equal(layout.dataOffset, 12);
  t.equal(layout.dataCapacity, 4084);
});

t.test('header_page without the data field is refused', async (t) => {
  t.throws(() => parseHeaderPage(HEADER_PAGE_6_1.split('\n').slice(0, 3).join('\n')), /lacks/);
});

t.test('header_event of 6.1 parses to 5/27 bits and types 29/30/31, max 28', async (t) => {
  t.same(parseHeaderEvent(HEADER_EVENT_6_1), STANDARD_EVENT_HEADER);
});

t.test('header_event whose bit widths do not add up to 32 is refused', async (t) => {
  t.throws(() => parseHeaderEvent(HEADER_EVENT_6_1.replace('27 bits', '26 bits')), /32/);
});

t.test('ftrace/print format: id, common fields, ip and a flexible buf[]', async (t) => {
  t.equal(printFormat.name, 'print');
  t.equal(printFormat.id, PRINT_ID);
  t.same(
    printFormat.commonFields.map((field) => [field.name, field.type, field.offset, field.size, field.signed]),
    [
      ['common_type', 'unsigned short', 0, 2, false],
      ['common_flags', 'unsigned char', 2, 1, false],
      ['common_preempt_count', 'unsigned char', 3, 1, false],
      ['common_pid', 'int', 4, 4, true],
    ],
  );
  const [ip, buf] = printFormat.fields;
  t.match(ip, { name: 'ip', type: 'unsigned long', offset: 8, size: 8, storage: 'scalar' });
  t.match(buf, { name: 'buf', type: 'char', offset: 16, size: 0, storage: 'array', arrayLength: null });
  t.match(printFormat.printFormat, /REC->buf/);
});

t.test('format fields: inline arrays, macro-sized arrays, __data_loc, __rel_loc, pointers', async (t) => {
  const byName = new Map(sampleFormat.fields.map((field) => [field.name, field]));
  t.match(byName.get('comm'), { storage: 'array', arrayLength: 16, elementSize: 1, type: 'char' });
  t.match(byName.get('name'), { storage: 'data_loc', type: 'char', elementSize: 1 });
  t.match(byName.get('ports'), { storage: 'rel_loc', type: 'u16', elementSize: 2 });
  t.match(byName.get('caller'), { storage: 'array', arrayLength: 2, elementSize: 8 });
  t.match(byName.get('fmt'), { storage: 'scalar', type: 'const char *', size: 8 });
});

t.test('a format without an ID line is refused', async (t) => {
  t.throws(() => parseEventFormat(PRINT_FORMAT_6_1.replace(/^ID:.*$/m, '')), /ID/);
});

t.test('an empty page (commit 0) has no records', async (t) => {
  const page = new PageBuilder(123n).commit();
  const walk = walkPage(viewOf(page), LAYOUTS);
  t.equal(walk.header.timestamp, 123n);
  t.equal(walk.header.dataLength, 0);
  t.same(walk.records, []);
});

t.test('small events: type_len = words, time stamps accumulate the deltas', async (t) => {
  const page = new PageBuilder(1_000_000n)
    .event(0, markerPayload('first'))
    .event(250, markerPayload('second'))
    .event(0x7ffffff, markerPayload('third'))
    .commit();
  const { events, walk } = decodePage(viewOf(page), LAYOUTS, lookup);
  t.same(events.map(markerText), ['first', 'second', 'third']);
  t.same(
    events.map((event) => event.timestamp),
    [1_000_000n, 1_000_250n, 1_000_250n + 0x7ffffffn],
  );
  t.equal(events[0]?.pid, 42);
  t.equal(events[0]?.flags, 1);
  t.equal(events[0]?.fields.get('ip'), 0xffffffff81000000n);
  // records tile the committed data exactly
  t.equal(walk.records[0]?.headerOffset, DATA_OFFSET);
  t.equal(walk.records[2]?.endOffset, DATA_OFFSET + walk.header.dataLength);
});

t.test('a marker whose event is larger than 112 bytes uses the length word (type_len 0)', async (t) => {
  const long = 'L'.repeat(200);
  const page = new PageBuilder(10n).event(5, markerPayload('short')).event(7, markerPayload(long)).commit();
  const walk = walkPage(viewOf(page), LAYOUTS);
  t.equal(walk.records.length, 2);
  const record = walk.records[1];
  t.ok(record !== undefined && record.dataOffset === record.headerOffset + 8, 'payload after the length word');
  t.equal(record?.typeLen, 0);
  t.equal(walk.records[0]?.typeLen, Math.ceil(markerPayload('short').length / 4));
  t.same(markersOf(page), ['short', long]);
  t.same(
    walk.records.map((r) => r.timestamp),
    [15n, 22n],
  );
});

t.test('type_len 0 is honoured for small payloads too (8-byte aligned architectures)', async (t) => {
  const page = new PageBuilder(0n).event(3, markerPayload('tiny'), true).commit();
  t.same(markersOf(page), ['tiny']);
});

t.test('a time extend adds array[0] << 27 | time_delta to the next event', async (t) => {
  const extend = (5n << 27n) | 12345n;
  const page = new PageBuilder(1000n)
    .event(10, markerPayload('a'))
    .timeExtend(extend)
    .event(0, markerPayload('b'))
    .event(1, markerPayload('c'))
    .commit();
  const walk = walkPage(viewOf(page), LAYOUTS);
  t.same(
    walk.records.map((r) => r.timestamp),
    [1010n, 1010n + extend, 1011n + extend],
  );
  // the extend belongs to the record that follows it
  t.equal(walk.records[1]?.headerOffset, walk.records[0]?.endOffset);
  t.same(
    walk.records.map((r) => r.extended),
    [false, true, false],
  );
  t.equal(walk.timeExtends, 1);
  t.same(markersOf(page), ['a', 'b', 'c']);
});

t.test('an absolute time stamp replaces the running stamp (type_len 31)', async (t) => {
  const page = new PageBuilder(500n)
    .event(1, markerPayload('before'))
    .absoluteStamp(9_000_000_000n)
    .event(4, markerPayload('after'))
    .commit();
  t.same(
    walkPage(viewOf(page), LAYOUTS).records.map((r) => r.timestamp),
    [501n, 9_000_000_004n],
  );
});

t.test('absolute stamps get the top 5 bits back from the previous stamp (rb_fix_abs_ts)', async (t) => {
  const high = 0x0800_0000_0000_0000n; // bit 59 set: outside the 59 stored bits
  t.equal(fixAbsoluteTimestamp(123n, 456n), 123n, 'no high bits: unchanged');
  t.equal(fixAbsoluteTimestamp(0x10n, high | 0x5n), high | 0x10n);
  t.equal(fixAbsoluteTimestamp(0x1n, high | 0x5n), (high | 0x1n) + (1n << 59n), 'wrapped past the previous stamp');
  const page = new PageBuilder(high | 100n).absoluteStamp(high | 200n).event(0, markerPayload('x')).commit();
  t.equal(walkPage(viewOf(page), LAYOUTS).records[0]?.timestamp, high | 200n);
});

t.test('a discarded event (padding with a length) is skipped and does not move time', async (t) => {
  const page = new PageBuilder(0n)
    .event(2, markerPayload('kept-1'))
    .discarded(40, 7)
    .event(3, markerPayload('kept-2'))
    .commit();
  const walk = walkPage(viewOf(page), LAYOUTS);
  t.equal(walk.discarded, 1);
  t.same(markersOf(page), ['kept-1', 'kept-2']);
  t.same(
    walk.records.map((r) => r.timestamp),
    [2n, 5n],
  );
});

t.test('null padding (type 29, delta 0) ends the page even inside the commit', async (t) => {
  const builder = new PageBuilder(0n).event(1, markerPayload('only'));
  builder.rawWord(29);
  const page = builder.commit(0, undefined, builder.position - DATA_OFFSET + 60);
  t.same(markersOf(page), ['only']);
});

t.test('commit flag bits (missed events, missed stored) are masked off the length', async (t) => {
  const builder = new PageBuilder(0n).event(1, markerPayload('m'));
  const page = builder.commit((1 << 31) | (1 << 30), 77n);
  const header = readPageHeader(viewOf(page), LAYOUTS);
  t.equal(header.dataLength, builder.position - DATA_OFFSET);
  t.equal(header.missedEvents, true);
  t.equal(header.missedStored, true);
  t.equal(header.missedCount, 77n);
  t.same(markersOf(page), ['m']);
});

t.test('missed events without a stored count', async (t) => {
  const page = new PageBuilder(0n).event(1, markerPayload('m')).commit(1 << 31);
  const header = readPageHeader(viewOf(page), LAYOUTS);
  t.equal(header.missedEvents, true);
  t.equal(header.missedStored, false);
  t.equal(header.missedCount, null);
});

t.test('a commit larger than the page capacity is reported as malformed', async (t) => {
  const page = new PageBuilder(0n).commit(0, undefined, 4081);
  t.throws(() => walkPage(viewOf(page), LAYOUTS), MalformedPageError);
});

t.test('an event running past the commit is reported as malformed', async (t) => {
  const builder = new PageBuilder(0n).event(1, markerPayload('cut short'));
  const page = builder.commit(0, undefined, builder.position - DATA_OFFSET - 4);
  t.throws(() => walkPage(viewOf(page), LAYOUTS), MalformedPageError);
});

t.test('an unknown type_len above the data maximum is malformed', async (t) => {
  const header = { ...STANDARD_EVENT_HEADER, timeStampType: 27 };
  const page = new PageBuilder(0n).rawWord(31).rawWord(0).commit();
  t.throws(() => walkPage(viewOf(page), { ...LAYOUTS, event: header }), /unknown type_len/);
});

t.test('a page filled to capacity decodes every event once, in order', async (t) => {
  const builder = new PageBuilder(0n);
  const written: string[] = [];
  for (let i = 0; ; i++) {
    const text = `fill-${String(i).padStart(6, '0')}`;
    const size = 4 + Math.ceil(markerPayload(text).length / 4) * 4;
    if (builder.position + size > PAGE_SIZE) break;
    builder.event(1, markerPayload(text));
    written.push(text);
  }
  const page = builder.commit();
  t.ok(written.length > 100, `${written.length} events on one page`);
  t.same(markersOf(page), written);
});

t.test('zero copy: a view at an offset into a larger buffer (a mapping) decodes in place', async (t) => {
  const mapping = new Uint8Array(PAGE_SIZE * 3);
  mapping.set(new PageBuilder(7n).event(1, markerPayload('page-two')).commit(), PAGE_SIZE * 2);
  const view = new DataView(mapping.buffer, PAGE_SIZE * 2, PAGE_SIZE);
  const { walk, events } = decodePage(view, LAYOUTS, lookup);
  t.equal(markerText(events[0]!), 'page-two');
  t.equal(walk.records[0]?.dataOffset, DATA_OFFSET + 4, 'offsets are page-relative');
  // a change to the underlying memory shows through the same view: nothing was copied
  mapping[PAGE_SIZE * 2 + DATA_OFFSET + 4 + 16] = 'P'.charCodeAt(0);
  t.equal(markerText(decodePage(view, LAYOUTS, lookup).events[0]!), 'Page-two');
});

t.test('named fields decode through the format: signed, 64-bit, strings, dynamic arrays', async (t) => {
  const body = new Uint8Array(80 - 8 + 12);
  const view = new DataView(body.buffer);
  const at = (fieldOffset: number): number => fieldOffset - 8; // body starts after the 8 common bytes
  body.set(Buffer.from('kworker/0:1\0'), at(8));
  view.setInt32(at(24), -5, true);
  view.setBigUint64(at(32), 0xfedcba9876543210n, true);
  view.setBigInt64(at(40), -2n, true);
  const nameOffset = 80; // dynamic data after the fixed fields, offset from the record start
  view.setUint32(at(48), (6 << 16) | nameOffset, true);
  body.set(Buffer.from('hello\0'), at(nameOffset));
  // __rel_loc: offset relative to the end of the 4-byte locator at 52
  const portsOffset = 88 - (52 + 4);
  view.setUint32(at(52), (4 << 16) | portsOffset, true);
  view.setUint16(at(88), 80, true);
  view.setUint16(at(90), 443, true);
  view.setBigUint64(at(56), 0x1111n, true);
  view.setBigUint64(at(64), 0x2222n, true);
  const payload = traceEntry(SAMPLE_ID, -1, 0, 2, body);
  const page = new PageBuilder(0n).event(9, payload).commit();
  const [event] = decodePage(viewOf(page), LAYOUTS, lookup).events;
  t.ok(event !== undefined);
  if (event === undefined) return;
  t.equal(event.name, 'sample');
  t.equal(event.pid, -1);
  t.equal(event.preemptCount, 2);
  t.equal(event.fields.get('comm'), 'kworker/0:1');
  t.equal(event.fields.get('delta'), -5);
  t.equal(event.fields.get('big'), 0xfedcba9876543210n, 'a u64 beyond 2^53 stays an exact bigint');
  t.equal(event.fields.get('negative'), -2, 'a 64-bit value that a number holds exactly is a number');
  t.equal(event.fields.get('name'), 'hello');
  t.same(event.fields.get('ports'), [80, 443]);
  t.same(event.fields.get('caller'), [0x1111, 0x2222]);
});

t.test('an event type without a format decodes as unknown-<id> with its common_type', async (t) => {
  const page = new PageBuilder(0n).event(1, traceEntry(999, 1, 0, 0, new Uint8Array(8))).commit();
  const walk = walkPage(viewOf(page), LAYOUTS);
  const event = decodeRecord(viewOf(page), walk.records[0]!, lookup, true);
  t.equal(event.name, 'unknown-999');
  t.equal(event.fields.get('common_type'), 999);
  t.equal(markerText(event), null);
});

t.test('a dynamic field pointing past the record is an error, not a read of the next event', async (t) => {
  const body = new Uint8Array(80 - 8);
  new DataView(body.buffer).setUint32(48 - 8, (200 << 16) | 60, true);
  const page = new PageBuilder(0n).event(1, traceEntry(SAMPLE_ID, 1, 0, 0, body)).commit();
  t.throws(() => decodePage(viewOf(page), LAYOUTS, lookup), FieldBoundsError);
});

/** Data bytes written so far (what reader_read says once the kernel handed them over). */
function dataBytes(builder: PageBuilder): number {
  return builder.position - DATA_OFFSET;
}

function handedOverMarkers(bytes: Uint8Array, handover: Handover): string[] {
  const { records } = recordsHandedOver(viewOf(bytes), handover, LAYOUTS);
  return records.map((record) => markerText(decodeRecord(viewOf(bytes), record, lookup, true)) ?? '<not a marker>');
}

t.test('handover: the same page handed back yields the bytes from the saved reader_read on, with their true time stamps', async (t) => {
  const builder = new PageBuilder(100n).event(1, markerPayload('one')).event(2, markerPayload('two'));
  builder.commit();
  const firstEnd = dataBytes(builder);
  const first = handoverBetween({ readerPage: 7, readerRead: 0 }, { readerPage: 3, readerRead: firstEnd });
  t.same(first, { readerPage: 3, newPage: true, start: 0, end: firstEnd });
  t.same(handedOverMarkers(builder.bytes, first), ['one', 'two']);

  builder.event(4, markerPayload('three'));
  builder.commit();
  const second = handoverBetween({ readerPage: 3, readerRead: firstEnd }, { readerPage: 3, readerRead: dataBytes(builder) });
  t.equal(second.newPage, false);
  t.equal(second.start, firstEnd);
  const { records } = recordsHandedOver(viewOf(builder.bytes), second, LAYOUTS);
  t.same(handedOverMarkers(builder.bytes, second), ['three']);
  t.equal(records[0]?.timestamp, 107n, 'the page stamp plus every delta before it, not just its own');
});

t.test('handover: a new page starts at 0, whatever reader_read the old page had', async (t) => {
  const page = new PageBuilder(200n).event(1, markerPayload('b1')).event(1, markerPayload('b2')).commit();
  const end = new DataView(page.buffer).getUint32(8, true);
  const handover = handoverBetween({ readerPage: 2, readerRead: 52 }, { readerPage: 5, readerRead: end });
  t.same(handover, { readerPage: 5, newPage: true, start: 0, end });
  t.same(handedOverMarkers(page, handover), ['b1', 'b2']);
});

t.test('handover: events the writer committed after the handover are left for the next one', async (t) => {
  const builder = new PageBuilder(0n).event(1, markerPayload('handed'));
  const handedEnd = dataBytes(builder);
  builder.event(1, markerPayload('later'));
  const page = builder.commit();
  const handover = handoverBetween({ readerPage: 1, readerRead: 0 }, { readerPage: 1, readerRead: handedEnd });
  t.same(handedOverMarkers(page, handover), ['handed']);
  t.same(handedOverMarkers(page, handoverBetween({ readerPage: 1, readerRead: handedEnd }, { readerPage: 1, readerRead: dataBytes(builder) })), ['later']);
});

t.test('handover: a time extend before the first handed-over event belongs to it', async (t) => {
  const builder = new PageBuilder(1000n).event(1, markerPayload('before'));
  const handedEnd = dataBytes(builder);
  builder.timeExtend(1n << 30n).event(0, markerPayload('extended'));
  const page = builder.commit();
  const handover = handoverBetween({ readerPage: 4, readerRead: handedEnd }, { readerPage: 4, readerRead: dataBytes(builder) });
  const { records } = recordsHandedOver(viewOf(page), handover, LAYOUTS);
  t.same(handedOverMarkers(page, handover), ['extended']);
  t.equal(records[0]?.extended, true);
  t.equal(records[0]?.timestamp, 1001n + (1n << 30n));
});

t.test('handover: reader_read going back on the same page is a HandoverError', async (t) => {
  t.throws(() => handoverBetween({ readerPage: 3, readerRead: 100 }, { readerPage: 3, readerRead: 60 }), HandoverError);
});

t.test('handover: a start inside an event, or an end past the commit, is a malformed page', async (t) => {
  const builder = new PageBuilder(0n).event(1, markerPayload('whole'));
  const page = builder.commit();
  const end = dataBytes(builder);
  t.throws(() => recordsHandedOver(viewOf(page), { readerPage: 1, newPage: false, start: 4, end }, LAYOUTS), /inside an event/);
  t.throws(() => recordsHandedOver(viewOf(page), { readerPage: 1, newPage: false, start: 0, end: end + 8 }, LAYOUTS), MalformedPageError);
  t.throws(() => walkPage(viewOf(page), LAYOUTS, end - 4), /runs past the end of the walked data/, 'a limit that cuts an event');
});

t.test('handover: a new page after lost events carries the flags; the data length excludes them and the stored count', async (t) => {
  const builder = new PageBuilder(0n).event(1, markerPayload('after-the-gap'));
  const page = builder.commit((1 << 31) | (1 << 30), 123n);
  const handover = handoverBetween({ readerPage: 0, readerRead: 0 }, { readerPage: 2, readerRead: dataBytes(builder) });
  const { walk } = recordsHandedOver(viewOf(page), handover, LAYOUTS);
  t.equal(walk.header.missedEvents, true);
  t.equal(walk.header.missedCount, 123n);
  t.same(handedOverMarkers(page, handover), ['after-the-gap']);
});

/** The meta-page state a fake GET_READER_PAGE moves to. */
interface FakeReaderState {
  readonly readerPage: number;
  readonly readerRead: number;
  readonly readerLostEvents?: bigint;
}

/**
 * A mapped ring for MappedConsumer without a kernel: pages by ID, and the
 * meta-page state each successive GET_READER_PAGE returning 0 leaves (EAGAIN
 * once they are used up).
 */
class FakeRing implements HandoverSource {
  readonly pageIdCount: number;
  readonly pagesView: DataView;
  private state: FakeReaderState;
  ioctls = 0;
  asyncPolls = 0;

  constructor(
    pages: ReadonlyMap<number, Uint8Array>,
    initial: FakeReaderState,
    private readonly handovers: FakeReaderState[],
  ) {
    this.pageIdCount = Math.max(...pages.keys()) + 1;
    const all = new Uint8Array(this.pageIdCount * PAGE_SIZE);
    for (const [id, page] of pages) all.set(page, id * PAGE_SIZE);
    this.pagesView = viewOf(all);
    this.state = initial;
  }

  pageOffset(id: number): number {
    if (id >= this.pageIdCount) throw new RangeError(`no page ${id}`);
    return id * PAGE_SIZE;
  }

  readerPageId(): number {
    return this.state.readerPage;
  }

  readerReadBytes(): number {
    return this.state.readerRead;
  }

  readerLostEvents(): bigint {
    return this.state.readerLostEvents ?? 0n;
  }

  headPageId(): number {
    return 0;
  }

  getReaderPage(): boolean {
    this.ioctls++;
    const next = this.handovers.shift();
    if (next === undefined) return false;
    this.state = next;
    return true;
  }

  poll(): boolean {
    return this.handovers.length > 0;
  }

  pollAsync(): Promise<boolean> {
    this.asyncPolls++;
    return Promise.resolve(this.handovers.length > 0);
  }
}

const FAKE_FORMATS = { layouts: LAYOUTS, lookup };

/**
 * The reader page with a1 consumed before, a2 and a3 left; then a page of b1
 * and b2 swapped in after 42 lost events (flagged, the count stored).
 */
function restThenLostEvents(): { ring: FakeRing; handedBytes: number } {
  const old = new PageBuilder(10n).event(1, markerPayload('a1'));
  const consumedBefore = dataBytes(old);
  old.event(1, markerPayload('a2')).event(1, markerPayload('a3'));
  old.commit();
  const gap = new PageBuilder(500n).event(1, markerPayload('b1')).event(1, markerPayload('b2'));
  const gapPage = gap.commit((1 << 31) | (1 << 30), 42n);
  const ring = new FakeRing(new Map([[0, old.bytes], [1, gapPage], [2, new Uint8Array(PAGE_SIZE)]]), { readerPage: 0, readerRead: consumedBefore }, [
    { readerPage: 0, readerRead: dataBytes(old) },
    { readerPage: 1, readerRead: dataBytes(gap), readerLostEvents: 42n },
  ]);
  return { ring, handedBytes: dataBytes(old) - consumedBefore + dataBytes(gap) };
}

t.test('MappedConsumer.consume: streams every handed-over event through the cursor, with the same loss accounting as drain()', async (t) => {
  const { ring, handedBytes } = restThenLostEvents();
  const consumer = new MappedConsumer(ring, FAKE_FORMATS);
  const seen: string[] = [];
  const stamps: (number | bigint)[] = [];
  const pages: string[] = [];
  const counts = consumer.consume(
    (cursor) => {
      seen.push(cursor.text.toString('utf8', cursor.payloadOffset + 16, cursor.endOffset).replace(/\n?\0*$/, ''));
      stamps.push(cursor.timestamp());
    },
    { onPage: (handover) => pages.push(`${handover.readerPage}:${handover.newPage}:${handover.lostEvents}`) },
  );
  t.same(seen, ['a2', 'a3', 'b1', 'b2']);
  t.same(stamps, [12, 13, 501, 502], 'time stamps as numbers, from each page stamp');
  t.same(pages, ['0:false:0', '1:true:42']);
  t.same(counts, { pages: 2, events: 4, bytes: handedBytes, lostEvents: 42n, complete: true });
});

t.test('MappedConsumer.consume: caughtUpBytes ends the call after a small handover of the writer\'s page; the rest comes with the next', async (t) => {
  const page = new PageBuilder(0n).event(1, markerPayload('w1'));
  const first = dataBytes(page);
  page.event(1, markerPayload('w2'));
  const second = dataBytes(page);
  page.event(1, markerPayload('w3')).commit();
  const ring = new FakeRing(new Map([[0, new Uint8Array(PAGE_SIZE)], [1, page.bytes]]), { readerPage: 0, readerRead: 0 }, [
    { readerPage: 1, readerRead: first },
    { readerPage: 1, readerRead: second },
    { readerPage: 1, readerRead: dataBytes(page) },
  ]);
  const consumer = new MappedConsumer(ring, FAKE_FORMATS);
  const counts = consumer.consume(() => undefined, { caughtUpBytes: 1000 });
  t.same([counts.pages, counts.events, counts.complete], [2, 2, false], 'a new page, then one small handover of the same page: caught up');
  t.same([consumer.consume(() => undefined).events, ring.ioctls], [1, 4], 'without caughtUpBytes: to EAGAIN');
});

/** Tell a consumer's SpinWait that `bytes` were consumed (`lost`: after lost events), as nextPage() does. */
function closeCall(consumer: MappedConsumer, bytes: number, lost: boolean): void {
  (consumer as unknown as { spin: { consumed(bytes: number, lost: boolean): void } }).spin.consumed(bytes, lost);
}

t.test('SpinWait: polls while the reader keeps up; watches the pages after a close call, and goes back to poll() when a watch sees nothing', async (t) => {
  const pages = new Map<number, Uint8Array>([[0, new Uint8Array(PAGE_SIZE)], [1, new PageBuilder(0n).event(1, markerPayload('x')).commit()]]);
  const ring = new FakeRing(pages, { readerPage: 1, readerRead: 0 }, []);
  const consumer = new MappedConsumer(ring, FAKE_FORMATS, { maxSpinUs: 2000, riskFraction: 0.5 });
  t.equal(consumer.wait(0), false, 'nothing consumed yet: poll()');
  t.same(consumer.waitCounts, { spinsFound: 0, spinsTimedOut: 0, polls: 1 });
  // A lost-events page is a close call: the next wait watches, and the reader page holds unread data.
  closeCall(consumer, 8, true);
  t.equal(consumer.wait(0), true, 'the watch saw committed data past reader_read');
  t.same(consumer.waitCounts, { spinsFound: 1, spinsTimedOut: 0, polls: 1 });
  const quiet = new MappedConsumer(new FakeRing(new Map([[0, new Uint8Array(PAGE_SIZE)], [1, new Uint8Array(PAGE_SIZE)]]), { readerPage: 1, readerRead: 0 }, []), FAKE_FORMATS, {
    maxSpinUs: 500,
    riskFraction: 0.5,
  });
  closeCall(quiet, PAGE_SIZE, false);
  const started = performance.now();
  t.equal(quiet.wait(0), false);
  t.ok(performance.now() - started >= 0.5, 'watched for maxSpinUs before it gave up');
  t.same(quiet.waitCounts, { spinsFound: 0, spinsTimedOut: 1, polls: 1 }, 'then poll()');
  t.equal(quiet.wait(0), false);
  t.same(quiet.waitCounts, { spinsFound: 0, spinsTimedOut: 1, polls: 2 }, 'no close call since: no watch');
  t.throws(() => new MappedConsumer(ring, FAKE_FORMATS, { maxSpinUs: -1 }), RangeError);
  const byDefault = new MappedConsumer(new FakeRing(pages, { readerPage: 1, readerRead: 0 }, []), FAKE_FORMATS);
  closeCall(byDefault, 8, true);
  byDefault.wait(0);
  t.same(byDefault.waitCounts, { spinsFound: 0, spinsTimedOut: 0, polls: 1 }, 'the watch is off by default: a close call still polls');
});

t.test('SpinWait.waitAsync: the same watch, then the ring\'s poll on the event loop', async (t) => {
  const pages = new Map<number, Uint8Array>([[0, new Uint8Array(PAGE_SIZE)], [1, new PageBuilder(0n).event(1, markerPayload('x')).commit()]]);
  const ring = new FakeRing(pages, { readerPage: 1, readerRead: 0 }, []);
  const consumer = new MappedConsumer(ring, FAKE_FORMATS, { maxSpinUs: 2000, riskFraction: 0.5 });
  t.equal(await consumer.waitAsync(0), false, 'nothing consumed yet: the ring\'s pollAsync()');
  t.equal(ring.asyncPolls, 1);
  closeCall(consumer, 8, true);
  t.equal(await consumer.waitAsync(0), true, 'after a close call the watch sees the unread data');
  t.same(consumer.waitCounts, { spinsFound: 1, spinsTimedOut: 0, polls: 1 });
  t.equal(ring.asyncPolls, 1, 'and no poll followed it');
});

t.test('EventCursor: time stamps past 2^53 ns stay exact (two small-integer parts), through deltas, extends and absolute stamps', async (t) => {
  const base = (1n << 53n) - 3n;
  const builder = new PageBuilder(base).event(1, markerPayload('p1')).event(4, markerPayload('p2'));
  builder.timeExtend((1n << 40n) + 5n).event(7, markerPayload('p3'));
  builder.absoluteStamp(0x07ff_ffff_ffff_fff0n).event(0x7ffffff, markerPayload('p4'));
  const page = builder.commit();
  const cursor = new EventCursor(viewOf(page), LAYOUTS).setPage(0);
  const exact: bigint[] = [];
  const mixed: (number | bigint)[] = [];
  while (cursor.next()) {
    exact.push(cursor.timestampBig());
    mixed.push(cursor.timestamp());
  }
  const p1 = base + 1n;
  const p2 = p1 + 4n;
  const p3 = p2 + (1n << 40n) + 5n + 7n;
  const p4 = fixAbsoluteTimestamp(0x07ff_ffff_ffff_fff0n, p3) + 0x7ffffffn;
  t.same(exact, [p1, p2, p3, p4]);
  t.equal(mixed[0], Number(p1), 'below 2^53: a number');
  t.equal(typeof mixed[1], 'bigint', 'from 2^53 on: a bigint, never a rounded number');
  t.same(mixed.slice(1), [p2, p3, p4]);
  t.same(walkPage(viewOf(page), LAYOUTS).records.map((record) => record.timestamp), exact, 'walkPage gives the same stamps');
  t.equal(joinTimestamp(0x7f_ffff, 0x3fff_ffff), Number.MAX_SAFE_INTEGER);
  t.equal(joinTimestamp(0x80_0000, 0), 1n << 53n);
});

t.test('EventCursor: timestampNs() is exact or throws; timestampUs() stays exact past 2^53 ns; big-endian layouts are refused', async (t) => {
  const below = (1n << 53n) - 2n;
  const page = new PageBuilder(below).event(1, markerPayload('last exact')).event(1, markerPayload('past')).event(999, markerPayload('micro')).commit();
  const cursor = new EventCursor(viewOf(page), LAYOUTS).setPage(0);
  t.ok(cursor.next());
  t.equal(cursor.timestampNs(), Number.MAX_SAFE_INTEGER);
  t.ok(cursor.next());
  t.throws(() => cursor.timestampNs(), TimestampRangeError, 'no rounded number past 2^53');
  t.equal(cursor.timestampUs(), Number((1n << 53n) / 1000n));
  t.ok(cursor.next());
  t.equal(cursor.timestampUs(), Number(((1n << 53n) + 999n) / 1000n), 'whole microseconds, rounded down, exact');
  t.throws(() => new EventCursor(viewOf(page), { ...LAYOUTS, littleEndian: false }), /little-endian/);
});

t.test('EventCursor: an absolute stamp carries the top bits of the previous one, as rb_fix_abs_ts() does', async (t) => {
  const stampsAfter = (previous: bigint, absolute: bigint): bigint[] => {
    const page = new PageBuilder(previous).event(0, markerPayload('before')).absoluteStamp(absolute).event(0, markerPayload('after')).commit();
    const cursor = new EventCursor(viewOf(page), LAYOUTS).setPage(0);
    const stamps: bigint[] = [];
    while (cursor.next()) stamps.push(cursor.timestampBig());
    return stamps;
  };
  t.same(stampsAfter(0x0800_0000_0000_0100n, 0x200n), [0x0800_0000_0000_0100n, 0x0800_0000_0000_0200n], 'the top bits put back');
  t.same(stampsAfter(0x0800_0000_0000_0100n, 0x50n), [0x0800_0000_0000_0100n, 0x1000_0000_0000_0050n], 'smaller than before: carried into bit 59');
  t.same(stampsAfter(0xf800_0000_0000_0100n, 0x50n), [0xf800_0000_0000_0100n, 0x50n], 'the carry wraps at 64 bits, as the kernel\'s u64 does');
  t.equal(fixAbsoluteTimestamp(0x50n, 0xf800_0000_0000_0100n), 0x50n, 'fixAbsoluteTimestamp wraps too');
});

t.test('readU64/readI64: numbers while exact, bigints beyond', async (t) => {
  const view = new DataView(new ArrayBuffer(8));
  const cases: [bigint, number | bigint, number | bigint][] = [
    [0n, 0, 0],
    [(1n << 53n) - 1n, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    [1n << 53n, 1n << 53n, 1n << 53n],
    [0xffff_ffff_ffff_fffen, 0xffff_ffff_ffff_fffen, -2],
    [0xffe0_0000_0000_0000n, 0xffe0_0000_0000_0000n, -(1n << 53n)],
    [0xffe0_0000_0000_0001n, 0xffe0_0000_0000_0001n, -(2 ** 53) + 1],
  ];
  for (const [raw, unsigned, signed] of cases) {
    view.setBigUint64(0, raw, true);
    t.equal(readU64(view, 0, true), unsigned, `u64 0x${raw.toString(16)}`);
    t.equal(readI64(view, 0, true), signed, `s64 0x${raw.toString(16)}`);
    view.setBigUint64(0, raw, false);
    t.equal(readU64(view, 0, false), unsigned, `u64 0x${raw.toString(16)}, big-endian`);
  }
});

t.test('EventCursor.skipTo: a handover starting after a time extend (a peek consumed it) starts at the event the extend belongs to', async (t) => {
  const builder = new PageBuilder(1000n).event(1, markerPayload('before'));
  builder.timeExtend(1n << 30n);
  const afterExtend = dataBytes(builder);
  builder.event(0, markerPayload('extended'));
  const page = builder.commit();
  t.same(handedOverMarkers(page, { readerPage: 1, newPage: false, start: afterExtend, end: dataBytes(builder) }), ['extended']);
  const { records } = recordsHandedOver(viewOf(page), { readerPage: 1, newPage: false, start: afterExtend, end: dataBytes(builder) }, LAYOUTS);
  t.equal(records[0]?.timestamp, 1001n + (1n << 30n));
});

t.test('MappedConsumer: the rest of the reader page, then a new page after lost events; each event once, the loss told once', async (t) => {
  const { ring } = restThenLostEvents();
  const drained = new MappedConsumer(ring, FAKE_FORMATS).drain();
  t.same(drained.events.map((event) => markerText(event)), ['a2', 'a3', 'b1', 'b2'], 'not a1: it was consumed before this consumer');
  t.same(drained.readerPages, [0, 1]);
  t.same(drained.pages.map((page) => page.newPage), [false, true]);
  t.same(drained.pages.map((page) => page.lostEvents), [0n, 42n]);
  t.equal(drained.lostEvents, 42n);
  t.equal(drained.pagesWithMissedEvents, 1);
  t.equal(drained.pages[1]?.storedLostEvents, 42n);
  t.equal(drained.pagesTaken, 2);
  t.equal(drained.complete, true);
  t.equal(ring.ioctls, 3, 'the third call said EAGAIN');
});

t.test('MappedConsumer: reader_lost_events of a page handed over again is not told twice', async (t) => {
  const page = new PageBuilder(0n).event(1, markerPayload('c1'));
  const first = dataBytes(page);
  page.event(1, markerPayload('c2')).commit();
  const ring = new FakeRing(new Map([[0, new Uint8Array(PAGE_SIZE)], [3, page.bytes]]), { readerPage: 0, readerRead: 0 }, [
    { readerPage: 3, readerRead: first, readerLostEvents: 7n },
    { readerPage: 3, readerRead: dataBytes(page), readerLostEvents: 7n },
  ]);
  const drained = new MappedConsumer(ring, FAKE_FORMATS).drain();
  t.same(drained.events.map((event) => markerText(event)), ['c1', 'c2']);
  t.equal(drained.lostEvents, 7n);
});

t.test('MappedConsumer: a kernel returning 0 without handing anything over stops the drain with StalledHandoverError', async (t) => {
  const page = new PageBuilder(0n).event(1, markerPayload('only')).commit();
  const end = new DataView(page.buffer).getUint32(8, true);
  const stuck = Array.from({ length: 10 }, () => ({ readerPage: 1, readerRead: end }));
  const ring = new FakeRing(new Map([[0, new Uint8Array(PAGE_SIZE)], [1, page]]), { readerPage: 0, readerRead: 0 }, [
    { readerPage: 1, readerRead: end },
    ...stuck,
  ]);
  t.throws(() => new MappedConsumer(ring, FAKE_FORMATS).drain(), StalledHandoverError);
  t.ok(ring.ioctls <= 4, `gave up after ${ring.ioctls} calls`);
});

t.test('MappedConsumer: drain(maxPages) stops after that many handovers and says it is not complete', async (t) => {
  const pages = new Map<number, Uint8Array>([[0, new Uint8Array(PAGE_SIZE)]]);
  const handovers: FakeReaderState[] = [];
  for (let id = 1; id <= 3; id++) {
    const builder = new PageBuilder(BigInt(id)).event(1, markerPayload(`p${id}`));
    pages.set(id, builder.commit());
    handovers.push({ readerPage: id, readerRead: dataBytes(builder) });
  }
  const consumer = new MappedConsumer(new FakeRing(pages, { readerPage: 0, readerRead: 0 }, handovers), FAKE_FORMATS);
  const partial = consumer.drain(2);
  t.same(partial.events.map((event) => markerText(event)), ['p1', 'p2']);
  t.equal(partial.complete, false);
  const rest = consumer.drain();
  t.same(rest.events.map((event) => markerText(event)), ['p3']);
  t.equal(rest.complete, true);
});

// ---------------------------------------------------------------------------
// The meta page (meta.ts), built the way the kernel lays it out.

function metaArea(pageSize: number, fields: { nrDataPages: number; readerPage: number; structLen?: number; metaPageSize?: number; readerRead?: number; flags?: number }): DataView {
  const structLen = fields.structLen ?? META_STRUCT_LEN;
  const needed = Math.ceil((structLen + 4 * fields.nrDataPages) / pageSize) * pageSize;
  const size = fields.metaPageSize ?? needed;
  const view = new DataView(new ArrayBuffer(Math.max(size, needed)));
  view.setBigUint64(META_ENTRIES, 10n, true);
  view.setBigUint64(META_OVERRUN, 3n, true);
  view.setUint32(META_PAGES_TOUCHED, 2, true);
  view.setUint32(META_READER_PAGE, fields.readerPage, true);
  view.setUint32(META_NR_DATA_PAGES, fields.nrDataPages, true);
  view.setUint32(META_DATA_PAGE_HEAD, 0, true);
  view.setUint32(META_META_PAGE_SIZE, size, true);
  view.setUint32(META_META_STRUCT_LEN, structLen, true);
  view.setUint32(META_READER_READ, fields.readerRead ?? 0, true);
  view.setUint32(META_FLAGS, fields.flags ?? 0, true);
  view.setBigUint64(META_READER_LOST_EVENTS, 4n, true);
  view.setBigUint64(META_READ, 5n, true);
  let slot = 0;
  for (let id = 0; id <= fields.nrDataPages; id++) {
    if (id !== fields.readerPage) view.setUint32(structLen + 4 * slot++, id, true);
  }
  return view;
}

const GEOMETRY_4K = { pageSize: PAGE_SIZE, pageDataCapacity: PAGE_SIZE - DATA_OFFSET };

t.test('meta page: every field at its offset, data_pages[] from meta_struct_len', async (t) => {
  const meta = readMetaPage(metaArea(PAGE_SIZE, { nrDataPages: 4, readerPage: 0, readerRead: 96 }), true);
  t.same(meta, {
    entries: 10n,
    overrun: 3n,
    pagesTouched: 2,
    readerPage: 0,
    nrDataPages: 4,
    dataPageHead: 0,
    metaPageSize: PAGE_SIZE,
    metaStructLen: 64,
    readerRead: 96,
    flags: 0,
    readerLostEvents: 4n,
    read: 5n,
    dataPages: [1, 2, 3, 4],
  });
  t.same(metaInconsistencies(meta, GEOMETRY_4K), []);
});

t.test('meta page: a longer structure of a newer kernel still lists its pages where meta_struct_len says', async (t) => {
  const meta = readMetaPage(metaArea(PAGE_SIZE, { nrDataPages: 3, readerPage: 2, structLen: 96 }), true);
  t.same(meta.dataPages, [0, 1, 3]);
  t.same(metaInconsistencies(meta, GEOMETRY_4K), []);
});

t.test('meta page: the meta area grows by whole pages once the list no longer fits one', async (t) => {
  t.equal(dataPagesListedByOneMetaPage(4096), 1008);
  t.equal(dataPagesListedByOneMetaPage(65536), 16368);
  t.equal(metaAreaSize(1008, 4096), 4096, 'a full list still fits one page (the RFC layout)');
  t.equal(metaAreaSize(1009, 4096), 8192);
  t.equal(metaAreaSize(16384, 4096), 4096 * 17, 'a 64 MB ring of 4 KiB pages');
  const big = readMetaPage(metaArea(PAGE_SIZE, { nrDataPages: 1009, readerPage: 500 }), true);
  t.equal(big.metaPageSize, 8192);
  t.equal(big.dataPages.length, 1009, 'the list runs on into the second page');
  t.same(metaInconsistencies(big, GEOMETRY_4K), []);
  const firstPageOnly = readMetaPage(new DataView(metaArea(PAGE_SIZE, { nrDataPages: 1009, readerPage: 500 }).buffer, 0, PAGE_SIZE), true);
  t.equal(firstPageOnly.dataPages.length, 1008, 'a view of the first page alone lists what it holds');
  t.equal(firstPageOnly.metaPageSize, 8192, 'and tells how large the meta area is');
});

t.test('meta page: the consumer fields alone read the same as the whole page', async (t) => {
  const view = metaArea(PAGE_SIZE, { nrDataPages: 4, readerPage: 3, readerRead: 120 });
  const { readerPage, readerRead, readerLostEvents } = readMetaPage(view, true);
  t.same(readReaderFields(view, true), { readerPage, readerRead, readerLostEvents });
});

t.test('meta page: a view shorter than the fixed fields is refused', async (t) => {
  t.throws(() => readMetaPage(new DataView(new ArrayBuffer(32))), MetaPageViewError);
});

t.test('meta page: inconsistent sizes, flags and reader_read are reported', async (t) => {
  const cases: Array<[Parameters<typeof metaArea>[1], RegExp]> = [
    [{ nrDataPages: 4, readerPage: 0, metaPageSize: 4096 + 512 }, /not a whole number/],
    [{ nrDataPages: 1009, readerPage: 0, metaPageSize: 4096 }, /shorter than the list/],
    [{ nrDataPages: 4, readerPage: 0, flags: 1 }, /flags is 0x1/],
    [{ nrDataPages: 4, readerPage: 0, readerRead: 4081 }, /reader_read 4081/],
  ];
  for (const [fields, problem] of cases) {
    const problems = metaInconsistencies(readMetaPage(metaArea(PAGE_SIZE, fields), true), GEOMETRY_4K);
    t.ok(problems.some((text) => problem.test(text)), `${JSON.stringify(fields)}: ${problems.join('; ')}`);
  }
  // A list at byte 32 would overlap the fields: only the length itself can say so.
  const shortStruct = { ...readMetaPage(metaArea(PAGE_SIZE, { nrDataPages: 4, readerPage: 0 }), true), metaStructLen: 32 };
  t.match(metaInconsistencies(shortStruct, GEOMETRY_4K).join('; '), /meta_struct_len 32/);
});

t.test('meta page shared with other consumers: a consistent area passes, a lasting duplicate fails after every settled read', async (t) => {
  t.same(settledMetaProblems(metaArea(PAGE_SIZE, { nrDataPages: 4, readerPage: 2 }), GEOMETRY_4K), []);
  const duplicated = metaArea(PAGE_SIZE, { nrDataPages: 4, readerPage: 2 });
  duplicated.setUint32(META_READER_PAGE, 1, true);
  const started = Date.now();
  t.match(settledMetaProblems(duplicated, GEOMETRY_4K).join('; '), /page ID 1 listed twice/);
  t.ok(Date.now() - started >= META_SETTLE_ATTEMPTS - 1, 'it read again, a millisecond apart, before failing');
});

// ---------------------------------------------------------------------------
// Recorded pages from real guests: tests/host/fixtures/pages/<name>/
//   events/header_page, events/header_event, events/ftrace/print/format
//   page-NNN.bin      raw data pages, in the order the kernel handed them out
//   expected.json     { pages: [...], markers: [...], micros: [...] }
// markers are what the guest wrote (trace_marker), in order; micros are their
// time stamps as the kernel itself printed them in the `trace` file
// (ns2usecs(): rounded microseconds), an independent check of the decoder.
// Recorded with tests/guest/helpers/capture-pages.ts (see the README there).

const fixturesRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'tests', 'host', 'fixtures', 'pages');

interface RecordedExpectation {
  readonly pages: readonly string[];
  readonly markers: readonly string[];
  readonly micros: ReadonlyArray<string | null>;
}

const recorded = existsSync(fixturesRoot)
  ? readdirSync(fixturesRoot, { withFileTypes: true }).filter((entry) => entry.isDirectory())
  : [];

t.test('recorded guest pages are present', async (t) => {
  t.ok(recorded.length > 0, `fixtures under ${fixturesRoot}`);
});

for (const fixture of recorded) {
  t.test(`recorded pages decode to the markers written, with the kernel's own time stamps: ${fixture.name}`, async (t) => {
    const dir = join(fixturesRoot, fixture.name);
    const formats = new TraceFormats(join(dir, 'events'), true);
    t.same(formats.layouts.page, STANDARD_PAGE_HEADER, 'recorded header_page is the x86_64 layout');
    t.same(formats.layouts.event, STANDARD_EVENT_HEADER, 'recorded header_event');
    const print: EventFormat | null = formats.event('ftrace', 'print');
    t.ok(print !== null, 'ftrace/print format recorded');
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as RecordedExpectation;
    const markers: Array<string | null> = [];
    const micros: string[] = [];
    let timeExtends = 0;
    let lengthWords = 0;
    for (const file of expected.pages) {
      const bytes = readFileSync(join(dir, file));
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const { walk, events } = decodePage(view, formats.layouts, formats.lookup);
      timeExtends += walk.timeExtends;
      lengthWords += walk.records.filter((record) => record.typeLen === 0).length;
      t.equal(walk.records.filter((record) => record.extended).length, walk.timeExtends + walk.absoluteStamps, `${file}: extends belong to records`);
      for (const event of events) {
        markers.push(markerText(event));
        micros.push(((event.timestamp + 500n) / 1000n).toString());
      }
    }
    t.same(markers, expected.markers, 'every marker, in order, once');
    t.same(micros, expected.micros, 'time stamps match the trace file to the microsecond');
    t.ok(timeExtends >= 1, `the pause produced a time extend (${timeExtends})`);
    t.ok(lengthWords >= 1, `the long marker used a length word (${lengthWords})`);
  });
}

/** An event of another system than ftrace, for the lookup order of TraceFormats. */
const OTHER_SYSTEM_FORMAT = SAMPLE_FORMAT.replace('name: sample', 'name: other').replace(`ID: ${SAMPLE_ID}`, 'ID: 301');

t.test('TraceFormats finds a type among the tracers\' own events before it reads every event format', async (t) => {
  const events = t.testdir({
    header_page: HEADER_PAGE_6_1,
    header_event: HEADER_EVENT_6_1,
    ftrace: { print: { format: PRINT_FORMAT_6_1 }, sample: { format: SAMPLE_FORMAT } },
    sched: { other: { format: OTHER_SYSTEM_FORMAT } },
  });
  const formats = new TraceFormats(events, true);
  t.equal(formats.byType(SAMPLE_ID)?.name, 'sample', 'an ftrace event by its id');
  rmSync(join(events, 'sched'), { recursive: true });
  t.equal(formats.byType(301), null, 'the other systems were not read for it (sched/ is gone by the second lookup)');
});

t.test('TraceFormats finds a type of another system by reading every event format', async (t) => {
  const formats = new TraceFormats(t.testdir({
    header_page: HEADER_PAGE_6_1,
    header_event: HEADER_EVENT_6_1,
    ftrace: { print: { format: PRINT_FORMAT_6_1 } },
    sched: { other: { format: OTHER_SYSTEM_FORMAT } },
  }), true);
  t.equal(formats.byType(301)?.name, 'other', 'an event of another system is found by indexing them all');
  t.equal(formats.byType(999), null, 'an unknown id is null');
});
