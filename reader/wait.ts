/**
 * Waiting that only a mapping can do. After a drain, the pages the writer
 * fills next are in memory: the reader page (the writer may still be on it)
 * and the head page (where it goes next). Watching their commit words needs
 * no system call and sees the next event within microseconds; poll() sleeps
 * until the buffer is buffer_percent full and then wakes the reader as late
 * as the scheduler likes, by which time a small or busy ring may have wrapped.
 *
 * A watch costs CPU, so the consumer only watches when poll() has been too
 * slow: a handover that found the ring more than `riskFraction` full, or after
 * lost events, puts it in watching mode; there it watches up to
 * `maxSpinUs` after each drain, and goes back to poll() after a watch that
 * saw nothing. With `maxSpinUs: 0` it only ever polls.
 *
 * The watch is off by default (maxSpinUs 0). A watching reader burns its CPU,
 * and where we could measure it (QEMU TCG, two vCPUs on two host cores, where
 * that CPU is taken from the writer and the emulator) it lost more events than
 * poll() alone on a 32 KB ring, at 1.3-2.1x the CPU per MB, and no fewer on a
 * 1 MB ring (README's bench). Turn it on where the reader has a core to itself.
 *
 * A watch ends early only for a batch worth a GET_READER_PAGE: half a page
 * behind the writer on the reader page, or the writer gone on to the next
 * page. Chasing the writer event by event would cost a system call per event
 * (per handover) and fall behind a fast writer; at the end of the watch any
 * data there is taken.
 */
import type { EventCursor } from './cursor.js';
import type { HandoverSource } from './consumer.js';

export interface SpinWaitOptions {
  /** Longest watch before poll(), µs (0: never watch). */
  readonly maxSpinUs: number;
  /** Data handed over between two waits, as a fraction of the ring, that counts as a close call. */
  readonly riskFraction: number;
}

export const DEFAULT_SPIN_WAIT: SpinWaitOptions = { maxSpinUs: 0, riskFraction: 0.75 };

type WatchedRing = Pick<HandoverSource, 'pageIdCount' | 'pageOffset' | 'readerPageId' | 'readerReadBytes' | 'headPageId' | 'poll' | 'pollAsync'>;

export class SpinWait {
  readonly options: SpinWaitOptions;
  readonly counts = { spinsFound: 0, spinsTimedOut: 0, polls: 0 };
  private readonly riskBytes: number;
  /** Half a page of data: what ends a watch early. */
  private readonly batchBytes: number;
  private watching = false;
  private bytesSinceWait = 0;
  private lostSinceWait = false;

  constructor(
    private readonly ring: WatchedRing,
    private readonly cursor: EventCursor,
    pageDataCapacity: number,
    options: Partial<SpinWaitOptions> = {},
  ) {
    this.options = { ...DEFAULT_SPIN_WAIT, ...options };
    if (!(this.options.maxSpinUs >= 0) || !(this.options.riskFraction > 0)) {
      throw new RangeError(`spin wait options: maxSpinUs must be >= 0 and riskFraction > 0 (got ${JSON.stringify(this.options)})`);
    }
    this.riskBytes = (ring.pageIdCount - 1) * pageDataCapacity * this.options.riskFraction;
    this.batchBytes = pageDataCapacity / 2;
  }

  /** The consumer took `bytes` of data; `lost`: the page came after lost events. */
  consumed(bytes: number, lost: boolean): void {
    this.bytesSinceWait += bytes;
    // Stored on every page: a store first reached after V8 compiled the loop would deoptimize it.
    this.lostSinceWait = this.lostSinceWait || lost;
  }

  wait(timeoutMs: number): boolean {
    if (this.watchedAndFound()) return true;
    this.counts.polls++;
    return this.ring.poll(timeoutMs);
  }

  /** wait() whose poll() leaves the process to Node's event loop meanwhile (the watch, if any, does not). */
  waitAsync(timeoutMs: number): Promise<boolean> {
    if (this.watchedAndFound()) return Promise.resolve(true);
    this.counts.polls++;
    return this.ring.pollAsync(timeoutMs);
  }

  /** True when this wait watched the pages and saw data; false when it is poll()'s turn. */
  private watchedAndFound(): boolean {
    if (this.options.maxSpinUs > 0 && (this.lostSinceWait || this.bytesSinceWait > this.riskBytes)) this.watching = true;
    this.bytesSinceWait = 0;
    this.lostSinceWait = false;
    if (!this.watching) return false;
    if (this.watch()) {
      this.counts.spinsFound++;
      return true;
    }
    this.counts.spinsTimedOut++;
    this.watching = false;
    return false;
  }

  /**
   * Watch the reader page and the head page for up to maxSpinUs: true as soon
   * as a batch is there (see above), else at the end true when anything is.
   */
  private watch(): boolean {
    const { ring, cursor } = this;
    const readerPage = ring.readerPageId();
    const readerRead = ring.readerReadBytes();
    const headPage = ring.headPageId();
    const readerOffset = ring.pageOffset(readerPage);
    const headOffset = headPage < ring.pageIdCount ? ring.pageOffset(headPage) : -1;
    const headCommit = headOffset < 0 ? 0 : cursor.commitWordLow(headOffset);
    const batch = readerRead + this.batchBytes;
    const deadline = performance.now() + this.options.maxSpinUs / 1000;
    for (let spins = 0; ; spins++) {
      if (cursor.committedBytes(readerOffset) >= batch) return true;
      if (headOffset >= 0 && cursor.commitWordLow(headOffset) !== headCommit) return true;
      if (ring.readerPageId() !== readerPage) return true;
      // The clock costs more than a look at the pages: read it every 64 looks.
      if ((spins & 63) === 63 && performance.now() > deadline) return cursor.committedBytes(readerOffset) > readerRead;
    }
  }
}
