/**
 * Ring-buffer time stamps as the event cursor keeps them: two small integers,
 * ns = high * 2^30 + low (each fits V8's small-integer fields, so moving on
 * stores no heap number), so they stay exact past 2^53 ns (104 days of uptime)
 * without a BigInt per event; read as a number while that is exact, a bigint
 * after.
 */

const TWO_30 = 0x4000_0000;
const LOW_30 = TWO_30 - 1;
/** The largest high part whose time stamp is still exact as a number (below 2^53). */
const SAFE_HIGH = 0x7f_ffff;
/** The top five bits of a u64 (TS_MSB in ring_buffer.c). */
const TS_MSB = 0xf8n << 56n;
const ABS_TS_CARRY = 1n << 59n;

/** high * 2^30 + low (low < 2^30): a number while exact, a bigint from 2^53 on. */
export function joinTimestamp(high: number, low: number): number | bigint {
  return high <= SAFE_HIGH ? high * TWO_30 + low : (BigInt(high) << 30n) | BigInt(low);
}

/** high * 2^30 + low (low < 2^30), always a bigint. */
function timestampBigOf(high: number, low: number): bigint {
  return (BigInt(high) << 30n) | BigInt(low);
}

/** The kernel's rb_fix_abs_ts(): put back the top bits an absolute stamp does not carry (u64 arithmetic). */
export function fixAbsoluteStamp(absolute: bigint, previous: bigint): bigint {
  if ((previous & TS_MSB) === 0n) return absolute;
  let fixed = absolute | (previous & TS_MSB);
  if (fixed < previous) fixed += ABS_TS_CARRY;
  return BigInt.asUintN(64, fixed);
}

/** A time stamp asked for as a number that no number holds exactly. */
export class TimestampRangeError extends RangeError {
  constructor(readonly timestamp: bigint) {
    super(`time stamp ${timestamp} ns is past 2^53: read it with timestampBig() (or timestampUs()), not as a number of ns`);
    this.name = 'TimestampRangeError';
  }
}

/** Throws the TimestampRangeError of high * 2^30 + low; kept out of line, away from the hot paths. */
function timestampRange(high: number, low: number): never {
  throw new TimestampRangeError(timestampBigOf(high, low));
}

/**
 * The time stamps of a walk, as two small integers each: the page's own, and
 * the current event's. EventCursor is one: it starts the clock at each page,
 * adds each event's time delta itself (in next(), which must stay small), and
 * moves the clock on at time extends and absolute stamps.
 */
export class WalkClock {
  protected pageTsHigh = 0;
  protected pageTsLow = 0;
  /** The current event's time stamp: high * 2^30 + low. */
  protected tsHigh = 0;
  protected tsLow = 0;

  /** Start at the page time stamp whose u64 is high32 << 32 | low32. */
  protected startPage(low32: number, high32: number): void {
    this.pageTsHigh = high32 * 4 + (low32 >>> 30);
    this.pageTsLow = low32 & LOW_30;
    this.tsHigh = this.pageTsHigh;
    this.tsLow = this.pageTsLow;
  }

  /** Move on by high * 2^30 + low (a time extend; low < 2^30). */
  protected advance(high: number, low: number): void {
    let newLow = (this.tsLow + low) | 0;
    let newHigh = this.tsHigh + high;
    if (newLow >= TWO_30) {
      newLow -= TWO_30;
      newHigh++;
    }
    this.tsHigh = newHigh;
    this.tsLow = newLow;
  }

  /** Set to an absolute time stamp, whose top bits come from the current one. */
  protected setAbsolute(absolute: bigint): void {
    const fixed = fixAbsoluteStamp(absolute, timestampBigOf(this.tsHigh, this.tsLow));
    this.tsHigh = Number(fixed >> 30n);
    this.tsLow = Number(fixed & BigInt(LOW_30)) | 0;
  }

  /** The current event's time stamp in ns: a number while exact (below 2^53), a bigint beyond. */
  timestamp(): number | bigint {
    // Written out (not joinTimestamp()) so that it inlines: a double returned from a call is a heap allocation.
    const high = this.tsHigh;
    return high <= SAFE_HIGH ? high * TWO_30 + this.tsLow : timestampBigOf(high, this.tsLow);
  }

  /**
   * The current event's time stamp in ns as a number, for hot loops: exact,
   * and no allocation once inlined. Past 2^53 ns (104 days of uptime) no
   * number holds it exactly: throws TimestampRangeError (use timestampBig()
   * or timestampUs() there) rather than round.
   */
  timestampNs(): number {
    const high = this.tsHigh;
    if (high > SAFE_HIGH) timestampRange(high, this.tsLow);
    return high * TWO_30 + this.tsLow;
  }

  /** The current event's time stamp in whole microseconds (rounded down): exact for 285 years. */
  timestampUs(): number {
    const high = this.tsHigh;
    const highThousands = Math.floor(high / 1000);
    return highThousands * TWO_30 + Math.floor(((high - highThousands * 1000) * TWO_30 + this.tsLow) / 1000);
  }

  /** The current event's time stamp in ns, always a bigint. */
  timestampBig(): bigint {
    return timestampBigOf(this.tsHigh, this.tsLow);
  }

  /** The page's own time stamp (the base of its first event's). */
  pageTimestamp(): number | bigint {
    return joinTimestamp(this.pageTsHigh, this.pageTsLow);
  }

  pageTimestampBig(): bigint {
    return timestampBigOf(this.pageTsHigh, this.pageTsLow);
  }
}
