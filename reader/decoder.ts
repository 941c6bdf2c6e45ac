/**
 * Zero-copy decoding of ring-buffer data pages.
 *
 * A data page (header layout from events/header_page):
 *   u64     time stamp of the page (the base for the first delta)
 *   local_t commit: bytes of event data written, flags in bits 31 and 30
 *                   (RB_MISSED_EVENTS, RB_MISSED_STORED)
 *   data[]  events, each starting with a 32-bit header (events/header_event):
 *           type_len (5 bits, low bits on little-endian) | time_delta (27 bits)
 *             0       length in array[0], data from array[1]
 *             1..28   data length = type_len * 4, data from array[0]
 *             29      padding (discarded event); time_delta 0 = rest of page unused
 *             30      time extend: delta = array[0] << 27 | time_delta
 *             31      absolute time stamp (same encoding, 59 bits kept)
 * When RB_MISSED_STORED is set, the count of missed events (an unsigned long) sits
 * right after the committed data.
 *
 * The walker reads through a DataView positioned at the page start; it never
 * copies the page. Records carry offsets into that view.
 */
import type { EventFormat, EventHeaderLayout, FieldFormat, PageHeaderLayout } from './format.js';

export const RB_MISSED_EVENTS = 1 << 31;
export const RB_MISSED_STORED = 1 << 30;
const COMMIT_FLAG_MASK = (RB_MISSED_EVENTS | RB_MISSED_STORED) >>> 0;

/** Upper bits of a time stamp that an absolute time-stamp event does not store. */
const TS_MSB = 0xf8n << 56n;
const ABS_TS_CARRY = 1n << 59n;

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

