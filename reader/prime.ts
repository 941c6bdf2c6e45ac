/**
 * Type feedback for every branch of the walk before a consumer's loop gets
 * compiled.
 *
 * V8 compiles a hot function with what its branches have seen so far; a
 * branch that never ran has no type feedback, and the first time it runs the
 * compiled code is thrown away (a deoptimization). The function then runs
 * slowly until V8 compiles it again. For a consumer the rare branches are
 * the first time extend (the writer paused), the first padding, the first
 * carry of the time stamp past a multiple of 2^30 ns, a page handed over in
 * parts: each can come minutes into a run. Under emulation the slow stretch
 * lasts long enough for the writer to wrap a 1 MB ring.
 *
 * primeWalk() walks one made-up page holding every record kind, whole and
 * from the middle, with a cursor of its own (same class, so the feedback is
 * the same functions'). primeConsume() runs a new consumer's consume() to its
 * end without taking a page: V8 may compile consume() in the middle of its
 * first long drain (on-stack replacement), and the code after its loops
 * would otherwise deoptimize at every return. Both run often enough for V8 to
 * give the functions feedback at all (it allocates it only after running
 * about eight times a function's bytecode).
 */
import { EventCursor } from './cursor.js';
import { STANDARD_EVENT_HEADER, STANDARD_PAGE_HEADER } from './format.js';
import type { MappedConsumer } from './consumer.js';
import { seekHandover } from './reader-cursor.js';

/** Passes over the made-up page, and calls of consume() taking nothing: enough for V8 to collect feedback. */
const PASSES = 32;
const EMPTY_CALLS = 64;

let walkPrimed = false;
let consumePrimed = false;

/** Walk the made-up page (once per process; later calls return at once). */
export function primeWalk(): void {
  if (walkPrimed) return;
  walkPrimed = true;
  const { page, skipTo, bytes } = primingPage();
  const cursor = new EventCursor(page, { page: STANDARD_PAGE_HEADER, event: STANDARD_EVENT_HEADER, littleEndian: true });
  let sum = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    for (const start of [0, skipTo]) {
      seekHandover(cursor, 0, { start, end: bytes });
      while (cursor.next()) sum += cursor.payloadLength + cursor.eventType();
    }
  }
  if (sum === 0) throw new Error('primeWalk: the made-up page has no events');
}

/**
 * Run consume()'s return path (maxPages 0: no GET_READER_PAGE, nothing
 * consumed), once per process: the feedback is the function's, whichever
 * consumer runs it.
 */
export function primeConsume(consumer: MappedConsumer): void {
  if (consumePrimed) return;
  consumePrimed = true;
  const takeNothing = { maxPages: 0 };
  const ignore = (): void => {};
  for (let call = 0; call < EMPTY_CALLS; call++) {
    if (consumer.consume(ignore, takeNothing).pages !== 0) throw new Error('primeConsume: consume() took a page with maxPages 0');
  }
}

/** A page stamped 2^30 - 50 ns: an event that carries, a time extend, a length-word event, a discarded event, an absolute stamp, an event, the end padding. */
function primingPage(): { page: DataView; skipTo: number; bytes: number } {
  const page = new DataView(new ArrayBuffer(STANDARD_PAGE_HEADER.dataOffset + STANDARD_PAGE_HEADER.dataCapacity));
  const { typeLenBits, timeExtendType, timeStampType, paddingType } = STANDARD_EVENT_HEADER;
  page.setBigUint64(STANDARD_PAGE_HEADER.timestampOffset, BigInt(2 ** 30 - 50), true);
  let at = STANDARD_PAGE_HEADER.dataOffset;
  const word = (value: number): void => {
    page.setUint32(at, value >>> 0, true);
    at += 4;
  };
  const header = (type: number, delta: number): void => word((delta << typeLenBits) | type);
  header(1, 100); // type_len 1: 4 bytes of payload; the stamp passes 2^30
  word(1);
  header(timeExtendType, 5); // + 2^27 + 5 ns
  word(1);
  const skipTo = at - STANDARD_PAGE_HEADER.dataOffset;
  header(0, 7); // length in its own word: 8 bytes of payload
  word(12);
  word(2);
  word(0);
  header(paddingType, 1); // discarded: 16 bytes in all
  word(12);
  word(0);
  word(0);
  header(timeStampType, 0); // absolute: 8 << 27 ns
  word(8);
  header(2, 9); // type_len 2
  word(3);
  word(0);
  header(paddingType, 0); // the rest of the page unused
  word(0);
  const bytes = at - STANDARD_PAGE_HEADER.dataOffset;
  page.setBigUint64(STANDARD_PAGE_HEADER.commitOffset, BigInt(bytes), true);
  return { page, skipTo, bytes };
}
