/**
 * The event cursor: walks the events of ring-buffer data pages in place, over
 * one DataView of the whole mapping (or of any buffer holding pages), and
 * allocates nothing per event. It is the library's only page walker:
 * walkPage(), decodeRecord() and the consumers build on it.
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
 * When RB_MISSED_STORED is set, the count of missed events (an unsigned long)
 * sits right after the committed data.
 *
 * Time stamps are kept as two small integers (timestamp.ts): timestamp()
 * gives a number while that is exact, a bigint after.
 *
 * Usage:
 *   const cursor = new EventCursor(view, layouts);
 *   cursor.setPage(pageOffset);            // or setPage(pageOffset, end) and skipTo(start)
 *   while (cursor.next()) use(cursor.eventType(), cursor.u32(8), cursor.timestampNs());
 */
import type { Layouts } from './decoder.js';
import { readU64 } from './fields.js';
import { WalkClock } from './timestamp.js';

// Part of the cursor's API since before timestamp.ts (the library's index exports them from here).
export { fixAbsoluteStamp, joinTimestamp, TimestampRangeError } from './timestamp.js';

export const RB_MISSED_EVENTS = 1 << 31;
export const RB_MISSED_STORED = 1 << 30;
const COMMIT_DATA_MASK = ~(RB_MISSED_EVENTS | RB_MISSED_STORED) >>> 0;
/** As in timestamp.ts, but this module's own: next() uses it, and V8 builds in a module's own constants, not imported ones. */
const TWO_30 = 0x4000_0000;

