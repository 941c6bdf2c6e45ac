/**
 * The reader benchmark. A writer pinned to CPU 1 writes fixed-size markers
 * (unthrottled, or at fixed rates); a reader on CPU 0 consumes CPU 1's buffer
 * by read(), by splice() into a pipe, and by the mapping (GET_READER_PAGE, the
 * page read in place) — natively (rbmap-bench, C: its own walk, and
 * tep-mmap, libtraceevent's event parser and kbuffer, the library of the
 * RFC's demo, on the mapped pages), and with the TypeScript reader library's
 * streaming consumer: node-mmap waits with its in-place watch, node-mmap-poll
 * with poll() alone. The full run adds rbmap-cat --follow against the
 * unthrottled writer. Each measurement is a `bench-result <json>` diagnostic;
 * the host's `rbmap bench` turns them into bench.json, a table and a chart.
 *
 * Kernel command line: rbmap.bench_seconds=N (per measurement, default 1) and
 * rbmap.bench=full (two ring sizes and three rates; the default is one ring
 * size, unthrottled: the short run of every `rbmap run`, which asserts only
 * that every method consumed the markers in order). In the full run,
 * rbmap.bench_rounds=R measures read() and the mappings (C, node-mmap and
 * node-mmap-poll) on the small ring R - 1 more times, interleaved, because the events one of them loses there
 * vary from one measurement to the next. rbmap.bench_methods=copy (rbmap bench
 * --no-patches, a kernel without the series) measures read() and splice() only.
 */
import assert from 'node:assert/strict';
import type { BenchResult } from '../../harness/results/bench.js';
import { benchPlan, type BenchMethod } from '../../guest/benchPlan.js';
import { commandLineValue } from '../../guest/cmdline.js';
import { ChildHelper, describeChild } from './lib/children.js';
import { runRbmapBench } from './lib/bench-markers.js';
import { traceTest } from './lib/trace-test.js';
import { onlineCpus, readTraceFile, setBufferSizeKb, topLevel, writeTraceFile } from '../../reader/index.js';

const WRITER_CPU = 1;
const READER_CPU = 0;
const EVENT_BYTES = 64;
const seconds = Number(commandLineValue('bench_seconds') ?? '1');
const full = commandLineValue('bench') === 'full';
const copyPathsOnly = commandLineValue('bench_methods') === 'copy';
const plan = benchPlan({ full, copyPathsOnly, rounds: Number(commandLineValue('bench_rounds') ?? '1') });
/** node-mmap's longest in-place watch before poll(), µs (the library's watch is off by default). */
const NODE_SPIN_US = 1000;

/** What one reader prints; the test adds the ring size and buffer_percent it set. */
type Measured = Omit<BenchResult, 'ringKb' | 'bufferPercent' | 'round'>;

async function measure(method: BenchMethod, rate: number): Promise<Measured> {
  const args = [String(WRITER_CPU), String(READER_CPU), String(seconds), String(rate), String(EVENT_BYTES)];
  if (method === 'node-mmap' || method === 'node-mmap-poll' || method === 'rbmap-cat') {
    const child =
      method === 'rbmap-cat'
        ? new ChildHelper('bench-cat-reader', args)
        : new ChildHelper('bench-node-reader', [...args, String(method === 'node-mmap' ? NODE_SPIN_US : 0)]);
    const result = await child.result(seconds * 1000 + 60_000);
    assert.equal(result.code, 0, describeChild(result));
    return JSON.parse(result.stdout) as Measured;
  }
  return runRbmapBench<Measured>([method, ...args], seconds);
}

traceTest(
  `bench: read(), splice() and the mapping (C and TypeScript) consume a marker writer on another CPU (${full ? 'full' : 'short'} run${copyPathsOnly ? ', read() and splice() only' : ''}, ${seconds} s each)`,
  async ({ t, cleanup }) => {
    if (!onlineCpus().includes(WRITER_CPU)) {
      t.skip('needs a second CPU for the writer (--smp 2 or more)');
      return;
    }
    const results: BenchResult[] = [];
    const initialPercent = readTraceFile(topLevel, 'buffer_percent').trim();
    cleanup.add('restore buffer_percent', () => writeTraceFile(topLevel, 'buffer_percent', initialPercent));
    let ringKb = 0;
    for (const { method, ringKb: wantedKb, rate, wakeAt, round } of plan) {
      if (wantedKb !== ringKb) setBufferSizeKb(topLevel, (ringKb = wantedKb), WRITER_CPU);
      const bufferPercent = wakeAt === 'default' ? Number(initialPercent) : wakeAt;
      writeTraceFile(topLevel, 'buffer_percent', String(bufferPercent));
      const result = { ...(await measure(method, rate)), ringKb, bufferPercent, round };
      t.diagnostic(`bench-result ${JSON.stringify(result)}`);
      // Progress on the console (node:test prints the diagnostics only when the test ends): it also tells the watchdog the guest lives.
      process.stderr.write(`bench: ${method}, ${ringKb} KB, ${rate === 0 ? 'max' : `${rate}/s`}, wake at ${bufferPercent}%, round ${round}: ${result.consumed} of ${result.written} consumed\n`);
      results.push(result);
    }
    for (const result of results) {
      const what = `${result.method} at ${result.rate === 0 ? 'full speed' : `${result.rate}/s`}, ${result.ringKb} KB ring`;
      assert.ok(result.written > 0, `${what}: the writer wrote`);
      assert.ok(result.consumed > 0 && result.payloadBytes > 0, `${what}: the reader consumed markers (${JSON.stringify(result)})`);
      assert.equal(result.outOfOrder, 0, `${what}: markers came out in order`);
      assert.ok(result.consumed + result.missing === result.written, `${what}: every marker is consumed or counted missing`);
      assert.ok(result.missing <= result.overrun, `${what}: every missing marker was overwritten by the writer (${result.missing} missing, overrun ${result.overrun})`);
    }
  },
  {
    timeout: (seconds + 30) * 1000 * plan.length + 60_000,
  },
);
