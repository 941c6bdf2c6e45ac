/**
 * Consuming a mapped ring: decode the reader page, ask for the next one with
 * GET_READER_PAGE, until the kernel says EAGAIN. Every event comes out once
 * (see ReaderPageCursor for pages handed back while the writer is on them).
 */
import { decodeRecord, type DecodedEvent } from './decoder.js';
import type { TraceFormats } from './events.js';
import type { RingBufferMapping } from './mapping.js';
import { ReaderPageCursor } from './reader-cursor.js';

export interface DrainResult {
  readonly events: DecodedEvent[];
  /** Reader page IDs seen, in order (one per page decoded). */
  readonly readerPages: number[];
  /** New events found on each of those pages (same order as readerPages). */
  readonly eventsPerPage: number[];
  /** GET_READER_PAGE calls that returned 0. */
  readonly pagesTaken: number;
  /** Pages whose header carried the missed-events flag. */
  readonly pagesWithMissedEvents: number;
  /** False when drain() stopped at maxPages before the kernel said EAGAIN. */
  readonly complete: boolean;
}

export class MappedConsumer {
  private readonly cursor: ReaderPageCursor;

  constructor(
    readonly ring: RingBufferMapping,
    readonly formats: TraceFormats,
  ) {
    this.cursor = new ReaderPageCursor(formats.layouts);
  }

  /** New events on the current reader page (no ioctl). */
  readReaderPage(): { events: DecodedEvent[]; readerPage: number; missedEvents: boolean } {
    const readerPage = this.ring.meta().readerPage;
    const view = this.ring.pageView(readerPage);
    const take = this.cursor.take(readerPage, view);
    const events = take.fresh.map((record) => decodeRecord(view, record, this.formats.lookup, this.formats.layouts.littleEndian));
    return { events, readerPage, missedEvents: take.newPage && take.walk.header.missedEvents };
  }

  /**
   * The current reader page, then GET_READER_PAGE + decode until EAGAIN.
   * Throws when the kernel keeps returning 0 without handing over anything new
   * (which would otherwise loop forever).
   */
  drain(maxPages: number = 4 * this.ring.pageIdCount + 16): DrainResult {
    const events: DecodedEvent[] = [];
    const readerPages: number[] = [];
    const eventsPerPage: number[] = [];
    let pagesTaken = 0;
    let pagesWithMissedEvents = 0;
    let idleHandovers = 0;
    const collect = (): number => {
      const page = this.readReaderPage();
      readerPages.push(page.readerPage);
      eventsPerPage.push(page.events.length);
      events.push(...page.events);
      if (page.missedEvents) pagesWithMissedEvents++;
      return page.events.length;
    };
    collect();
    let complete = true;
    while (this.ring.getReaderPage()) {
      pagesTaken++;
      const before = readerPages[readerPages.length - 1];
      const fresh = collect();
      const after = readerPages[readerPages.length - 1];
      idleHandovers = fresh === 0 && before === after ? idleHandovers + 1 : 0;
      if (idleHandovers > 1) {
        throw new Error(
          `GET_READER_PAGE returned 0 ${idleHandovers} times in a row without handing over anything new (reader page ${after})`,
        );
      }
      if (pagesTaken >= maxPages) {
        complete = false;
        break;
      }
    }
    return { events, readerPages, eventsPerPage, pagesTaken, pagesWithMissedEvents, complete };
  }

  /** Forget the partially read page (after a reset). */
  forget(): void {
    this.cursor.forget();
  }
}
