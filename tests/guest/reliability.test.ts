/**
 * What breaks a ring-buffer mapping in real use. Stale kernel memory
 * shown through the mapping, read stamps after a handover, the ioctls on a
 * file that holds no mapping, the lock order against CPU hotplug (lockdep,
 * debug variant), and GET_READER_PAGE racing a trace_pipe reader.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeSync, existsSync, openSync, readFileSync, readSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import {
  createInstance,
  decodePage,
  hasCode,
  kbForRingPages,
  MappedConsumer,
  markerText,
  openTracePipeRaw,
  perCpuPath,
  readPageHeader,
  readTraceFile,
  RingBufferMapping,
  setBufferSizeKb,
  setClock,
  sys,
  topLevel,
  TRACE_MMAP_IOCTL_GET_READER_PAGE,
  TRACE_MMAP_IOCTL_UPDATE_META_PAGE,
  writeMarkers,
  writeTraceFile,
} from '../../reader/index.js';
import { commandLineValue } from '../../guest/cmdline.js';
import { assertErrno } from './lib/assertions.js';
import { ChildHelper, describeChild } from './lib/children.js';
import { markersOf, markersOfRawPages, MarkerWriter, numberedMarkers } from './lib/markers.js';
import { formats, readAllPages, readTextUntilEmpty, smallCpu0Ring } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';
import { sleepMs } from './lib/waiting.js';
import { STRESS_FLOOR, STRESS_GRACE_MS, STRESS_THREAD_START_MS, type SlowestOperation } from './lib/stress.js';

/**
 * Fill `megabytes` of tmpfs with a non-zero pattern and delete it: the page
 * allocator hands those pages out next, as it would on a guest that has run
 * for a while (QEMU's RAM starts zeroed, which hides stale-memory bugs).
 */
function dirtyFreeMemory(megabytes: number): void {
  const path = '/tmp/rbmap-dirty-memory';
  const chunk = Buffer.alloc(1 << 20, 0xa5);
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < megabytes; i++) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
}

interface StaleBytes {
  readonly pages: number;
  readonly pagesWithStaleBytes: number[];
  readonly staleBytes: number;
}

/**
 * Every byte of every page of the mapping that is not an event: past the
 * committed data, and the whole page (time stamp included) of a page that
 * never held an event.
 */
function staleBytesOf(ring: RingBufferMapping): StaleBytes {
  const { layouts } = formats();
  const pagesWithStaleBytes: number[] = [];
  let staleBytes = 0;
  for (let id = 0; id < ring.pageIdCount; id++) {
    const view = ring.pageView(id);
    const { dataLength, commitWord } = readPageHeader(view, layouts);
    const from = commitWord === 0n ? 0 : layouts.page.dataOffset + dataLength;
    let stale = 0;
    for (let at = from; at < view.byteLength; at++) if (view.getUint8(at) !== 0) stale++;
    if (stale > 0) pagesWithStaleBytes.push(id);
    staleBytes += stale;
  }
  return { pages: ring.pageIdCount, pagesWithStaleBytes, staleBytes };
}

function assertNoStaleBytes(ring: RingBufferMapping, what: string): void {
  const found = staleBytesOf(ring);
  assert.equal(
    found.staleBytes,
    0,
    `${what}: ${found.staleBytes} non-zero bytes outside events in ${found.pagesWithStaleBytes.length} of ${found.pages} pages ` +
      `(IDs ${found.pagesWithStaleBytes.slice(0, 12).join(', ')}${found.pagesWithStaleBytes.length > 12 ? ', …' : ''})`,
  );
}

traceTest('stale memory: a new instance mapped after the guest dirtied and freed memory shows only zeroes outside events, on every CPU', ({ cleanup }) => {
  dirtyFreeMemory(64);
  const name = 'rbmap-zeroed';
  cleanup.instance(name);
  const array = createInstance(name);
  for (const cpu of [0, 1]) {
    const ring = cleanup.closes(`${name} cpu${cpu} mapping`, RingBufferMapping.open({ cpu, instance: name }));
    assertNoStaleBytes(ring, `instance cpu${cpu}, never written`);
  }
  writeMarkers(array, numberedMarkers('zeroed', 50));
  const ring = cleanup.closes(`${name} cpu0 second mapping`, RingBufferMapping.open({ cpu: 0, instance: name }));
  assertNoStaleBytes(ring, 'instance cpu0 after 50 markers');
});

