/**
 * Which bytes of the reader page one GET_READER_PAGE handed over.
 *
 * The meta page says how far the reader page has been consumed (reader_read,
 * by any reader). Just before the ioctl the consumer saves the reader page ID
 * and reader_read; when the ioctl returns 0, the events handed over are the
 * data bytes [start, reader_read) of the page reader_page, where start is the
 * saved reader_read if the page is still the same, else 0 (a new page).
 * Nothing is remembered between handovers: a consumer that maps later starts
 * where the previous one (or read(), trace_pipe) stopped.
 */
import { EventCursor } from './cursor.js';
import { collectWalk, type Layouts, type PageWalk, type RawRecord } from './decoder.js';

/** The reader page and how much of its data was consumed, as the meta page says. */
export interface ReaderPosition {
  readonly readerPage: number;
  readonly readerRead: number;
}

export interface Handover {
  readonly readerPage: number;
  /** True when the ioctl swapped a page in (the ID changed). */
  readonly newPage: boolean;
  /** Data bytes handed over: [start, end), counted from the start of the events. */
  readonly start: number;
  readonly end: number;
}

/** The meta page after a GET_READER_PAGE that returned 0 contradicts the one before it. */
export class HandoverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandoverError';
  }
}

/** The bytes one GET_READER_PAGE handed over, from the positions saved before and read after it. */
export function handoverBetween(before: ReaderPosition, after: ReaderPosition): Handover {
  const handover = { readerPage: 0, newPage: false, start: 0, end: 0 };
  setHandover(handover, before.readerPage, before.readerRead, after.readerPage, after.readerRead);
  return handover;
}

/** handoverBetween() written into `into`: the consumer's per-page path, which allocates nothing. */
export function setHandover(
  into: { -readonly [K in keyof Handover]: Handover[K] },
  pageBefore: number,
  readBefore: number,
  pageAfter: number,
  readAfter: number,
): void {
  const newPage = pageAfter !== pageBefore;
  const start = newPage ? 0 : readBefore;
  if (readAfter < start) {
    throw new HandoverError(`reader_read went back from ${start} to ${readAfter} on reader page ${pageAfter} during a handover`);
  }
  into.readerPage = pageAfter;
  into.newPage = newPage;
  into.start = start;
  into.end = readAfter;
}

export interface HandedOverRecords {
  /** The page walked from the start of the handover to its end (records, counts and header). */
  readonly walk: PageWalk;
  /** The records of the handover (those starting at or after its start). */
  readonly records: RawRecord[];
}

/**
 * Position `cursor` at the first event of a handover of the page at view
 * offset `pageStart`: the walk starts at the page's first event (time stamps
 * are deltas from the page stamp) and stops at the handover's end.
 */
export function seekHandover(cursor: EventCursor, pageStart: number, handover: Pick<Handover, 'start' | 'end'>): EventCursor {
  cursor.setPage(pageStart, handover.end);
  if (handover.start > 0) cursor.skipTo(handover.start);
  return cursor;
}

/** The records of a handover of the page in `view` (byte 0 = the page's). */
export function recordsHandedOver(view: DataView, handover: Handover, layouts: Layouts): HandedOverRecords {
  const walk = collectWalk(seekHandover(new EventCursor(view, layouts), 0, handover));
  return { walk, records: walk.records };
}
