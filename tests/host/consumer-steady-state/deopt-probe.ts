/**
 * Child process of consumer-steady-state.test.ts, run with
 * --allow-natives-syntax --no-concurrent-recompilation (compiled when it says,
 * not whenever a background thread is done). A consumer is compiled after
 * plain pages only, each handed over whole; then one page, in two parts,
 * brings the first lost events, time extend, carry past 2^30 ns and
 * continued page. Prints one JSON line: V8's status bits of consume()
 * and EventCursor.next before and after, and what that page gave.
 */
import { EventCursor, MappedConsumer } from '../../../reader/index.js';
import { LAYOUTS, PAGE_SIZE } from '../decode-speed/speed.js';
import { ScriptedRing, visit, writePage } from './ring.js';

type NativeHelper = (f: unknown) => number;
const optimizationStatus = new Function('f', 'return %GetOptimizationStatus(f)') as NativeHelper;
const prepareForOptimization = new Function('f', '%PrepareFunctionForOptimization(f)') as NativeHelper;
const optimizeOnNextCall = new Function('f', '%OptimizeFunctionOnNextCall(f)') as NativeHelper;

// IDs 1..4: plain pages, stamps far from a 2^30 boundary, each handed over whole. 5: the rare
// cases, handed over in two parts (the second continues the page) after 7 lost events.
const view = new DataView(new ArrayBuffer(6 * PAGE_SIZE));
for (let id = 1; id <= 4; id++) writePage(view, id, 0x1000 + id * 100_000, 40);
const rareBytes = writePage(view, 5, 2 ** 30 - 500, 40, 20);
const firstPart = 10 * (4 + 6 * 4); // ten events, before the time extend
const ring = new ScriptedRing(view, 4, [
  { page: 5, read: firstPart, lost: 7n },
  { page: 5, read: rareBytes, lost: 0n },
]);
const consumer = new MappedConsumer(ring, { layouts: LAYOUTS, lookup: () => null }, { maxSpinUs: 0 });
const options = { maxPages: 4 };
const consume = MappedConsumer.prototype.consume;
const next = EventCursor.prototype.next;
prepareForOptimization(consume);
prepareForOptimization(next);
for (let i = 0; i < 200; i++) consumer.consume(visit, options);
optimizeOnNextCall(consume);
optimizeOnNextCall(next);
consumer.consume(visit, options);
const statuses = (): Record<'consume' | 'next', number> => ({ consume: optimizationStatus(consume), next: optimizationStatus(next) });
const before = statuses();
ring.setRare(true);
const taken = consumer.consume(visit, { maxPages: 2 });
const after = statuses();
process.stdout.write(`${JSON.stringify({ before, after, lostEvents: String(taken.lostEvents), events: taken.events })}\n`);
