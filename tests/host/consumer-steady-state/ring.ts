/**
 * Rings without a kernel for the consumer's steady-state tests: pages in one
 * buffer, handed over in a fixed order.
 */
import type { EventCursor, HandoverSource } from '../../../reader/index.js';
import { LAYOUTS, PAGE_SIZE } from '../decode-speed/speed.js';

/** One GET_READER_PAGE of the rare sequence: page `page` with `read` data bytes consumed, after `lost` lost events. */
export interface RareHandover {
  readonly page: number;
  readonly read: number;
  readonly lost: bigint;
}

/**
 * A ring over pages in one buffer (page ID n at n * PAGE_SIZE) whose
 * GET_READER_PAGE swaps in the next page of IDs 1..cycle, whole; or, while
 * `rare` is set, the next of `rareHandovers`.
 */
export class ScriptedRing implements HandoverSource {
  readonly pageIdCount: number;
  rare = false;
  private readerPage = 0;
  private readerRead = 0;
  private lost = 0n;
  private rareNext = 0;

  constructor(
    readonly pagesView: DataView,
    private readonly cycle: number,
    private readonly rareHandovers: readonly RareHandover[] = [],
  ) {
    this.pageIdCount = pagesView.byteLength / PAGE_SIZE;
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
    return this.lost;
  }
  headPageId(): number {
    return 0;
  }
  getReaderPage(): boolean {
    if (this.rare) {
      const { page, read, lost } = this.rareHandovers[this.rareNext++ % this.rareHandovers.length]!;
      this.readerPage = page;
      this.readerRead = read;
      this.lost = lost;
      return true;
    }
    this.readerPage = (this.readerPage % this.cycle) + 1;
    this.readerRead = this.pagesView.getUint32(this.readerPage * PAGE_SIZE + LAYOUTS.page.commitOffset, true) & 0x3fff_ffff;
    this.lost = 0n;
    return true;
  }
  poll(): boolean {
    return true;
  }
}

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