traceTest('stale memory: pages that read() swapped into the ring before the first mapping show only zeroes outside events', ({ cleanup }) => {
  dirtyFreeMemory(64);
  const name = 'rbmap-spares';
  cleanup.instance(name);
  const array = createInstance(name);
  setBufferSizeKb(array, 64, 0);
  // Several full pages: read() takes each by swapping a spare page into the ring.
  const markers = numberedMarkers('spare-page-marker-with-some-length', 400);
  writeMarkers(array, markers);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, instance: name, nonBlocking: true }));
  assert.deepEqual(markersOfRawPages(readAllPages(fd), sys.pageSize()), markers, 'read() returned every marker');
  const ring = cleanup.closes(`${name} cpu0 mapping`, RingBufferMapping.open({ cpu: 0, instance: name }));
  assertNoStaleBytes(ring, 'instance cpu0 after read() swapped pages');
});

// ---------------------------------------------------------------------------
// Read stamps after a handover

type StampReader = 'trace' | 'read' | 'trace_pipe';

/** Time stamp (ns, trace clock) of the marker `text` as `reader` reports it. */
function stampOf(reader: StampReader, text: string): bigint {
  if (reader === 'read') {
    const fd = openTracePipeRaw({ cpu: 0, nonBlocking: true });
    try {
      const { layouts, lookup } = formats();
      const data = readAllPages(fd);
      const pageSize = sys.pageSize();
      for (let at = 0; at + pageSize <= data.length; at += pageSize) {
        const { events } = decodePage(new DataView(data.buffer, data.byteOffset + at, pageSize), layouts, lookup);
        const event = events.find((e) => markerText(e) === text);
        if (event !== undefined) return event.timestamp;
      }
      throw new Error(`read() of cpu0/trace_pipe_raw did not return ${text}`);
    } finally {
      closeSync(fd);
    }
  }
  const lines = reader === 'trace' ? readTraceFile(topLevel, 'trace') : readTextUntilEmpty(perCpuPath(topLevel, 0, 'trace_pipe'));
  for (const line of lines.split('\n')) {
    const match = /\s(\d+)\.(\d{6}): [^:]+: (\S+)$/.exec(line);
    if (match !== null && match[3] === text) return (BigInt(match[1]!) * 1_000_000n + BigInt(match[2]!)) * 1000n;
  }
  throw new Error(`${reader} did not show ${text}:\n${lines}`);
}

traceTest('read stamps: after GET_READER_PAGE consumed events spanning 1 s, the next event on the same page keeps its own time in trace, read() and trace_pipe', ({ cleanup }) => {
  smallCpu0Ring(8);
  setClock(topLevel, 'mono');
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const writer = cleanup.closes('marker writer', new MarkerWriter(topLevel));
  const errors: string[] = [];
  for (const reader of ['trace', 'read', 'trace_pipe'] as const) {
    writer.write(`${reader}-A1`);
    sleepMs(1000);
    writer.write(`${reader}-A2`);
    writer.write(`${reader}-A3`);
    assert.equal(ring.getReaderPage(), true, 'GET_READER_PAGE handed the A markers over');
    const before = process.hrtime.bigint();
    writer.write(`${reader}-B1`);
    const after = process.hrtime.bigint();
    const stamp = stampOf(reader, `${reader}-B1`);
    // The trace files print microseconds: allow that truncation and nothing more.
    if (stamp < before - 1000n || stamp > after) {
      errors.push(`${reader}: B1 stamped ${Number(stamp - before) / 1e6} ms from the time it was written (window ${Number(after - before) / 1e6} ms)`);
    }
  }
  assert.deepEqual(errors, []);
});

// ---------------------------------------------------------------------------
// The ioctls belong to the file that holds the mapping

