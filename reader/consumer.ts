/**
 * Consuming a mapped ring: GET_READER_PAGE until the kernel says EAGAIN,
 * reading what each call handed over (see reader-cursor.ts) in place. Every
 * event comes out once, and none that another reader took before. One
 * consumer per CPU: the positions saved before each ioctl assume no other
 * reader moves the reader page in between.
 *
 * Two ways to read, one walk underneath:
 *   - streaming: nextPage() positions `consumer.cursor` at the first event
 *     handed over (`while (consumer.nextPage()) while (cursor.next()) ...`),
 *     or consume(visit) does both loops; nothing is allocated per event;
 *   - objects: takePage() and drain() give DecodedEvent objects built on the
 *     same cursor.
 * wait() sleeps until there is more: it first watches the pages in place for
 * a bounded time when poll() has been waking the reader too late (see wait.ts).
 */
import { EventCursor } from './cursor.js';
import { eventOf, pageHeaderOf, type DecodedEvent, type FormatLookup, type Layouts } from './decoder.js';
import { primeConsume, primeWalk } from './prime.js';
import { seekHandover, setHandover, type Handover } from './reader-cursor.js';
import { SpinWait, type SpinWaitOptions } from './wait.js';

/** What the consumer needs of a mapped ring (a RingBufferMapping; host tests pass a fake). */
export interface HandoverSource {
  /** Number of page IDs: nr_data_pages + 1. */
  readonly pageIdCount: number;
  /** A view in which page ID n starts at pageOffset(n) (the whole mapping). */
  readonly pagesView: DataView;
  pageOffset(id: number): number;
  /** reader_page, reader_read, reader_lost_events and the head page's ID, as the meta page says now. */
  readerPageId(): number;
  readerReadBytes(): number;
  readerLostEvents(): bigint;
  headPageId(): number;
  /** GET_READER_PAGE: true when something was handed over, false on EAGAIN; other failures throw. */
  getReaderPage(): boolean;
  /** poll() for POLLIN: true when readable, false on timeout. */
  poll(timeoutMs: number): boolean;
  /** poll() on Node's event loop: the process goes on meanwhile. */
  pollAsync(timeoutMs: number): Promise<boolean>;
}

/** What one GET_READER_PAGE that returned 0 handed over, as objects. */
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

/** What consume() went through. */
export interface ConsumeCounts {
  /** GET_READER_PAGE calls that returned 0. */
  readonly pages: number;
  readonly events: number;
  /** Bytes of event data handed over. */
  readonly bytes: number;
  /** Sum of reader_lost_events over the new pages. */
  readonly lostEvents: bigint;
  /** False when consume() stopped at maxPages or caughtUpBytes before the kernel said EAGAIN. */
  readonly complete: boolean;
}

export interface ConsumeOptions {
  /** Stop after this many handovers (default: four times the ring's pages, plus 16). */
  readonly maxPages?: number;
  /**
   * Stop (complete: false) after a handover that continued the page the
   * writer is on with fewer bytes than this: the consumer has caught up, and
   * asking again would chase the writer a few events per system call. For a
   * loop that wait()s between calls (half a page is a good value); default 0:
   * until the kernel says EAGAIN.
   */
  readonly caughtUpBytes?: number;
  /** Called at each handover, before its events. */
  readonly onPage?: (handover: CurrentHandover, cursor: EventCursor) => void;
}

/** GET_READER_PAGE keeps returning 0 without handing over anything new. */
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

/** How many empty handovers in a row the consumer tolerates before it calls the kernel stuck. */
const TOLERATED_IDLE_HANDOVERS = 1;

/** The last handover (a Handover), updated in place by nextPage(). */
export interface CurrentHandover {
  readerPage: number;
  newPage: boolean;
  start: number;
  end: number;
  /** reader_lost_events when the page is new, else 0n. */
  lostEvents: bigint;
}

export interface ConsumerFormats {
  readonly layouts: Layouts;
  readonly lookup: FormatLookup;
}

export class MappedConsumer {
  /** Stands on the events of the last handover (valid after nextPage() returned true). */
  readonly cursor: EventCursor;
  readonly handover: CurrentHandover = { readerPage: 0, newPage: false, start: 0, end: 0, lostEvents: 0n };
  private readonly spin: SpinWait;
  private idleHandovers = 0;

  constructor(
    readonly ring: HandoverSource,
    readonly formats: ConsumerFormats,
    waitOptions: Partial<SpinWaitOptions> = {},
  ) {
    primeWalk();
    this.cursor = new EventCursor(ring.pagesView, formats.layouts);
    this.spin = new SpinWait(ring, this.cursor, formats.layouts.page.dataCapacity, waitOptions);
    primeConsume(this);
  }

