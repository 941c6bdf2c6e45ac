/**
 * Which events of the reader page are new.
 *
 * GET_READER_PAGE may hand back the same reader page when the writer is still on
 * it (it appended events after we read it): the ABI has no "read offset" in the
 * meta page, so the consumer remembers how far it got in that page. A page is
 * "the same" when both its ID and its page time stamp are unchanged (a page that
 * went round the ring, or was reset, gets a new time stamp when written again).
 */
import { walkPage, type Layouts, type PageWalk, type RawRecord } from './decoder.js';

export interface CursorTake {
  readonly walk: PageWalk;
  /** Records not returned by an earlier take() of the same page. */
  readonly fresh: RawRecord[];
  /** True when the page is a page this cursor has not seen before. */
  readonly newPage: boolean;
}

export class ReaderPageCursor {
  private pageId: number | null = null;
  private pageTimestamp: bigint | null = null;
  private consumedUpTo = 0;

  constructor(private readonly layouts: Layouts) {}

  take(readerPageId: number, view: DataView): CursorTake {
    const walk = walkPage(view, this.layouts);
    const end = this.layouts.page.dataOffset + walk.header.dataLength;
    const samePage =
      this.pageId === readerPageId && this.pageTimestamp === walk.header.timestamp && end >= this.consumedUpTo;
    if (!samePage) {
      this.pageId = readerPageId;
      this.pageTimestamp = walk.header.timestamp;
      this.consumedUpTo = this.layouts.page.dataOffset;
    }
    const fresh = walk.records.filter((record) => record.headerOffset >= this.consumedUpTo);
    const last = walk.records[walk.records.length - 1];
    if (last !== undefined) this.consumedUpTo = Math.max(this.consumedUpTo, last.endOffset);
    return { walk, fresh, newPage: !samePage };
  }

  /** Forget the current page (after a reset of the buffer). */
  forget(): void {
    this.pageId = null;
    this.pageTimestamp = null;
    this.consumedUpTo = 0;
  }
}
