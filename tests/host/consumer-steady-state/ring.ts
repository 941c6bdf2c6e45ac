/**
 * Rings without a kernel for the consumer's steady-state tests: pages in one
 * buffer, handed over in a fixed order.
 */
import type { EventCursor, HandoverSource } from '../../../reader/index.js';
import { generatePages, LAYOUTS, PAGE_SIZE } from '../decode-speed/speed.js';

/** One GET_READER_PAGE of the rare sequence: page `page` with `read` data bytes consumed, after `lost` lost events. */
export interface RareHandover {
  readonly page: number;
  readonly read: number;
  readonly lost: bigint;
}

/**
 * A ring over pages in one buffer (page ID n at n * PAGE_SIZE) whose
 * GET_READER_PAGE swaps in the next page of IDs 1..cycle, whole; or, after
 * setRare(true), the next of `rareHandovers`.
 *
 * Its state lives in a typed array, as the real ring's lives in the meta
 * page: V8 compiles a read of an object field that was never changed as a
 * constant, and a test ring whose fields change only for the rare case
 * would throw the consumer's compiled code away where the real one does not.
 */
export class ScriptedRing implements HandoverSource {
  readonly pageIdCount: number;
  private readonly state = new Uint32Array(6);

  constructor(
    readonly pagesView: DataView,
    private readonly cycle: number,
    private readonly rareHandovers: readonly RareHandover[] = [],
  ) {
    this.pageIdCount = pagesView.byteLength / PAGE_SIZE;
  }

  setRare(on: boolean): void {
    this.state[RARE] = on ? 1 : 0;
  }
  pageOffset(id: number): number {
    return id * PAGE_SIZE;
  }
  readerPageId(): number {
    return this.state[READER_PAGE]!;
  }
  readerReadBytes(): number {
    return this.state[READER_READ]!;
  }
  /** As RingBufferMapping's: two words, and no BigInt made for 0. */
  readerLostEvents(): bigint {
    const low = this.state[LOST_LOW]!;
    const high = this.state[LOST_HIGH]!;
    return low === 0 && high === 0 ? 0n : (BigInt(high) << 32n) | BigInt(low);
  }
  headPageId(): number {
    return 0;
  }
  getReaderPage(): boolean {
    const state = this.state;
    if (state[RARE] === 1) {
      const { page, read, lost } = this.rareHandovers[state[RARE_NEXT]!++ % this.rareHandovers.length]!;
      state[READER_PAGE] = page;
      state[READER_READ] = read;
      state[LOST_LOW] = Number(lost & 0xffff_ffffn);
      state[LOST_HIGH] = Number(lost >> 32n);
      return true;
    }
    const page = (state[READER_PAGE]! % this.cycle) + 1;
    state[READER_PAGE] = page;
    state[READER_READ] = this.pagesView.getUint32(page * PAGE_SIZE + LAYOUTS.page.commitOffset, true) & 0x3fff_ffff;
    state[LOST_LOW] = 0;
    state[LOST_HIGH] = 0;
    return true;
  }
  poll(): boolean {
    return true;
  }
  pollAsync(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

/** A ScriptedRing cycling over `pages` generated pages (IDs 1..pages; ID 0, the reader page at the start, empty). */
export function generatedRing(pages: number): ScriptedRing {
  const bytes = new Uint8Array((pages + 1) * PAGE_SIZE);
  bytes.set(generatePages(pages, false).bytes, PAGE_SIZE);
  return new ScriptedRing(new DataView(bytes.buffer), pages);
}

/** ScriptedRing.state's words. */
const READER_PAGE = 0;
const READER_READ = 1;
const LOST_LOW = 2;
const LOST_HIGH = 3;
const RARE = 4;
const RARE_NEXT = 5;

const TYPE_LEN = 6;
const TIME_EXTEND = 30;

/**
 * Write a page of `events` events (type_len 6, 1000 ns apart) stamped
 * `stamp`, with a time extend before event `extendBefore`; returns its data bytes.
 */
export function writePage(view: DataView, id: number, stamp: number, events: number, extendBefore = -1): number {
  const base = id * PAGE_SIZE;
  view.setBigUint64(base + LAYOUTS.page.timestampOffset, BigInt(stamp), true);
  let at = base + LAYOUTS.page.dataOffset;
  for (let i = 0; i < events; i++) {
    if (i === extendBefore) {
      const delta = 3 << 27; // 402 ms: array[0] = 3, time_delta = 0
      view.setUint32(at, TIME_EXTEND, true);
      view.setUint32(at + 4, delta / 2 ** 27, true);
      at += 8;
    }
    view.setUint32(at, ((1000 << 5) | TYPE_LEN) >>> 0, true);
    view.setUint16(at + 4, 7, true);
    at += 4 + TYPE_LEN * 4;
  }
  const bytes = at - base - LAYOUTS.page.dataOffset;
  view.setBigUint64(base + LAYOUTS.page.commitOffset, BigInt(bytes), true);
  return bytes;
}

const sum = new Int32Array(1);

/** What a consumer does with each event, allocating nothing. */
export function visit(cursor: EventCursor): void {
  sum[0] = sum[0]! + cursor.payloadLength + cursor.eventType();
}
