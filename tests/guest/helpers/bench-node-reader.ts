/**
 * Child process: the benchmark's TypeScript rows. Consumes cpu<writer>'s
 * mapping with the reader library's streaming consumer (MappedConsumer.consume
 * and wait()) while `rbmap-bench write` writes markers on that CPU, and prints
 * one JSON line in the shape of rbmap-bench's own. Like the C reader, it reads
 * the marker's sequence number from the bytes in place and adds up every byte
 * of every event; nothing is allocated per event.
 *
 *   node bench-node-reader.js <writer-cpu> <reader-cpu> <seconds> <rate> <event-bytes> <max-spin-us>
 *
 * <max-spin-us> 0: wait in poll() only (method node-mmap-poll); otherwise the
 * consumer's in-place watch, at most that long (method node-mmap). A three-second
 * run of the writer comes first, consumed but not measured: the figures are
 * those of a consumer whose hot path V8 has compiled.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MappedConsumer, RingBufferMapping, sys, type EventCursor } from '../../../reader/index.js';
import type { BenchStall } from '../../../harness/results/bench.js';
import { MarkerSequence, overrunOf } from '../lib/bench-markers.js';
import { BENCH_BINARY } from '../lib/paths.js';
import { formats } from '../lib/ring.js';

const args = process.argv.slice(2).map(Number);
const [writerCpu, readerCpu, seconds, rate, eventBytes, maxSpinUs] = args;
if (args.length !== 6 || args.some((n) => !Number.isFinite(n))) {
  process.stderr.write('usage: bench-node-reader.js <writer-cpu> <reader-cpu> <seconds> <rate> <event-bytes> <max-spin-us>\n');
  process.exit(2);
}

sys.setAffinity(readerCpu!);
const traceFormats = formats();
const print = traceFormats.event('ftrace', 'print');
const buf = print?.fields.find((field) => field.name === 'buf');
if (print === null || buf === undefined) throw new Error('no ftrace/print event with a buf field');
const printId = print.id;
const bufOffset = buf.offset;
const ring = RingBufferMapping.open({ cpu: writerCpu!, nonBlocking: true });
const consumer = new MappedConsumer(ring, traceFormats, { maxSpinUs: maxSpinUs! });
/** Between waits, take what is there, not the writer's events one system call at a time. */
const caughtUpBytes = traceFormats.layouts.page.dataCapacity / 2;
/** consume()'s two ways, as objects of one shape (a second shape would make V8 recompile consume()). */
const UNTIL_CAUGHT_UP = { caughtUpBytes };
const UNTIL_EMPTY = { caughtUpBytes: 0 };
/**
 * The unmeasured run first: the writer unthrottled for this long. After one second V8 was
 * still compiling consume() and nextPage() (--trace-opt: 230-540 ms of a helper thread each,
 * k22-sched3), on the reader's CPU: the drains they overlapped lost events, and the measured
 * CPU included the compiler. k22-warm1, 1 MB at full rate, 8 runs of each alternated in one
 * boot: 4 of 8 lost a burst after one second, 1 of 8 after three, at 12 % less CPU per MB.
 */
const WARM_UP_SECONDS = 3;
const R = 0x72;
const B = 0x62;
const M = 0x6d;
const SPACE = 0x20;

let markers = new MarkerSequence();
/** Every word added up: an int32 cell, as a module-level number past 2^30 would be a heap number per event. */
const sum = new Int32Array(1);

/** The rbmap-bench reader's see_marker(), on the bytes in place. */
function seeMarker(cursor: EventCursor): void {
  const bytes = cursor.bytes;
  const at = cursor.payloadOffset + bufOffset;
  const end = cursor.payloadOffset + cursor.payloadLength;
  if (at + 6 > end || bytes[at] !== R || bytes[at + 1] !== B || bytes[at + 2] !== M || bytes[at + 3] !== B || bytes[at + 4] !== SPACE) return;
  let seq = 0;
  for (let i = at + 5; i < end; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) break;
    seq = seq * 10 + digit;
  }
  markers.see(seq);
}

