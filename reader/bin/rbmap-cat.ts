#!/usr/bin/env node
/**
 * rbmap-cat: print the events of mapped per-CPU ring buffers.
 *
 *   rbmap-cat [--cpu N | --all] [--instance NAME] [--follow]
 *
 * Maps per_cpu/cpuN/trace_pipe_raw (default: every online CPU), consumes it
 * with GET_READER_PAGE and prints one line per event:
 *   comm-pid [cpu] seconds.micros: event: fields
 * and, before the first event of a page that came after overwritten events,
 *   CPU n: LOST k EVENTS
 * It starts where the previous reader of the CPU stopped (reader_read).
 * With --follow it waits on every CPU at once (poll() on Node's event loop,
 * and a drain at least every half second) until SIGINT.
 * At the end it prints entries and overrun from each meta page.
 */
import { parseArgs } from 'node:util';
import {
  eventOf,
  formatEventLine,
  MappedConsumer,
  onlineCpus,
  RingBufferMapping,
  savedCmdlines,
  traceArray,
  TraceFormats,
  type DecodedEvent,
} from '../index.js';

const USAGE = 'usage: rbmap-cat [--cpu N | --all] [--instance NAME] [--follow]';

/** A bad command line: the only error that earns the usage line. */
class UsageError extends Error {}

interface Options {
  cpus: number[];
  instance: string | null;
  follow: boolean;
}

function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        cpu: { type: 'string' },
        all: { type: 'boolean', default: false },
        instance: { type: 'string' },
        follow: { type: 'boolean', short: 'f', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.cpu !== undefined && values.all === true) throw new UsageError('--cpu and --all exclude each other');
  let cpus: number[];
  if (values.cpu !== undefined) {
    const cpu = Number(values.cpu);
    if (!Number.isInteger(cpu) || cpu < 0) throw new UsageError(`--cpu needs a CPU number, got ${values.cpu}`);
    cpus = [cpu];
  } else {
    cpus = onlineCpus();
  }
  return { cpus, instance: values.instance ?? null, follow: values.follow === true };
}

interface CpuReader {
  cpu: number;
  ring: RingBufferMapping;
  consumer: MappedConsumer;
}

/** One output line of a batch, placed by its time stamp. */
type BatchLine =
  | { readonly kind: 'event'; readonly cpu: number; readonly timestamp: bigint; readonly event: DecodedEvent }
  | { readonly kind: 'lost'; readonly cpu: number; readonly timestamp: bigint; readonly count: bigint };

/** What one CPU has to print: a page that came after lost events starts with a LOST line (stamped with the page's time). */
function batchLinesOf(reader: CpuReader, formats: TraceFormats, caughtUpBytes: number): BatchLine[] {
  const lines: BatchLine[] = [];
  const { cpu, consumer } = reader;
  consumer.consume(
    (cursor) => {
      const event = eventOf(cursor, formats.lookup);
      lines.push({ kind: 'event', cpu, timestamp: event.timestamp, event });
    },
    {
      caughtUpBytes,
      onPage: (handover, cursor) => {
        if (handover.lostEvents > 0n) lines.push({ kind: 'lost', cpu, timestamp: cursor.pageTimestampBig(), count: handover.lostEvents });
      },
    },
  );
  return lines;
}

/** Print what the CPUs hold; `caughtUpBytes` as MappedConsumer.consume() takes it (0: everything). */
function printBatch(readers: readonly CpuReader[], formats: TraceFormats, comms: Map<number, string>, caughtUpBytes = 0): number {
  const batch: BatchLine[] = [];
  for (const reader of readers) batch.push(...batchLinesOf(reader, formats, caughtUpBytes));
  // A stable sort: a LOST line stays before the first event of its page.
  batch.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  if (batch.some((line) => line.kind === 'event' && !comms.has(line.event.pid))) {
    for (const [pid, comm] of savedCmdlines(traceArray(null))) comms.set(pid, comm);
  }
  const lines = batch.map((line) =>
    line.kind === 'lost'
      ? `CPU ${line.cpu}: LOST ${line.count} EVENTS`
      : formatEventLine(line.event, line.cpu, comms.get(line.event.pid)),
  );
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  return lines.length;
}

/** Longest wait of one CPU in --follow before a drain anyway (buffer_percent may hold a small batch back). */
const FOLLOW_WAIT_MS = 500;

/**
 * Until SIGINT: every CPU waits at once on Node's event loop; when one wakes,
 * a batch of all of them is printed and that CPU waits again.
 */
async function follow(readers: readonly CpuReader[], formats: TraceFormats, comms: Map<number, string>): Promise<void> {
  const interrupted = new Promise<null>((resolve) => process.once('SIGINT', () => resolve(null)));
  process.stderr.write(`rbmap-cat: following ${readers.map((reader) => `cpu${reader.cpu}`).join(' ')} (interrupt to stop)\n`);
  const waits = new Map<CpuReader, Promise<CpuReader>>();
  const waitOn = (reader: CpuReader): void => {
    waits.set(reader, reader.consumer.waitAsync(FOLLOW_WAIT_MS).then(() => reader));
  };
  for (const reader of readers) waitOn(reader);
  try {
    for (;;) {
      const woken = await Promise.race([interrupted, ...waits.values()]);
      if (woken === null) break;
      // Between waits, what is there: not the writer's events one GET_READER_PAGE at a time.
      printBatch(readers, formats, comms, formats.layouts.page.dataCapacity / 2);
      waitOn(woken);
    }
  } finally {
    // A ring is not closed under a wait that is still watching its fd.
    await Promise.allSettled(waits.values());
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const formats = new TraceFormats();
  const readers: CpuReader[] = [];
  try {
    for (const cpu of options.cpus) {
      const ring = RingBufferMapping.open({ cpu, instance: options.instance });
      readers.push({ cpu, ring, consumer: new MappedConsumer(ring, formats) });
    }
    const comms = savedCmdlines(traceArray(options.instance));
    printBatch(readers, formats, comms);
    if (options.follow) await follow(readers, formats, comms);
    for (const reader of readers) {
      const meta = reader.ring.updateMeta();
      process.stdout.write(`cpu${reader.cpu}: entries=${meta.entries} overrun=${meta.overrun}\n`);
    }
  } finally {
    for (const reader of readers) reader.ring.close();
  }
}

main().catch((error: unknown) => {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  process.stderr.write(`rbmap-cat: ${error instanceof Error ? error.message : String(error)}\n`);
  if (code === 'ENODEV') process.stderr.write('rbmap-cat: this kernel cannot mmap trace_pipe_raw (is the rbmap series applied?)\n');
  if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
  process.exit(1);
});
