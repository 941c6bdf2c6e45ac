/**
 * Consuming a mapped ring: GET_READER_PAGE until the kernel says EAGAIN,
 * decoding what each call handed over (see reader-cursor.ts). Every event
 * comes out once, and none that another reader took before. One consumer per
 * CPU: the positions saved before each ioctl assume no other reader moves the
 * reader page in between.
 */
import { decodeRecord, type DecodedEvent } from './decoder.js';
import type { TraceFormats } from './events.js';
import type { RingBufferMapping } from './mapping.js';
import { handoverBetween, recordsHandedOver, type Handover } from './reader-cursor.js';

/** What one GET_READER_PAGE that returned 0 handed over. */
export interface HandedOverPage extends Handover {
  readonly events: DecodedEvent[];
  /** The page's own time stamp (the base of its first event's). */
  readonly pageTimestamp: bigint;
  /**
   * Events lost just before this page: reader_lost_events of a new page, 0n
   * when more events of the same page were handed over.
   */
  readonly lostEvents: bigint;
  /** A new page whose commit word carries RB_MISSED_EVENTS. */
  readonly missedEventsFlag: boolean;
  /** The count a new page stores after its events (RB_MISSED_STORED); null when it stores none. */
  readonly storedLostEvents: bigint | null;
}

export interface DrainResult {
  readonly events: DecodedEvent[];
  /** Every handover, in order. */
  readonly pages: HandedOverPage[];
  /** Reader page IDs of those handovers, in order. */
  readonly readerPages: number[];
  /** New events found on each of those pages (same order as readerPages). */
  readonly eventsPerPage: number[];
  /** GET_READER_PAGE calls that returned 0. */
  readonly pagesTaken: number;
  /** Pages whose header carried the missed-events flag. */
  readonly pagesWithMissedEvents: number;
  /** Sum of reader_lost_events over the new pages handed over. */
  readonly lostEvents: bigint;
  /** False when drain() stopped at maxPages before the kernel said EAGAIN. */
  readonly complete: boolean;
}

/** What the consumer needs of a mapped ring (a RingBufferMapping; host tests pass a fake). */
export type HandoverSource = Pick<RingBufferMapping, 'readerFields' | 'getReaderPage' | 'pageView' | 'pageIdCount'>;

/** GET_READER_PAGE keeps returning 0 without handing anything over. */
export class StalledHandoverError extends Error {
  constructor(
    readonly readerPage: number,
    readonly idleHandovers: number,
  ) {
    super(
      `GET_READER_PAGE returned 0 ${idleHandovers} times in a row without handing over anything new (reader page ${readerPage})`,
    );
    this.name = 'StalledHandoverError';
  }
}

/** How many empty handovers in a row drain() tolerates before it calls the kernel stuck. */
const TOLERATED_IDLE_HANDOVERS = 1;

export class MappedConsumer {
  constructor(
    readonly ring: HandoverSource,
    readonly formats: Pick<TraceFormats, 'layouts' | 'lookup'>,
  ) {}

  /** One GET_READER_PAGE: what it handed over, or null on EAGAIN (nothing unread). */
  takePage(): HandedOverPage | null {
    const before = this.ring.readerFields();
    if (!this.ring.getReaderPage()) return null;
    const after = this.ring.readerFields();
    const handover = handoverBetween(before, after);
    const view = this.ring.pageView(handover.readerPage);
    const { layouts, lookup } = this.formats;
    const { walk, records } = recordsHandedOver(view, handover, layouts);
    return {
      ...handover,
      events: records.map((record) => decodeRecord(view, record, lookup, layouts.littleEndian)),
      pageTimestamp: walk.header.timestamp,
      lostEvents: handover.newPage ? after.readerLostEvents : 0n,
      missedEventsFlag: handover.newPage && walk.header.missedEvents,
      storedLostEvents: handover.newPage ? walk.header.missedCount : null,
    };
  }

  /**
   * GET_READER_PAGE + decode until EAGAIN, or `maxPages` handovers. Throws
   * StalledHandoverError when the kernel keeps returning 0 without handing
   * over anything new (which would otherwise loop forever).
   */
  drain(maxPages: number = 4 * this.ring.pageIdCount + 16): DrainResult {
    const pages: HandedOverPage[] = [];
    let idleHandovers = 0;
    let complete = true;
    for (;;) {
      if (pages.length >= maxPages) {
        complete = false;
        break;
      }
      const page = this.takePage();
      if (page === null) break;
      pages.push(page);
      idleHandovers = !page.newPage && page.end === page.start ? idleHandovers + 1 : 0;
      if (idleHandovers > TOLERATED_IDLE_HANDOVERS) throw new StalledHandoverError(page.readerPage, idleHandovers);
    }
    return {
      events: pages.flatMap((page) => page.events),
      pages,
      readerPages: pages.map((page) => page.readerPage),
      eventsPerPage: pages.map((page) => page.events.length),
      pagesTaken: pages.length,
      pagesWithMissedEvents: pages.filter((page) => page.missedEventsFlag).length,
      lostEvents: pages.reduce((sum, page) => sum + page.lostEvents, 0n),
      complete,
    };
  }
}