let payloadBytes = 0;

/**
 * The mapping as 32-bit words, for the sum: V8 compiles an Int32Array load to
 * less than a DataView getUint32 (on the host, this consume loop over
 * generated pages: 44 against 63 ns per event).
 * Payloads start at a multiple of 4 in a page-aligned mapping.
 */
const mappedWords = new Int32Array(ring.pagesView.buffer, ring.pagesView.byteOffset, ring.pagesView.byteLength >>> 2);

function visit(cursor: EventCursor): void {
  // Every byte of the event, a word at a time (the payload is whole words).
  const end = cursor.payloadOffset + cursor.payloadLength;
  payloadBytes += end - cursor.headerOffset;
  let words = 0;
  for (let word = cursor.payloadOffset >> 2, last = end >> 2; word < last; word++) words = (words + mappedWords[word]!) | 0;
  sum[0] = sum[0]! + words;
  if (cursor.eventType() === printId) seeMarker(cursor);
}

/**
 * How often follow() lets the event loop run, to learn how a writer that reported nothing
 * ended. It learns of a writer that ended well from its report, as rbmap-bench's C reader
 * does from its report pipe: a turn of the loop costs about 1 ms of CPU under TCG, and at
 * 10,000/s turns every 20 ms were most of the reader's CPU outside consume() (k22-fixed1:
 * 200-519 ms of user CPU per 3 s run, against 122-187 ms without them).
 */
const YIELD_EVERY_NS = 1_000_000_000n;

let pages = 0;
let wakeups = 0;
let consumeNs = 0n;
let waitNs = 0n;
/** When the measured run lost events: [ms into it, events lost], the first few, to tell a slow start from stalls later. */
const losses: [number, number][] = [];
const LOSSES_KEPT = 16;
let measuredFrom: bigint | null = null;
/** A wait(), consume() or event-loop turn of the measured run that took this long or more is kept in `stalls`. */
const STALL_NS = 20_000_000n;
/** The measured run's long waits, drains and event-loop turns, the first few (to set beside `losses`). */
const stalls: BenchStall[] = [];
const STALLS_KEPT = 16;

function noteStall(what: BenchStall['what'], started: bigint, ended: bigint, timedOut: boolean): void {
  if (measuredFrom === null || ended - started < STALL_NS || stalls.length >= STALLS_KEPT) return;
  stalls.push({ atMs: Number((started - measuredFrom) / 1_000_000n), what, ms: Number((ended - started) / 1_000_000n), timedOut });
}
/** Consume what is there: while the writer writes, until caught up with it; at its end, all of it (complete). */
function take(untilEmpty = false): boolean {
  const started = process.hrtime.bigint();
  const taken = consumer.consume(visit, untilEmpty ? UNTIL_EMPTY : UNTIL_CAUGHT_UP);
  pages += taken.pages;
  const ended = process.hrtime.bigint();
  consumeNs += ended - started;
  noteStall('consume', started, ended, false);
  if (taken.lostEvents > 0n && measuredFrom !== null && losses.length < LOSSES_KEPT) {
    losses.push([Number((started - measuredFrom) / 1_000_000n), Number(taken.lostEvents)]);
  }
  return taken.complete;
}

/**
 * How long a wait() may sleep: until the writer's planned end (at most a second), then 100 ms
 * at a time until its report. The C reader sleeps in poll() up to a second and wakes at once
 * at its writer's report, whose pipe it polls beside the ring; this reader cannot poll the
 * report, so it sleeps long only while the writer is sure to go on. With wait(100) throughout,
 * at 10,000/s it woke 28-29 times in 3 s where buffer_percent woke it never, and used 56-99
 * ms of CPU per MB against 40-47 with this (k22-wait1, 3 runs of each alternated in one boot;
 * 50,000/s: 32-51 against 30-36).
 */
