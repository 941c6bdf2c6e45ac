/**
 * The mapping consumer end to end: markers written on CPU 0 come out of the
 * mapped cpu0 buffer, each exactly once, in order, as objects (drain()) and
 * streamed through the cursor (consume()); wait()'s in-place watch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  compiledFormatOf,
  kbForRingPages,
  MappedConsumer,
  onlineCpus,
  resetBuffer,
  RingBufferMapping,
  setBufferSizeKb,
  sys,
  topLevel,
  writeMarkers,
} from '../../reader/index.js';
import { ChildHelper, describeChild } from './lib/children.js';
import { markersOf, numberedMarkers, pagesWorthOf } from './lib/markers.js';
import { BENCH_BINARY, readerScript } from './lib/paths.js';
import { formats } from './lib/ring.js';
import { type Cleanup, traceTest } from './lib/trace-test.js';

traceTest('consumer: markers written on CPU 0 come out of the mapped cpu0 buffer once each, in order', ({ cleanup }) => {
  sys.setAffinity(0);
  setBufferSizeKb(topLevel, kbForRingPages(8), 0);
  resetBuffer(topLevel);
  // About four pages of markers: several reader-page handovers, no overwrite.
  const markers = numberedMarkers('consumer', pagesWorthOf(400));
  writeMarkers(topLevel, markers);

  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const meta = ring.updateMeta();
  assert.equal(meta.entries, BigInt(markers.length), 'entries == markers written');
  assert.equal(meta.overrun, 0n, 'nothing overwritten');
  assert.deepEqual(ring.inconsistencies(meta), []);

  const consumer = new MappedConsumer(ring, formats());
  const drained = consumer.drain();
  assert.ok(drained.pagesTaken >= 3, `several pages handed over (${drained.pagesTaken})`);
  assert.deepEqual(markersOf(drained.events), markers);
  assert.equal(ring.getReaderPage(), false, 'EAGAIN once everything is consumed');

  const timestamps = drained.events.map((event) => event.timestamp);
  for (let i = 1; i < timestamps.length; i++) {
    assert.ok(timestamps[i]! >= timestamps[i - 1]!, `time stamps never go back (event ${i})`);
  }
  assert.ok(drained.events.every((event) => event.pid === process.pid), 'every marker carries the writer pid');
});

traceTest('consumer: markers written after mapping, in two rounds, come out once each', ({ cleanup }) => {
  sys.setAffinity(0);
  setBufferSizeKb(topLevel, kbForRingPages(8), 0);
  resetBuffer(topLevel);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const consumer = new MappedConsumer(ring, formats());
  assert.deepEqual(consumer.drain().events, [], 'empty after reset');

  const first = numberedMarkers('round-one', 150);
  writeMarkers(topLevel, first);
  assert.deepEqual(markersOf(consumer.drain().events), first);

  // The writer may still be on the reader page: the consumer resumes there.
  const second = numberedMarkers('round-two', 150);
  writeMarkers(topLevel, second);
  assert.deepEqual(markersOf(consumer.drain().events), second);
  assert.equal(ring.updateMeta().entries, 300n);
});

traceTest('consumer: a second consumer prints nothing the first one took, then exactly what is written after', ({ cleanup }) => {
  sys.setAffinity(0);
  setBufferSizeKb(topLevel, kbForRingPages(8), 0);
  resetBuffer(topLevel);
  const markers = numberedMarkers('first-consumer', pagesWorthOf(250));
  writeMarkers(topLevel, markers);
  const first = RingBufferMapping.open({ cpu: 0 });
  try {
    assert.deepEqual(markersOf(new MappedConsumer(first, formats()).drain().events), markers, 'the first consumer takes them all');
  } finally {
    first.close();
  }

  const ring = cleanup.closes('second cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const meta = ring.meta();
  assert.ok(meta.readerRead > 0, `reader_read ${meta.readerRead} survives the first mapping`);
  assert.equal(meta.read, BigInt(markers.length), 'read counts what the first consumer took');
  const second = new MappedConsumer(ring, formats());
  assert.deepEqual(second.drain().events, [], 'nothing for the second consumer: it starts at reader_read');
  const more = numberedMarkers('second-consumer', 2);
  writeMarkers(topLevel, more);
  assert.deepEqual(markersOf(second.drain().events), more, 'exactly the markers written since');
});

/** An 8-page cpu0 ring holding `count` numbered markers, then `script` of the reader run to its end. */
async function readerScriptOverMarkers(cleanup: Cleanup, script: string, args: readonly string[], prefix: string, count: number) {
  sys.setAffinity(0);
  setBufferSizeKb(topLevel, kbForRingPages(8), 0);
  resetBuffer(topLevel);
  const markers = numberedMarkers(prefix, count);
  writeMarkers(topLevel, markers);
  return { markers, printed: await printedByReaderScript(cleanup, script, args, prefix, markers.length) };
}