export class MalformedPageError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at page offset ${offset})`);
    this.name = 'MalformedPageError';
  }
}

export function readPageHeader(view: DataView, layouts: Layouts): PageHeader {
  const { page, littleEndian } = layouts;
  if (view.byteLength < page.dataOffset) throw new MalformedPageError('view shorter than the page header', 0);
  const timestamp = view.getBigUint64(page.timestampOffset, littleEndian);
  const commitWord =
    page.commitSize === 8
      ? view.getBigUint64(page.commitOffset, littleEndian)
      : BigInt(view.getUint32(page.commitOffset, littleEndian));
  const low = Number(commitWord & 0xffffffffn);
  const flags = (low & COMMIT_FLAG_MASK) >>> 0;
  const dataLength = (low & ~COMMIT_FLAG_MASK) >>> 0;
  if (dataLength > page.dataCapacity) {
    throw new MalformedPageError(`commit ${dataLength} exceeds the page capacity ${page.dataCapacity}`, page.commitOffset);
  }
  const missedEvents = (flags & RB_MISSED_EVENTS) !== 0;
  const missedStored = (flags & RB_MISSED_STORED) !== 0;
  let missedCount: bigint | null = null;
  if (missedStored) {
    const at = page.dataOffset + dataLength;
    if (at + page.commitSize <= view.byteLength) {
      missedCount =
        page.commitSize === 8 ? view.getBigUint64(at, littleEndian) : BigInt(view.getUint32(at, littleEndian));
    }
  }
  return { timestamp, commitWord, dataLength, missedEvents, missedStored, missedCount };
}

/** The kernel's rb_fix_abs_ts(): put back the top bits an absolute stamp does not carry. */
export function fixAbsoluteTimestamp(absolute: bigint, previous: bigint): bigint {
  if ((previous & TS_MSB) === 0n) return absolute;
  let fixed = absolute | (previous & TS_MSB);
  if (fixed < previous) fixed += ABS_TS_CARRY;
  return fixed;
}

/** Where a data event's payload lies, from its type_len (0: a length word follows the header). */
function dataEventExtent(view: DataView, offset: number, typeLen: number, layouts: Layouts): { dataOffset: number; dataLength: number; length: number } {
  if (typeLen === 0) {
    const arrayZero = view.getUint32(offset + 4, layouts.littleEndian);
    if (arrayZero < 4) throw new MalformedPageError(`event length word ${arrayZero}`, offset);
    return { dataOffset: offset + 8, dataLength: arrayZero - 4, length: arrayZero + 4 };
  }
  if (typeLen <= layouts.event.dataMaxTypeLen) return { dataOffset: offset + 4, dataLength: typeLen * 4, length: typeLen * 4 + 4 };
  throw new MalformedPageError(`unknown type_len ${typeLen}`, offset);
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
  const header = readPageHeader(view, layouts);
  const { event: eventLayout, littleEndian } = layouts;
  const typeLenMask = (1 << eventLayout.typeLenBits) - 1;
  const start = layouts.page.dataOffset;
  if (dataLimit !== undefined && (!Number.isInteger(dataLimit) || dataLimit < 0 || dataLimit > header.dataLength)) {
    throw new MalformedPageError(`walk limit ${dataLimit} outside the committed data (${header.dataLength} bytes)`, layouts.page.commitOffset);
  }
  const end = start + (dataLimit ?? header.dataLength);
  if (end > view.byteLength) throw new MalformedPageError('committed data runs past the view', end);
  const records: RawRecord[] = [];
  let discarded = 0;
  let timeExtends = 0;
  let absoluteStamps = 0;
  let timestamp = header.timestamp;
  let offset = start;
  let recordStart = offset; // a time extend belongs to the event that follows it

  const needs = (bytes: number, what: string): void => {
    if (offset + bytes > end) throw new MalformedPageError(`${what} runs past the end of the walked data (${end})`, offset);
  };

  while (offset < end) {
    needs(4, 'event header');
    const word = view.getUint32(offset, littleEndian);
    const typeLen = littleEndian ? word & typeLenMask : word >>> (32 - eventLayout.typeLenBits);
    const timeDelta = littleEndian
      ? word >>> eventLayout.typeLenBits
      : word & ((1 << eventLayout.timeDeltaBits) - 1);

    if (typeLen === eventLayout.paddingType) {
      if (timeDelta === 0) break; // the rest of the page is unused
      needs(8, 'padding');
      const length = view.getUint32(offset + 4, littleEndian) + 4;
      if (length < 8) throw new MalformedPageError(`padding of ${length} bytes`, offset);
      needs(length, 'padding');
      offset += length;
      recordStart = offset;
      discarded++;
      continue;
    }
    if (typeLen === eventLayout.timeExtendType || typeLen === eventLayout.timeStampType) {
      needs(8, 'time extend');
      const stamp = (BigInt(view.getUint32(offset + 4, littleEndian)) << BigInt(eventLayout.timeDeltaBits)) + BigInt(timeDelta);
      if (typeLen === eventLayout.timeExtendType) {
        timestamp += stamp;
        timeExtends++;
      } else {
        timestamp = fixAbsoluteTimestamp(stamp, timestamp);
        absoluteStamps++;
      }
      offset += 8;
      continue;
    }
    if (typeLen === 0) needs(8, 'event length word');
    const { dataOffset, dataLength, length } = dataEventExtent(view, offset, typeLen, layouts);
    needs(length, 'event');
    timestamp += BigInt(timeDelta);
    offset += length;
    records.push({
      headerOffset: recordStart,
      endOffset: offset,
      timestamp,
      dataOffset,
      dataLength,
      typeLen,
      extended: recordStart !== offset - length,
    });
    recordStart = offset;
  }
  return { header, records, discarded, timeExtends, absoluteStamps };
}

// ---------------------------------------------------------------------------
// Field decoding

export type FieldValue = number | bigint | string | readonly number[] | readonly bigint[];

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

function readInteger(view: DataView, offset: number, size: number, signed: boolean, littleEndian: boolean): number | bigint {
  switch (size) {
    case 1:
      return signed ? view.getInt8(offset) : view.getUint8(offset);
    case 2:
      return signed ? view.getInt16(offset, littleEndian) : view.getUint16(offset, littleEndian);
    case 4:
      return signed ? view.getInt32(offset, littleEndian) : view.getUint32(offset, littleEndian);
    case 8:
      return signed ? view.getBigInt64(offset, littleEndian) : view.getBigUint64(offset, littleEndian);
    default:
      throw new Error(`integer of ${size} bytes`);
  }
}

/** Bytes up to the first NUL (or the end), as UTF-8. */
function readCString(view: DataView, offset: number, length: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, length);
  const nul = bytes.indexOf(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, nul === -1 ? length : nul).toString('utf8');
}

function isCharType(type: string): boolean {
  return /^(unsigned |signed )?char$/.test(type.replace(/\bconst\b/g, '').trim());
}

function readElements(
  view: DataView,
  offset: number,
  length: number,
  field: FieldFormat,
  littleEndian: boolean,
): FieldValue {
  if (isCharType(field.type)) return readCString(view, offset, length);
  const elementSize = field.elementSize;
  if (![1, 2, 4, 8].includes(elementSize)) {
    return Array.from(new Uint8Array(view.buffer, view.byteOffset + offset, length));
  }
  const count = Math.floor(length / elementSize);
  if (elementSize === 8) {
    const values: bigint[] = [];
    for (let i = 0; i < count; i++) {
      values.push(readInteger(view, offset + i * 8, 8, field.signed, littleEndian) as bigint);
    }
    return values;
  }
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    values.push(readInteger(view, offset + i * elementSize, elementSize, field.signed, littleEndian) as number);
  }
  return values;
}

/** Decode one field of the record whose payload starts at `base` and is `length` bytes. */
export function decodeField(
  view: DataView,
  base: number,
  length: number,
  field: FieldFormat,
  littleEndian: boolean,
): FieldValue {
  const at = base + field.offset;
  switch (field.storage) {
    case 'scalar':
      if (field.offset + field.size > length) throw new Error(`field ${field.name} lies past the record end`);
      return readInteger(view, at, field.size, field.signed, littleEndian);
    case 'array': {
      const bytes = field.arrayLength === null ? Math.max(0, length - field.offset) : field.size;
      if (field.offset + bytes > length) throw new Error(`field ${field.name} lies past the record end`);
      return readElements(view, at, bytes, field, littleEndian);
    }
    case 'data_loc':
    case 'rel_loc': {
      if (field.offset + 4 > length) throw new Error(`field ${field.name} lies past the record end`);
      const loc = view.getUint32(at, littleEndian);
      const dataLength = loc >>> 16;
      const relative = loc & 0xffff;
      const dataOffset = field.storage === 'data_loc' ? relative : field.offset + 4 + relative;
      if (dataOffset + dataLength > length) throw new Error(`dynamic field ${field.name} lies past the record end`);
      return readElements(view, base + dataOffset, dataLength, field, littleEndian);
    }
  }
}

function asNumber(value: FieldValue | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return 0;
}

/** Decode a walked record: common fields and named fields through its format. */
export function decodeRecord(view: DataView, record: RawRecord, lookup: FormatLookup, littleEndian: boolean): DecodedEvent {
  if (record.dataLength < 2) throw new MalformedPageError('record too short for common_type', record.dataOffset);
  const id = view.getUint16(record.dataOffset, littleEndian);
  const format = lookup(id);
  const fields = new Map<string, FieldValue>();
  if (format !== null) {
    for (const field of [...format.commonFields, ...format.fields]) {
      fields.set(field.name, decodeField(view, record.dataOffset, record.dataLength, field, littleEndian));
    }
  } else {
    fields.set('common_type', id);
  }
  return {
    timestamp: record.timestamp,
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

/** Walk and decode a whole page. */
export function decodePage(view: DataView, layouts: Layouts, lookup: FormatLookup): { walk: PageWalk; events: DecodedEvent[] } {
  const walk = walkPage(view, layouts);
  const events = walk.records.map((record) => decodeRecord(view, record, lookup, layouts.littleEndian));
  return { walk, events };
}

/** The text a trace_marker write left in an ftrace/print event, without the newline the kernel adds. */
export function markerText(event: DecodedEvent): string | null {
  if (event.name !== 'print') return null;
  const buf = event.fields.get('buf');
  if (typeof buf !== 'string') return null;
  return buf.endsWith('\n') ? buf.slice(0, -1) : buf;
}