export class MalformedPageError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at page offset ${offset})`);
    this.name = 'MalformedPageError';
  }
}

/** Throws out of the walk; kept out of line so the walk itself holds no string building. */
function malformed(message: string, offset: number): never {
  throw new MalformedPageError(message, offset);
}

export class EventCursor extends WalkClock {
  // The fields set once in the constructor are `declare`d: a class field
  // declaration would first define them as undefined, and V8 would then keep
  // them as generic (not small-integer, not constant) fields in the hot path.
  /** Always true: the cursor reads little-endian pages only. */
  declare readonly littleEndian: boolean;
  declare readonly bytes: Uint8Array;
  /** The same bytes as a Buffer, for strings. */
  declare readonly text: Buffer;
  private declare readonly timestampOffset: number;
  private declare readonly commitOffset: number;
  private declare readonly commitSize: number;
  private declare readonly dataOffset: number;
  private declare readonly dataCapacity: number;
  private declare readonly typeLenBits: number;
  private declare readonly typeLenMask: number;
  private declare readonly timeDeltaBits: number;
  /** A time extend's array[0] << timeDeltaBits, split at 2^30: (array0 & mask) * scale + floor(array0 / divisor) * 2^30. */
  private declare readonly extendLowMask: number;
  private declare readonly extendLowScale: number;
  private declare readonly extendHighDivisor: number;
  private declare readonly paddingType: number;
  private declare readonly timeExtendType: number;
  private declare readonly timeStampType: number;
  private declare readonly dataMaxTypeLen: number;

  /** Byte offset of the current page in the view. */
  pageStart = 0;
  /** Bytes of event data committed on the page (the flags cleared). */
  commitLength = 0;
  /** The commit word's flag bits (RB_MISSED_EVENTS | RB_MISSED_STORED). */
  commitFlags = 0;
  /** View offset where the walk stops (the commit, or a handover's end). */
  private end = 0;
  /** View offset of the next header to read. */
  private at = 0;

  /** The current event, valid after next() returned true. View offsets. */
  payloadOffset = 0;
  /** Payload bytes (rounded up to 4 for small events). */
  payloadLength = 0;
  /**
   * Header bytes before the payload: its own (4, or 8 with a length word)
   * plus 8 per time extend or absolute stamp just before it. One field for
   * what headerOffset, typeLen and extended say: next() stores less.
   */
  private headerBytes = 0;

  /** Met on the current page so far. */
  discarded = 0;
  timeExtends = 0;
  absoluteStamps = 0;

  constructor(
    readonly view: DataView,
    layouts: Layouts,
  ) {
    super();
    this.bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    this.text = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    if (!layouts.littleEndian) {
      throw new RangeError('EventCursor reads little-endian pages (the kernels of x86_64 and arm64); these layouts are big-endian');
    }
    this.littleEndian = true;
    const { page, event } = layouts;
    this.timestampOffset = page.timestampOffset;
    this.commitOffset = page.commitOffset;
    this.commitSize = page.commitSize;
    this.dataOffset = page.dataOffset;
    this.dataCapacity = page.dataCapacity;
    this.typeLenBits = event.typeLenBits;
    this.typeLenMask = (1 << event.typeLenBits) - 1;
    this.timeDeltaBits = event.timeDeltaBits;
    if (event.timeDeltaBits > 30) throw new RangeError(`a ${event.timeDeltaBits}-bit time delta: this cursor handles up to 30`);
    // Shifts, not powers: small integers keep every field that meets them a small-integer field.
    this.extendHighDivisor = 1 << (30 - event.timeDeltaBits);
    this.extendLowMask = this.extendHighDivisor - 1;
    this.extendLowScale = 1 << event.timeDeltaBits;
    this.paddingType = event.paddingType;
    this.timeExtendType = event.timeExtendType;
    this.timeStampType = event.timeStampType;
    this.dataMaxTypeLen = event.dataMaxTypeLen;
  }

  /** The low 32 bits of the commit word of the page at `pageStart`: read it to watch a page grow. */
  commitWordLow(pageStart: number): number {
    return this.view.getUint32(pageStart + this.commitOffset, true);
  }

  /** Bytes of event data committed on the page at `pageStart` (no walk). */
  committedBytes(pageStart: number): number {
    return (this.commitWordLow(pageStart) & COMMIT_DATA_MASK) >>> 0;
  }

  /**
   * Start walking the page at view offset `pageStart`: its header is read and
   * checked; the walk stops after `dataLimit` bytes of data (default: the
   * commit), which must not exceed the commit.
   */
  setPage(pageStart: number, dataLimit = -1): this {
    const view = this.view;
    if (pageStart < 0 || pageStart + this.dataOffset > view.byteLength) malformed('view shorter than the page header', 0);
    const low = this.commitWordLow(pageStart);
    const length = (low & COMMIT_DATA_MASK) >>> 0;
    if (length > this.dataCapacity) malformed(`commit ${length} exceeds the page capacity ${this.dataCapacity}`, this.commitOffset);
    const limit = dataLimit < 0 ? length : dataLimit;
    if (!Number.isInteger(limit) || limit > length) {
      malformed(`walk limit ${dataLimit} outside the committed data (${length} bytes)`, this.commitOffset);
    }
    const data = pageStart + this.dataOffset;
    if (data + limit > view.byteLength) malformed('committed data runs past the view', this.dataOffset + limit);
    this.pageStart = pageStart;
    this.commitLength = length;
    this.commitFlags = (low & ~COMMIT_DATA_MASK) >>> 0;
    const ts = pageStart + this.timestampOffset;
    this.startPage(view.getUint32(ts, true), view.getUint32(ts + 4, true));
    this.end = data + limit;
    this.at = data;
    this.discarded = 0;
    this.timeExtends = 0;
    this.absoluteStamps = 0;
    return this;
  }

  /** Page offset of the walk's next header: where the data handed over so far ends. */
  get position(): number {
    return this.at - this.pageStart;
  }

  /** Data bytes of the page the walk stops at (from the start of the events). */
  get dataEnd(): number {
    return this.end - this.pageStart - this.dataOffset;
  }

  /**
   * Walk past the events before data byte `dataStart` (time stamps still
   * accumulate from the page's first event); next() then returns the first
   * event at or after it. A time extend just before `dataStart` belongs to the
   * event after it (a peek consumes extends on its own). Throws when
   * `dataStart` falls inside an event.
   */
  skipTo(dataStart: number): void {
    const target = this.pageStart + this.dataOffset + dataStart;
    if (target > this.end) malformed(`skip to data byte ${dataStart} past the end of the walk`, target - this.pageStart);
    while (this.at < target) {
      const { at, tsHigh, tsLow, discarded, timeExtends, absoluteStamps } = this;
      if (!this.next()) break;
      const ownHeader = this.payloadOffset - this.ownHeaderBytes;
      if (ownHeader >= target) {
        // Handed over: walk to it again from where this step began.
        Object.assign(this, { at, tsHigh, tsLow, discarded, timeExtends, absoluteStamps });
        break;
      }
      if (this.endOffset > target) malformed(`the handover starts at data byte ${dataStart}, inside an event`, ownHeader - this.pageStart);
    }
  }

  /**
   * Move to the next data event of the page; false at the end of the walk.
   * Kept small so the JIT inlines it into the caller's loop: padding, time
   * stamps and malformed data go to helpers.
   */
  next(): boolean {
    const { view, end } = this;
    let at = this.at;
    let recordStart = at;
    let high = this.tsHigh;
    let low = this.tsLow;
    while (at + 4 <= end) {
      const word = view.getUint32(at, true);
      const typeLen = word & this.typeLenMask;
      if (typeLen > this.dataMaxTypeLen) {
        this.tsHigh = high;
        this.tsLow = low;
        at = this.nonDataEvent(at, typeLen, word);
        if (at < 0) {
          at = end;
          break;
        }
        high = this.tsHigh;
        low = this.tsLow;
        if (typeLen === this.paddingType) recordStart = at;
        continue;
      }
      let payload = at + 4;
      let length = typeLen * 4;
      if (typeLen === 0) {
        length = this.lengthWord(at);
        payload = at + 8;
      }
      const next = payload + length;
      if (next > end) this.pastTheEnd(at, 'event');
      low = (low + (word >>> this.typeLenBits)) | 0;
      if (low >= TWO_30) {
        low -= TWO_30;
        this.tsHigh = high + 1;
      }
      this.tsLow = low;
      this.headerBytes = payload - recordStart;
      this.payloadOffset = payload;
      this.payloadLength = length;
      this.at = next;
      return true;
    }
    if (at < end) this.pastTheEnd(at, 'event header');
    this.at = at;
    this.tsHigh = high;
    this.tsLow = low;
    return false;
  }

  private malformedAt(at: number, message: string): never {
    malformed(message, at - this.pageStart);
  }

  private pastTheEnd(at: number, what: string): never {
    this.malformedAt(at, `${what} runs past the end of the walked data (${this.end - this.pageStart})`);
  }

  /** The payload length a type_len 0 event's length word at `at` gives. */
  private lengthWord(at: number): number {
    if (at + 8 > this.end) this.pastTheEnd(at, 'event length word');
    const word = this.view.getUint32(at + 4, true);
    if (word < 4) this.malformedAt(at, `event length word ${word}`);
    return word - 4;
  }

  /**
   * Padding, a time extend or an absolute time stamp at `at` (the time stamp
   * fields updated): where the walk goes on, or -1 when padding says the rest
   * of the page is unused.
   */
  private nonDataEvent(at: number, typeLen: number, word: number): number {
    const { view, end } = this;
    const timeDelta = word >>> this.typeLenBits;
    if (typeLen === this.paddingType) {
      if (timeDelta === 0) return -1;
      if (at + 8 > end) this.malformedAt(at, 'padding runs past the end of the walked data');
      const length = view.getUint32(at + 4, true) + 4;
      if (length < 8 || at + length > end) this.malformedAt(at, `padding of ${length} bytes`);
      this.discarded++;
      return at + length;
    }
    if (typeLen !== this.timeExtendType && typeLen !== this.timeStampType) this.malformedAt(at, `unknown type_len ${typeLen}`);
    if (at + 8 > end) this.malformedAt(at, 'time extend runs past the end of the walked data');
    // array[0] << time_delta bits | time_delta, in the same two parts as the time stamp.
    const array0 = view.getUint32(at + 4, true);
    if (typeLen === this.timeExtendType) {
      this.advance(Math.floor(array0 / this.extendHighDivisor), (array0 & this.extendLowMask) * this.extendLowScale + timeDelta);
      this.timeExtends++;
    } else {
      this.setAbsolute((BigInt(array0) << BigInt(this.timeDeltaBits)) + BigInt(timeDelta));
      this.absoluteStamps++;
    }
    return at + 8;
  }

  /** View offset just past the current event. */
  get endOffset(): number {
    return this.payloadOffset + this.payloadLength;
  }

  /** True when a time extend or absolute stamp precedes the current event. */
  get extended(): boolean {
    return this.headerBytes > 8;
  }

  /** Where the current event's header starts (its time extend's, if one precedes it). */
  get headerOffset(): number {
    return this.payloadOffset - this.headerBytes;
  }

  /** The current event's type_len: 0 when its length is in a word of its own. */
  get typeLen(): number {
    return this.headerBytes % 8 === 0 ? 0 : this.payloadLength / 4;
  }

  /** 4, or 8 for an event with a length word. */
  private get ownHeaderBytes(): number {
    return this.headerBytes % 8 === 0 ? 8 : 4;
  }

  /** The raw commit word of the current page (flags included). */
  commitWord(): bigint {
    const at = this.pageStart + this.commitOffset;
    return this.commitSize === 8 ? this.view.getBigUint64(at, true) : BigInt(this.view.getUint32(at, true));
  }

  /** Events lost before the current page, when the kernel stored the count after its data; else null. */
  storedMissedCount(): bigint | null {
    if ((this.commitFlags & RB_MISSED_STORED) === 0) return null;
    const at = this.pageStart + this.dataOffset + this.commitLength;
    if (at + this.commitSize > this.view.byteLength || at + this.commitSize > this.pageStart + this.dataOffset + this.dataCapacity) return null;
    return this.commitSize === 8 ? this.view.getBigUint64(at, true) : BigInt(this.view.getUint32(at, true));
  }

  // Payload accessors of the current event, `offset` from the payload's start
  // (the trace entry: common_type at 0), as a format's field offsets are.

  /** common_type: the event's type ID. */
  eventType(): number {
    return this.view.getUint16(this.payloadOffset, true);
  }

  u8(offset: number): number {
    return this.view.getUint8(this.payloadOffset + offset);
  }

  u16(offset: number): number {
    return this.view.getUint16(this.payloadOffset + offset, true);
  }

  i32(offset: number): number {
    return this.view.getInt32(this.payloadOffset + offset, true);
  }

  u32(offset: number): number {
    return this.view.getUint32(this.payloadOffset + offset, true);
  }

  /** An unsigned 64-bit field: a number while exact, a bigint beyond 2^53. */
  u64(offset: number): number | bigint {
    return readU64(this.view, this.payloadOffset + offset, true);
  }
}