/** Run `script` of the reader to its end: the lines it printed for markers of `prefix` (the meta counts must say `entries`). */
async function printedByReaderScript(cleanup: Cleanup, script: string, args: readonly string[], prefix: string, entries: number): Promise<string[]> {
  const child = new ChildHelper(readerScript(script), args);
  cleanup.add(`stop ${script}`, () => child.kill());
  const result = await child.result(60_000);
  assert.equal(result.code, 0, describeChild(result));
  assert.match(result.stdout, new RegExp(`^cpu0: entries=${entries} overrun=0$`, 'm'), `the meta counts at the end: ${describeChild(result)}`);
  return result.stdout.split('\n').filter((line) => line.includes(`: print: ${prefix}-`));
}

traceTest('rbmap-cat prints mapped markers as "comm-pid [cpu] seconds.micros: print: text" and the meta counts', async ({ cleanup }) => {
  const { markers, printed } = await readerScriptOverMarkers(cleanup, 'bin/rbmap-cat', ['--cpu', '0'], 'cat', 30);
  const pattern = new RegExp(`^\\s*\\S+-${process.pid} \\[000\\]\\s+\\d+\\.\\d{6}: print: (cat-\\d{6})$`);
  assert.deepEqual(printed.map((line) => pattern.exec(line)?.[1] ?? `unexpected line: ${line}`), markers);
});

traceTest('rbmap-cat --follow prints markers written while it waits and stops on SIGINT with the meta counts', async ({ cleanup }) => {
  sys.setAffinity(0);
  setBufferSizeKb(topLevel, kbForRingPages(8), 0);
  resetBuffer(topLevel);
  const child = new ChildHelper(readerScript('bin/rbmap-cat'), ['--cpu', '0', '--follow']);
  cleanup.add('stop rbmap-cat', () => child.kill());
  await child.waitFor(/following cpu0/, 30_000, 'stderr');
  const markers = numberedMarkers('follow', 20);
  writeMarkers(topLevel, markers);
  await child.waitFor(/print: follow-000019$/m, 30_000);
  child.signal('SIGINT');
  const result = await child.result(30_000);
  assert.equal(result.code, 0, describeChild(result));
  const printed = [...result.stdout.matchAll(/: print: (follow-\d{6})$/gm)].map((match) => match[1]);
  assert.deepEqual(printed, markers);
  assert.match(result.stdout, new RegExp(`^cpu0: entries=${markers.length} overrun=0$`, 'm'));
});

traceTest('rbmap-cat --follow waits on every CPU at once and prints their markers in time order', async ({ cleanup }) => {
  setBufferSizeKb(topLevel, kbForRingPages(8), 0);
  setBufferSizeKb(topLevel, kbForRingPages(8), 1);
  resetBuffer(topLevel);
  const child = new ChildHelper(readerScript('bin/rbmap-cat'), ['--follow']);
  cleanup.add('stop rbmap-cat', () => child.kill());
  cleanup.add('back to CPU 0', () => sys.setAffinity(0));
  await child.waitFor(/following cpu0 cpu1/, 30_000, 'stderr');
  const markers = numberedMarkers('both', 20);
  sys.setAffinity(1);
  writeMarkers(topLevel, markers.slice(0, 10));
  await child.waitFor(/\[001\]\s+\S+: print: both-000009$/m, 30_000);
  sys.setAffinity(0);
  writeMarkers(topLevel, markers.slice(10));
  await child.waitFor(/\[000\]\s+\S+: print: both-000019$/m, 30_000);
  child.signal('SIGINT');
  const result = await child.result(30_000);
  assert.equal(result.code, 0, describeChild(result));
  const printed = [...result.stdout.matchAll(/: print: (both-\d{6})$/gm)].map((match) => match[1]);
  assert.deepEqual(printed, markers);
  assert.match(result.stdout, /^cpu0: entries=10 overrun=0$/m);
  assert.match(result.stdout, /^cpu1: entries=10 overrun=0$/m);
});

