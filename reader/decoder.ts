/**
 * Pages and events as objects, for those who want them: built on the
 * EventCursor (cursor.ts, the one page walker) and the compiled field readers
 * (fields.ts, the one field decoder). A consumer that keeps up with a busy
 * writer reads through the cursor instead and allocates nothing per event.
 */
import { EventCursor, fixAbsoluteStamp, MalformedPageError, RB_MISSED_EVENTS, RB_MISSED_STORED } from './cursor.js';
import { compileFormat, type CompiledFormat, type FieldValue, type PayloadSource } from './fields.js';
import type { EventFormat, EventHeaderLayout, FieldFormat, PageHeaderLayout } from './format.js';

export { MalformedPageError, RB_MISSED_EVENTS, RB_MISSED_STORED } from './cursor.js';
export type { FieldValue } from './fields.js';

export interface Layouts {
  readonly page: PageHeaderLayout;
  readonly event: EventHeaderLayout;
  readonly littleEndian: boolean;
}

export interface PageHeader {
  readonly timestamp: bigint;
  /** The raw commit word (flags included). */
  readonly commitWord: bigint;
  /** Bytes of event data: the commit word with the flag bits cleared. */
  readonly dataLength: number;
  readonly missedEvents: boolean;
  readonly missedStored: boolean;
  /** Events lost before this page, when the kernel stored the count. */
  readonly missedCount: bigint | null;
}

/** One data event found on a page. Offsets are relative to the page start. */
export interface RawRecord {
  /** Offset of the 32-bit event header (the time extend's header if one precedes it). */
  readonly headerOffset: number;
  /** Offset just past this event: where the next header starts. */
  readonly endOffset: number;
  readonly timestamp: bigint;
  /** Offset of the payload (the trace entry: common_type first). */
  readonly dataOffset: number;
  /** Payload bytes (rounded up to 4 for small events). */
  readonly dataLength: number;
  /** The event's type_len: 0 when the length is in a word of its own. */
  readonly typeLen: number;
  /** True when a time extend or absolute time stamp precedes the event. */
  readonly extended: boolean;
}

export interface PageWalk {
  readonly header: PageHeader;
  readonly records: RawRecord[];
  /** Discarded events (padding with a length) skipped on the page. */
  readonly discarded: number;
  /** Time extends (type 30) and absolute time stamps (type 31) met on the page. */
  readonly timeExtends: number;
  readonly absoluteStamps: number;
}

/** The header of the page the cursor stands on, as an object. */
export function pageHeaderOf(cursor: EventCursor): PageHeader {
  return {
    timestamp: cursor.pageTimestampBig(),
    commitWord: cursor.commitWord(),
    dataLength: cursor.commitLength,
    missedEvents: (cursor.commitFlags & RB_MISSED_EVENTS) !== 0,
    missedStored: (cursor.commitFlags & RB_MISSED_STORED) !== 0,
    missedCount: cursor.storedMissedCount(),
  };
}

export function readPageHeader(view: DataView, layouts: Layouts): PageHeader {
  return pageHeaderOf(new EventCursor(view, layouts).setPage(0));
}

/** The kernel's rb_fix_abs_ts() (the cursor's own). */
export const fixAbsoluteTimestamp = fixAbsoluteStamp;

/** The cursor's current event as a RawRecord (offsets relative to its page). */
export function recordOf(cursor: EventCursor): RawRecord {
  const page = cursor.pageStart;
  return {
    headerOffset: cursor.headerOffset - page,
    endOffset: cursor.endOffset - page,
    timestamp: cursor.timestampBig(),
    dataOffset: cursor.payloadOffset - page,
    dataLength: cursor.payloadLength,
    typeLen: cursor.typeLen,
    extended: cursor.extended,
  };
}

/** The records left on the cursor's page, and its counts, as a PageWalk. */
export function collectWalk(cursor: EventCursor): PageWalk {
  const records: RawRecord[] = [];
  while (cursor.next()) records.push(recordOf(cursor));
  return {
    header: pageHeaderOf(cursor),
    records,
    discarded: cursor.discarded,
    timeExtends: cursor.timeExtends,
    absoluteStamps: cursor.absoluteStamps,
  };
}

/**
 * Walk every data event of the page in `view` (a view whose byte 0 is the page's
 * byte 0). Time stamps are the page stamp plus the deltas, time extends and
 * absolute stamps met on the way, as the kernel's reader computes them.
 *
 * `dataLimit` stops the walk after that many bytes of data instead of at the
 * commit (a mapped reader page is handed over up to reader_read, and the
 * writer may have committed more since); it must not exceed the commit.
 */
export function walkPage(view: DataView, layouts: Layouts, dataLimit?: number): PageWalk {
  return collectWalk(new EventCursor(view, layouts).setPage(0, dataLimit ?? -1));
}