traceTest('ioctls: on a second, unmapped fd of a mapped CPU they fail with ENOTTY as on pristine 6.1, isatty() is false, and the consumer loses nothing', ({ cleanup }) => {
  smallCpu0Ring(8);
  const markers = numberedMarkers('other-fd', 300);
  writeMarkers(topLevel, markers);
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  const before = ring.updateMeta();
  const other = cleanup.fd(openTracePipeRaw({ cpu: 0 }), 'unmapped cpu0 fd');
  assertErrno(() => sys.ioctl(other, TRACE_MMAP_IOCTL_GET_READER_PAGE), 'ENOTTY', 'GET_READER_PAGE (TCGETS) on the unmapped fd');
  assertErrno(() => sys.ioctl(other, TRACE_MMAP_IOCTL_UPDATE_META_PAGE), 'ENOTTY', 'UPDATE_META_PAGE (TCSETS) on the unmapped fd');
  assert.deepEqual(sys.isatty(other), { tty: false, code: 'ENOTTY' }, 'isatty() on the unmapped fd');
  assert.equal(ring.meta().readerPage, before.readerPage, 'the consumer still owns its reader page');
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), markers, 'the consumer got every marker');
});

// ---------------------------------------------------------------------------
// Lock order (lockdep, debug variant)

function lockdepDebugLocks(): number {
  const match = /debug_locks:\s+(\d+)/.exec(readFileSync('/proc/lockdep_stats', 'utf8'));
  if (match === null) throw new Error('/proc/lockdep_stats has no debug_locks line');
  return Number(match[1]);
}

traceTest('lock order: perf CPU events, a resize, mmap and snapshots close no cycle through cpu_hotplug_lock (lockdep stays on)', ({ t, cleanup }) => {
  if (!existsSync('/proc/lockdep_stats')) {
    t.skip('needs a lockdep kernel: run with --variant debug');
    return;
  }
  assert.equal(lockdepDebugLocks(), 1, 'lockdep was already off before this test (an earlier report, see the console)');
  // cpu_hotplug_lock -> cpuctx_mutex is recorded at CPU bring-up; this adds cpuctx_mutex -> mmap_lock.
  const perf = cleanup.fd(sys.perfCpuClockOpen(0), 'perf event on cpu0');
  sys.perfEventId(perf);
  // buffer->mutex and cpu_hotplug_lock, in the order resize takes them.
  setBufferSizeKb(topLevel, 64, 0);
  // mmap_lock -> trace_map_lock -> mapping_lock -> buffer->mutex.
  const ring = RingBufferMapping.open({ cpu: 0 });
  ring.close();
  // The snapshot allocates and resizes its buffer, then swaps under trace_map_lock.
  cleanup.snapshot(topLevel);
  writeTraceFile(topLevel, 'snapshot', '1');
  writeTraceFile(topLevel, 'per_cpu/cpu0/snapshot', '1');
  setBufferSizeKb(topLevel, 128, 0);
  assert.equal(lockdepDebugLocks(), 1, 'lockdep reported a problem and turned itself off: see the console');
});

// ---------------------------------------------------------------------------
// GET_READER_PAGE against a trace_pipe reader

const FLOOD_LINE = /: tracing_mark_write: flood-(\d{8})$/;
const LOST_LINE = /\[LOST \d+ EVENTS\]$/;