  /**
   * One GET_READER_PAGE: false on EAGAIN (nothing unread); else the cursor
   * stands before the first event handed over and `handover` says which bytes.
   * Throws StalledHandoverError when the kernel keeps returning 0 without
   * handing over anything new (which would otherwise loop forever).
   */
  nextPage(): boolean {
    const ring = this.ring;
    const beforePage = ring.readerPageId();
    const beforeRead = ring.readerReadBytes();
    const handedOver = ring.getReaderPage();
    // The store and the comparisons below run on every call, whichever way it goes: one first
    // reached after V8 compiled this (EAGAIN, a continued page) would deoptimize it (see prime.ts).
    this.idleHandovers = handedOver ? this.idleHandovers : 0;
    if (!handedOver) return false;
    const readerPage = ring.readerPageId();
    const handover = this.handover;
    setHandover(handover, beforePage, beforeRead, readerPage, ring.readerReadBytes());
    const { start, end, newPage } = handover;
    const empty = end === start;
    handover.lostEvents = newPage ? ring.readerLostEvents() : 0n;
    this.idleHandovers = (this.idleHandovers + 1) * (!newPage && empty ? 1 : 0);
    if (this.idleHandovers > TOLERATED_IDLE_HANDOVERS) throw new StalledHandoverError(readerPage, this.idleHandovers);
    seekHandover(this.cursor, ring.pageOffset(readerPage), handover);
    this.spin.consumed(end - start, handover.lostEvents > 0n);
    return true;
  }

  /**
   * Hand every event over to `visit` (the cursor standing on it) until the
   * kernel says EAGAIN, or `maxPages` handovers. `onPage` sees each handover
   * before its events (the cursor at the page, `handover` filled in).
   */
  consume(visit: (cursor: EventCursor) => void, options: ConsumeOptions = {}): ConsumeCounts {
    const { maxPages = this.defaultMaxPages(), onPage, caughtUpBytes = 0 } = options;
    const cursor = this.cursor;
    let pages = 0;
    let events = 0;
    let bytes = 0;
    let lostEvents = 0;
    let complete = true;
    for (;;) {
      if (pages >= maxPages) {
        complete = false;
        break;
      }
      if (!this.nextPage()) break;
      const { start, end, newPage } = this.handover;
      pages++;
      // Every operation here runs for every page: one first reached after V8 compiled this loop (the
      // first loss, the first continued page) would deoptimize it (see prime.ts). So the lost events
      // are added up as a number (a BigInt sum would also allocate): no count of them nears 2^53.
      const handed = end - start;
      const caughtUp = handed < caughtUpBytes;
      bytes += handed;
      lostEvents += Number(this.handover.lostEvents);
      if (onPage !== undefined) onPage(this.handover, cursor);
      while (cursor.next()) {
        events++;
        visit(cursor);
      }
      if (!newPage && caughtUp) {
        complete = false;
        break;
      }
    }
    return { pages, events, bytes, lostEvents: BigInt(lostEvents), complete };
  }

  /** One GET_READER_PAGE, the events handed over as objects; null on EAGAIN. */
  takePage(): HandedOverPage | null {
    if (!this.nextPage()) return null;
    const { readerPage, newPage, start, end, lostEvents } = this.handover;
    const cursor = this.cursor;
    const header = pageHeaderOf(cursor);
    const events: DecodedEvent[] = [];
    while (cursor.next()) events.push(eventOf(cursor, this.formats.lookup));
    return {
      readerPage,
      newPage,
      start,
      end,
      events,
      pageTimestamp: header.timestamp,
      lostEvents,
      missedEventsFlag: newPage && header.missedEvents,
      storedLostEvents: newPage ? header.missedCount : null,
    };
  }

  /** takePage() until EAGAIN, or `maxPages` handovers. */
  drain(maxPages: number = this.defaultMaxPages()): DrainResult {
    const pages: HandedOverPage[] = [];
    let complete = true;
    for (;;) {
      if (pages.length >= maxPages) {
        complete = false;
        break;
      }
      const page = this.takePage();
      if (page === null) break;
      pages.push(page);
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

  /**
   * Wait until there may be more to consume, at most `timeoutMs` (negative:
   * forever): a bounded watch of the pages in place first when the reader is
   * at risk of being overrun, then poll(). True when data may be there.
   */
  wait(timeoutMs: number): boolean {
    return this.spin.wait(timeoutMs);
  }

  /**
   * wait(), with the poll() on Node's event loop: timers, signals and other I/O
   * go on while it waits, and no turn of the loop is spent while nothing comes.
   * One pending at a time per ring.
   */
  waitAsync(timeoutMs: number): Promise<boolean> {
    return this.spin.waitAsync(timeoutMs);
  }

  /** How the last waits went (spins that found data, spins that timed out, polls). */
  get waitCounts(): Readonly<{ spinsFound: number; spinsTimedOut: number; polls: number }> {
    return this.spin.counts;
  }

  private defaultMaxPages(): number {
    return 4 * this.ring.pageIdCount + 16;
  }
}