traceTest('the reader README example (reader/examples/print-cpu.ts) prints the mapped markers and the meta counts', async ({ cleanup }) => {
  const { markers, printed } = await readerScriptOverMarkers(cleanup, 'examples/print-cpu', ['0', '1'], 'example', 20);
  assert.deepEqual(printed.map((line) => /: print: (example-\d{6})$/.exec(line)?.[1] ?? `unexpected line: ${line}`), markers);
});

traceTest('rbmap-cat after the README example prints none of the markers the example took', async ({ cleanup }) => {
  const { markers, printed } = await readerScriptOverMarkers(cleanup, 'examples/print-cpu', ['0', '1'], 'taken-once', 20);
  assert.equal(printed.length, markers.length, 'the example printed every marker');
  const again = await printedByReaderScript(cleanup, 'bin/rbmap-cat', ['--cpu', '0'], 'taken-once', markers.length);
  assert.deepEqual(again, [], 'rbmap-cat starts where the example stopped');
});

traceTest('consumer: consume() streams the same events as drain(), in place, with exact time stamps', ({ cleanup }) => {
  sys.setAffinity(0);
  setBufferSizeKb(topLevel, kbForRingPages(8), 0);
  resetBuffer(topLevel);
  const markers = numberedMarkers('stream', pagesWorthOf(300));
  writeMarkers(topLevel, markers);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const traceFormats = formats();
  const print = traceFormats.event('ftrace', 'print');
  assert.ok(print !== null, 'events/ftrace/print exists');
  const text = compiledFormatOf(print, true).byName.get('buf');
  assert.ok(text?.textStart !== null && text?.textStart !== undefined && text.textEnd !== null, 'buf is a text field');
  const seen: string[] = [];
  const stamps: bigint[] = [];
  const counts = new MappedConsumer(ring, traceFormats).consume((cursor) => {
    if (cursor.eventType() !== print.id) return;
    seen.push(cursor.text.toString('utf8', text.textStart!(cursor), text.textEnd!(cursor)).replace(/\n$/, ''));
    stamps.push(cursor.timestampBig());
    assert.equal(BigInt(cursor.timestampNs()), cursor.timestampBig(), 'the number is the exact stamp');
  });
  assert.deepEqual(seen, markers);
  assert.equal(counts.events, markers.length);
  assert.ok(counts.pages >= 2 && counts.complete, `several handovers, to EAGAIN (${JSON.stringify(counts, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))})`);
  for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! >= stamps[i - 1]!, `time stamps never go back (event ${i})`);
  assert.equal(ring.getReaderPage(), false, 'EAGAIN, as an answer (no exception) once everything is consumed');
});

traceTest('consumer: wait() watches the pages in place after a close call, and sees a writer on CPU 1 without poll()', async ({ t, cleanup }) => {
  if (!onlineCpus().includes(1)) {
    t.skip('needs a second CPU for the writer (--smp 2 or more)');
    return;
  }
  sys.setAffinity(0);
  // Room for all 4,000 markers: a consumer slowed down (JIT warm-up under emulation) must not lose any.
  setBufferSizeKb(topLevel, kbForRingPages(128), 1);
  resetBuffer(topLevel);
  const ring = cleanup.closes('cpu1 mapping', RingBufferMapping.open({ cpu: 1, nonBlocking: true }));
  // Any data at all counts as a close call: the consumer watches after each drain.
  const consumer = new MappedConsumer(ring, formats(), { maxSpinUs: 20_000, riskFraction: 1e-9 });
  const writer = spawn(BENCH_BINARY, ['write', '1', '2', '2000', '64'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  writer.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const done = new Promise<number>((resolve) => writer.on('exit', (code) => resolve(code ?? -1)));
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  let events = 0;
  while (!finished) {
    consumer.wait(100);
    events += consumer.consume(() => undefined).events;
    await new Promise((resolve) => setImmediate(resolve));
  }
  events += consumer.consume(() => undefined).events;
  assert.equal(await done, 0, 'rbmap-bench write succeeded');
  const written = Number(JSON.parse(out).written);
  assert.equal(events, written, 'every marker consumed');
  const waits = consumer.waitCounts;
  assert.ok(waits.spinsFound > 10 && waits.spinsFound > 4 * waits.polls, `most waits ended in the watch, not in poll() (${JSON.stringify(waits)}, ${written} markers)`);
});