traceTest('consumer lock: trace_pipe lines stay whole and in order while GET_READER_PAGE takes pages of the same CPU from another CPU under a marker flood', async ({ t, cleanup }) => {
  const durationMs = 8000;
  smallCpu0Ring(2);
  const flood = new ChildHelper('contender', ['flood', '0', String(durationMs)]);
  cleanup.add('stop the flood', () => flood.kill());
  const taker = new ChildHelper('contender', ['take-pages', '1', String(durationMs)]);
  cleanup.add('stop the page taker', () => taker.kill());
  await Promise.all([flood.waitFor(/started/), taker.waitFor(/started/)]);
  sys.setAffinity(1);
  const fd = cleanup.fd(openSync(perCpuPath(topLevel, 0, 'trace_pipe'), sys.constants.O_RDONLY | sys.constants.O_NONBLOCK));
  const problems: string[] = [];
  let lines = 0;
  let last = -1;
  let partial = '';
  const chunk = Buffer.alloc(65536);
  const deadline = Date.now() + durationMs + 500;
  while (Date.now() < deadline && problems.length < 10) {
    let bytes = 0;
    try {
      bytes = readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      if (!hasCode(error, 'EAGAIN')) throw error;
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    const text = partial + chunk.toString('utf8', 0, bytes);
    const split = text.split('\n');
    partial = split.pop() ?? '';
    for (const line of split) {
      if (line === '' || LOST_LINE.test(line)) continue;
      lines++;
      const match = FLOOD_LINE.exec(line);
      if (match === null) {
        problems.push(`torn line after flood-${last}: ${JSON.stringify(line)}`);
        continue;
      }
      const seq = Number(match[1]);
      if (seq <= last) problems.push(`flood-${match[1]} after flood-${String(last).padStart(8, '0')} (an event printed from a page handed over meanwhile)`);
      last = seq;
    }
  }
  const [floodResult, takerResult] = await Promise.all([flood.result(20_000), taker.result(20_000)]);
  assert.equal(floodResult.code, 0, describeChild(floodResult));
  assert.equal(takerResult.code, 0, describeChild(takerResult));
  const takerCounts = JSON.parse(/done (.*)/.exec(takerResult.stdout)?.[1] ?? '{}') as { taken?: number };
  t.diagnostic(`trace_pipe printed ${lines} flood lines while GET_READER_PAGE took ${takerCounts.taken ?? 0} pages`);
  assert.ok(lines > 100, `trace_pipe printed ${lines} flood lines`);
  assert.ok((takerCounts.taken ?? 0) > 10, `GET_READER_PAGE took ${takerCounts.taken ?? 0} pages`);
  assert.deepEqual(problems, [], `${lines} lines read, ${takerCounts.taken ?? 0} pages taken`);
});

// ---------------------------------------------------------------------------
// Seeded concurrency stress

const STRESS_WORKERS = 3;

/** The `done` line of a stress worker (helpers/stress-worker.ts). */
interface StressWorkerSummary {
  readonly steps?: number;
  readonly markersChecked?: number;
  readonly markersCheckedInPlace?: number;
  readonly faultsInjected?: number;
  readonly overtimeMs?: number;
  readonly counts?: Record<string, number>;
  readonly timeShares?: Record<string, number>;
  readonly slowest?: SlowestOperation;
  readonly thread?: {
    readonly steps?: number;
    readonly markersChecked?: number;
    readonly counts?: Record<string, number>;
    readonly slowest?: SlowestOperation;
  };
}

/** "tracer 5120 ms (ok function rbmap-stress-0)": where a slow guest's stress time went. */
function describeSlowest(slowest: SlowestOperation | undefined): string {
  return slowest === undefined ? '-' : `${slowest.name} ${slowest.ms} ms (${slowest.result})`;
}

const stressSeconds = Number(commandLineValue('stress_seconds') ?? '10');
const stressSeed = Number(commandLineValue('stress_seed') ?? String(Date.now() % 1_000_000_000));

traceTest(
  'stress: seeded workers (and a thread each) map, split, move, fork, take pages, resize, snapshot, reset, change clocks and tracers, hotplug a CPU, fail allocations and churn instances at once, and see only promised results',
  async ({ t, cleanup }) => {
    t.diagnostic(`stress ${stressSeconds} s, seed ${stressSeed}; replay: rbmap stress --seconds ${stressSeconds} --seed ${stressSeed}`);
    cleanup.snapshot(topLevel);
    const percent = readTraceFile(topLevel, 'buffer_percent');
    cleanup.add('restore buffer_percent', () => writeTraceFile(topLevel, 'buffer_percent', percent));
    const cpu1 = '/sys/devices/system/cpu/cpu1/online';
    cleanup.add('cpu1 back online', () => {
      if (existsSync(cpu1) && readFileSync(cpu1, 'utf8').trim() === '0') writeFileSync(cpu1, '1');
    });
    cleanup.add('function tracer off', () => {
      writeTraceFile(topLevel, 'current_tracer', 'nop');
      writeTraceFile(topLevel, 'set_ftrace_filter', '');
    });
    const workers = Array.from({ length: STRESS_WORKERS }, (_, worker) => {
      cleanup.instance(`rbmap-stress-${worker}`);
      const child = new ChildHelper('stress-worker', [String(stressSeed + worker), String(stressSeconds * 1000), String(worker)]);
      cleanup.add(`stop stress worker ${worker}`, () => child.kill());
      return child;
    });
    // A worker ends its last operation, its thread's, and its cleanup within a minute of its grace.
    const childLimitMs = STRESS_THREAD_START_MS + stressSeconds * 1000 + STRESS_GRACE_MS + 60_000;
    const results = await Promise.all(workers.map((child) => child.result(childLimitMs)));
    const failures = results.filter((result) => result.code !== 0).map(describeChild);
    assert.deepEqual(failures, [], `stress seed ${stressSeed}`);
    const done = results.map((result) => JSON.parse(/done (.*)/.exec(result.stdout)?.[1] ?? '{}') as StressWorkerSummary);
    const column = (of: (d: StressWorkerSummary) => number | undefined): string => done.map((d) => of(d) ?? 0).join(', ');
    t.diagnostic(
      `stress steps per worker: ${column((d) => d.steps)} (their threads: ${column((d) => d.thread?.steps)}); ` +
        `markers checked whole in read(), splice() and trace_pipe copies: ${column((d) => d.markersChecked)} ` +
        `(threads: ${column((d) => d.thread?.markersChecked)}), in place on reader pages: ${column((d) => d.markersCheckedInPlace)}; ` +
        `page allocations failed while mapping: ${column((d) => d.faultsInjected)}; ` +
        `ran past the duration (ms: its last operation, or reaching the floors): ${column((d) => d.overtimeMs)}; ` +
        `slowest operation per worker: ${done.map((d) => describeSlowest(d.slowest)).join('; ')} ` +
        `(threads: ${done.map((d) => describeSlowest(d.thread?.slowest)).join('; ')}); ` +
        `ms per operation: ${JSON.stringify(done.map((d) => d.timeShares ?? {}))}; ` +
        `operations: ${JSON.stringify(done.map((d) => d.counts ?? {}))}; thread operations: ${JSON.stringify(done.map((d) => d.thread?.counts ?? {}))}`,
    );
    const { workerSteps, threadSteps } = STRESS_FLOOR;
    assert.ok(done.every((d) => (d.steps ?? 0) >= workerSteps), `every worker ran ${workerSteps} steps (steps: ${column((d) => d.steps)})`);
    assert.ok(
      done.every((d) => (d.thread?.steps ?? 0) >= threadSteps),
      `every worker's thread ran ${threadSteps} steps (steps: ${column((d) => d.thread?.steps)})`,
    );
    if (stressSeconds >= 60 && existsSync('/sys/kernel/debug/fail_page_alloc')) {
      assert.ok((done[1]?.faultsInjected ?? 0) > 0, 'worker 1 made mappings while page allocations failed');
    }
    // Every mapping is gone: the whole buffer resizes again.
    setBufferSizeKb(topLevel, 64);
  },
  { timeout: STRESS_THREAD_START_MS + stressSeconds * 1000 + STRESS_GRACE_MS + 120_000 },
);

test('compat: a 32-bit process reaches both ioctls through compat_ioctl', { skip: 'needs a 32-bit binary and CONFIG_IA32_EMULATION in the guest; the rootfs has only the 64-bit Node.js' }, () => {});

// ---------------------------------------------------------------------------
// Allocation failure (debug variant: fault injection)

const FAIL_PAGE_ALLOC = '/sys/kernel/debug/fail_page_alloc';

/** Set fail_page_alloc knobs; returns a function that puts the old values back. */
function setFaultKnobs(knobs: Readonly<Record<string, string>>): () => void {
  const old = Object.keys(knobs).map((name) => [name, readFileSync(`${FAIL_PAGE_ALLOC}/${name}`, 'utf8').trim()] as const);
  for (const [name, value] of Object.entries(knobs)) writeFileSync(`${FAIL_PAGE_ALLOC}/${name}`, value);
  return () => {
    for (const [name, value] of old) writeFileSync(`${FAIL_PAGE_ALLOC}/${name}`, value);
  };
}

/** Kernel log records written from now on (/dev/kmsg, read to its end first). */
function kernelLogFromNow(): () => string {
  const fd = openSync('/dev/kmsg', sys.constants.O_RDONLY | sys.constants.O_NONBLOCK);
  const record = Buffer.alloc(8192);
  const drain = (): string => {
    let text = '';
    for (;;) {
      try {
        text += record.toString('utf8', 0, readSync(fd, record, 0, record.length, null));
      } catch (error) {
        if (hasCode(error, 'EAGAIN')) return text;
        if (hasCode(error, 'EPIPE')) continue; // records overwritten meanwhile
        throw error;
      }
    }
  };
  drain();
  return () => {
    try {
      return drain();
    } finally {
      closeSync(fd);
    }
  };
}

traceTest('allocation failure: mmap fails with ENOMEM when ring_buffer_map() cannot allocate, leaks no count, and the next mapping works', ({ t, cleanup }) => {
  if (!existsSync(FAIL_PAGE_ALLOC)) {
    t.skip('needs fault injection (fail_page_alloc in debugfs): run with --variant debug');
    return;
  }
  smallCpu0Ring(8);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0 }));
  const { PROT_READ, MAP_SHARED } = sys.constants;
  const pageSize = sys.pageSize();
  cleanup.add('fail_page_alloc knobs', setFaultKnobs({
    'task-filter': 'Y',
    'ignore-gfp-wait': 'N',
    // User pages (GFP_HIGHUSER) are spared: a page fault of this process must not use up the one failure.
    'ignore-gfp-highmem': 'Y',
    'min-order': '0',
    probability: '100',
    interval: '1',
    space: '0',
    verbose: '2',
    times: '1',
  }));
  const kernelLog = kernelLogFromNow();
  // The one injected failure can be used up by another page allocation of this thread on the
  // way (a new slab page for the VMA, after the stress): then the mmap succeeds. Unmap and try
  // again, a few times; ENOMEM from ring_buffer_map() must come.
  let outcome = 'not tried';
  for (let attempt = 1; attempt <= 5 && outcome !== 'ENOMEM'; attempt++) {
    writeFileSync(`${FAIL_PAGE_ALLOC}/times`, '1');
    let mapped: sys.Mapping | null = null;
    writeFileSync('/proc/thread-self/make-it-fail', '1');
    try {
      mapped = sys.mmap(fd, pageSize, PROT_READ, MAP_SHARED, 0);
      outcome = `mapped (attempt ${attempt})`;
    } catch (error) {
      if (!hasCode(error, 'ENOMEM')) throw error;
      outcome = 'ENOMEM';
    } finally {
      writeFileSync('/proc/thread-self/make-it-fail', '0');
      if (mapped !== null) sys.munmap(mapped);
    }
  }
  assert.equal(outcome, 'ENOMEM', 'mmap with the first page allocation failing: expected ENOMEM');
  const log = kernelLog();
  assert.match(log, /FAULT_INJECTION: forcing a failure/, 'the failure was injected');
  assert.match(log, /ring_buffer_map/, `the injected failure was in ring_buffer_map():\n${log.slice(0, 3000)}`);
  // No count was left behind: the file, the buffer and the trace array are unmapped.
  assertErrno(() => sys.ioctl(fd, TRACE_MMAP_IOCTL_UPDATE_META_PAGE), 'ENOTTY', 'UPDATE_META_PAGE after the failed mmap');
  setBufferSizeKb(topLevel, kbForRingPages(10), 0);
  cleanup.snapshot(topLevel);
  writeTraceFile(topLevel, 'per_cpu/cpu0/snapshot', '1');
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.mapFd(fd, 0));
  writeMarkers(topLevel, numberedMarkers('after-enomem', 30));
  assert.deepEqual(markersOf(new MappedConsumer(ring, formats()).drain().events), numberedMarkers('after-enomem', 30));
});