// ---------------------------------------------------------------------------
// Events as objects

export interface DecodedEvent {
  readonly timestamp: bigint;
  readonly id: number;
  /** Event name from its format, or `unknown-<id>` when no format is known. */
  readonly name: string;
  readonly format: EventFormat | null;
  readonly pid: number;
  readonly flags: number;
  readonly preemptCount: number;
  /** Every field (common ones included) by name. */
  readonly fields: ReadonlyMap<string, FieldValue>;
  readonly record: RawRecord;
}

/** Finds the format of an event type; null when the type is unknown. */
export type FormatLookup = (id: number) => EventFormat | null;

const compiledCache = { little: new WeakMap<EventFormat, CompiledFormat>(), big: new WeakMap<EventFormat, CompiledFormat>() };

/** The format's field readers, compiled on first use. */
export function compiledFormatOf(format: EventFormat, littleEndian: boolean): CompiledFormat {
  const cache = littleEndian ? compiledCache.little : compiledCache.big;
  let compiled = cache.get(format);
  if (compiled === undefined) {
    compiled = compileFormat(format, littleEndian);
    cache.set(format, compiled);
  }
  return compiled;
}

function asNumber(value: FieldValue | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return 0;
}

function buildEvent(source: PayloadSource, id: number, format: EventFormat | null, littleEndian: boolean, timestamp: bigint, record: RawRecord): DecodedEvent {
  const fields = new Map<string, FieldValue>();
  if (format !== null) {
    for (const { field, read } of compiledFormatOf(format, littleEndian).fields) fields.set(field.name, read(source));
  } else {
    fields.set('common_type', id);
  }
  return {
    timestamp,
    id,
    name: format?.name ?? `unknown-${id}`,
    format,
    pid: asNumber(fields.get('common_pid')),
    flags: asNumber(fields.get('common_flags')),
    preemptCount: asNumber(fields.get('common_preempt_count')),
    fields,
    record,
  };
}

/** The event the cursor stands on, every field decoded, as an object. */
export function eventOf(cursor: EventCursor, lookup: FormatLookup): DecodedEvent {
  if (cursor.payloadLength < 2) throw new MalformedPageError('record too short for common_type', cursor.payloadOffset - cursor.pageStart);
  const id = cursor.eventType();
  return buildEvent(cursor, id, lookup(id), cursor.littleEndian, cursor.timestampBig(), recordOf(cursor));
}

/** Decode one field of the record whose payload starts at `base` and is `length` bytes. */
export function decodeField(view: DataView, base: number, length: number, field: FieldFormat, littleEndian: boolean): FieldValue {
  const single = compileFormat({ name: field.name, id: -1, commonFields: [], fields: [field], printFormat: '' }, littleEndian);
  return single.fields[0]!.read(payloadSource(view, base, length));
}

function payloadSource(view: DataView, payloadOffset: number, payloadLength: number): PayloadSource {
  return { view, text: Buffer.from(view.buffer, view.byteOffset, view.byteLength), payloadOffset, payloadLength };
}

/**
 * Decode a walked record (offsets relative to `view`'s byte 0, as walkPage()
 * gives them): common fields and named fields through its format.
 */
export function decodeRecord(view: DataView, record: RawRecord, lookup: FormatLookup, littleEndian: boolean): DecodedEvent {
  if (record.dataLength < 2) throw new MalformedPageError('record too short for common_type', record.dataOffset);
  const id = view.getUint16(record.dataOffset, littleEndian);
  return buildEvent(payloadSource(view, record.dataOffset, record.dataLength), id, lookup(id), littleEndian, record.timestamp, record);
}

/** Walk and decode a whole page. */
export function decodePage(view: DataView, layouts: Layouts, lookup: FormatLookup): { walk: PageWalk; events: DecodedEvent[] } {
  const cursor = new EventCursor(view, layouts).setPage(0);
  const events: DecodedEvent[] = [];
  const records: RawRecord[] = [];
  while (cursor.next()) {
    const event = eventOf(cursor, lookup);
    events.push(event);
    records.push(event.record);
  }
  const walk = { header: pageHeaderOf(cursor), records, discarded: cursor.discarded, timeExtends: cursor.timeExtends, absoluteStamps: cursor.absoluteStamps };
  return { walk, events };
}

/** The text a trace_marker write left in an ftrace/print event, without the newline the kernel adds. */
export function markerText(event: DecodedEvent): string | null {
  if (event.name !== 'print') return null;
  const buf = event.fields.get('buf');
  if (typeof buf !== 'string') return null;
  return buf.endsWith('\n') ? buf.slice(0, -1) : buf;
}