function waitTimeoutMs(writerEnds: bigint): number {
  const left = Number((writerEnds - process.hrtime.bigint()) / 1_000_000n);
  return Math.min(1000, Math.max(100, left));
}

/** `rbmap-bench write` for `forSeconds` at `atRate`, consumed as it goes; returns the markers written. */
async function follow(forSeconds: number, atRate: number): Promise<number> {
  // The writer's report ({"written":N}, printed as it exits) goes to a file that each turn looks at.
  const reportPath = join(tmpdir(), `bench-node-reader-${process.pid}.json`);
  const report = openSync(reportPath, 'w+');
  try {
    const writer = spawn(BENCH_BINARY, ['write', String(writerCpu), String(forSeconds), String(atRate), String(eventBytes)], {
      stdio: ['ignore', report, 'inherit'],
    });
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((resolve) => {
      writer.on('exit', (code) => {
        exitCode = code;
        resolve();
      });
    });
    const writerEnds = process.hrtime.bigint() + BigInt(forSeconds) * 1_000_000_000n;
    let yielded = process.hrtime.bigint();
    while (fstatSync(report).size === 0) {
      if (exitCode !== undefined) throw new Error(`rbmap-bench write exited ${exitCode} without a report`);
      const waitStarted = process.hrtime.bigint();
      const woken = consumer.wait(waitTimeoutMs(writerEnds));
      if (woken) wakeups++;
      const waitEnded = process.hrtime.bigint();
      waitNs += waitEnded - waitStarted;
      noteStall('wait', waitStarted, waitEnded, !woken);
      take();
      if (waitEnded - yielded >= YIELD_EVERY_NS) {
        const yielding = process.hrtime.bigint();
        await new Promise((resolve) => setImmediate(resolve));
        const resumed = process.hrtime.bigint();
        noteStall('yield', yielding, resumed, false);
        yielded = resumed;
      }
    }
    await exited;
    if (exitCode !== 0) throw new Error(`rbmap-bench write exited ${exitCode}`);
    const written = Number(JSON.parse(readFileSync(reportPath, 'utf8')).written);
    // What the writer left: all of it, or the warm-up's last markers would open the measured run
    // (their numbers run ahead of the new writer's, which would all count as out of order).
    while (!take(true));
    return written;
  } finally {
    closeSync(report);
    unlinkSync(reportPath);
  }
}

// Warm-up, not measured: V8 compiles the hot path (see WARM_UP_SECONDS).
await follow(WARM_UP_SECONDS, 0);
markers = new MarkerSequence();
payloadBytes = 0;
pages = 0;
wakeups = 0;
consumeNs = 0n;
waitNs = 0n;
const waitsBefore = { ...consumer.waitCounts };
const overrunBefore = overrunOf(writerCpu!);
const startWall = process.hrtime.bigint();
measuredFrom = startWall;
const startCpu = process.cpuUsage();
const written = await follow(seconds!, rate!);
const cpu = process.cpuUsage(startCpu);
const wallUs = Number((process.hrtime.bigint() - startWall) / 1000n);
ring.close();
const waits = consumer.waitCounts;
process.stdout.write(
  `${JSON.stringify({
    method: maxSpinUs === 0 ? 'node-mmap-poll' : 'node-mmap',
    rate,
    seconds,
    eventBytes,
    written,
    ...markers.counts(written),
    overrun: Number(overrunOf(writerCpu!) - overrunBefore),
    payloadBytes,
    pages,
    wakeups,
    spinsFound: waits.spinsFound - waitsBefore.spinsFound,
    spinsTimedOut: waits.spinsTimedOut - waitsBefore.spinsTimedOut,
    polls: waits.polls - waitsBefore.polls,
    consumeUs: Number(consumeNs / 1000n),
    waitUs: Number(waitNs / 1000n),
    userUs: cpu.user,
    systemUs: cpu.system,
    wallUs,
    losses,
    stalls,
    checksum: sum[0]! >>> 0,
  })}\n`,
);
