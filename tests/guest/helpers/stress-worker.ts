/**
 * Child process: one worker of the seeded concurrency stress.
 *
 *   node stress-worker.js <seed> <ms> <worker>
 *
 * Pinned to CPU (worker mod online CPUs), it draws operations from a PRNG seeded
 * with <seed> until <ms> have passed, counted from its thread's start (on a
 * slow guest, on until it and its thread reach STRESS_FLOOR, for at most
 * STRESS_GRACE_MS more): map / unmap a CPU buffer (top level or its own
 * instance), GET_READER_PAGE then check the meta page (and, on its own
 * instance, where it is the only consumer, every marker of the page in place
 * and counters that never go backwards), UPDATE_META_PAGE, VMA splits (partial
 * munmap, mprotect, mremap shrink and move), MADV_DONTNEED, MADV_DOFORK + fork,
 * resize, snapshot, reset, trace_clock, buffer_percent, tracing_on, the function
 * tracer, markers with a checksum, read() and trace_pipe consumers that check
 * every marker's checksum, create and remove its instance, (worker 0) CPU 1
 * offline and online, and (worker 1, with fault injection) mappings made while
 * the thread's kernel page allocations fail. A worker thread meanwhile waits in
 * poll() and takes pages, read()s and splice()s. Each operation accepts only the
 * results the series promises (a resize of a mapped buffer may fail with EBUSY,
 * or with ENOMEM as on 6.1 when the mapping is gone by the time it fails; never
 * with anything else). The same seed replays the same operations. Prints
 * `done <json>` (counts per operation); on an unexpected result prints the seed,
 * the failure and the last operations (each with its time), and exits 1.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import {
  createInstance,
  dataBytesPerPage,
  hasCode,
  instance,
  onlineCpus,
  openTracePipeRaw,
  perCpuPath,
  readTraceFile,
  removeInstanceIfPresent,
  resetBuffer,
  RingBufferMapping,
  setBufferSizeKb,
  setClock,
  setTracingOn,
  sys,
  topLevel,
  type TraceArray,
  writeTraceFile,
} from '../../../reader/index.js';
import {
  OperationLog,
  STRESS_FLOOR,
  STRESS_GRACE_MS,
  STRESS_THREAD_START_MS,
  StressControl,
  countWholeMarkers,
  countWholeMarkersInPages,
  countWholeMarkersOnPage,
  expectOkOr,
  pinToCpu,
  prng,
  settledMetaProblems,
  stressMarker,
} from '../lib/stress.js';
import { MarkerWriter } from '../lib/markers.js';
import { readAllPages } from '../lib/ring.js';
import type { StressThreadData, StressThreadReport } from './stress-thread.js';

const [seedText, msText, workerText] = process.argv.slice(2);
const seed = Number(seedText);
const durationMs = Number(msText);
const worker = Number(workerText);
if (!Number.isInteger(seed) || !Number.isInteger(durationMs) || !Number.isInteger(worker)) {
  process.stderr.write('usage: stress-worker.js <seed> <ms> <worker>\n');
  process.exit(64);
}

const random = prng(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const cpus = onlineCpus();
const ownCpu = cpus[worker % cpus.length]!;
pinToCpu(ownCpu);
const pageSize = sys.pageSize();
const page = BigInt(pageSize);

const instanceName = `rbmap-stress-${worker}`;
const ownInstance = instance(instanceName);
const log = new OperationLog();
let markerCount = 0;
let markersChecked = 0;
let markersCheckedInPlace = 0;
let faultsInjected = 0;

interface HeldMapping {
  readonly ring: RingBufferMapping;
  /** On this worker's own instance: no other consumer, so its reader page holds still. */
  readonly own: boolean;
}
const mappings: HeldMapping[] = [];

/**
 * The monotonic counters last seen per CPU of the worker's own instance;
 * forgotten whenever an operation resets that buffer (reset, clock, tracer, swap).
 */
const lastCounters = new Map<number, { overrun: bigint; pagesTouched: number }>();

function ownInstanceExists(): boolean {
  return existsSync(ownInstance.path);
}

function arrayToUse(): TraceArray {
  return ownInstanceExists() && random() < 0.5 ? ownInstance : topLevel;
}

function forgetCountersIfOwn(array: TraceArray, result: string): void {
  if (array.name === instanceName && result.startsWith('ok')) lastCounters.clear();
}

/** Map a CPU buffer, do something to its VMA, unmap all of it. */
function withFreshMapping(what: (ring: RingBufferMapping) => string): string {
  const array = arrayToUse();
  const ring = RingBufferMapping.open({ cpu: pick(cpus), instance: array.name });
  try {
    return what(ring);
  } finally {
    ring.close();
  }
}

const cpuHotplugPath = '/sys/devices/system/cpu/cpu1/online';
const canHotplug = worker === 0 && cpus.includes(1) && existsSync(cpuHotplugPath);

function setCpu1Online(online: boolean): void {
  writeFileSync(cpuHotplugPath, online ? '1' : '0');
}

function checkMarkers(texts: readonly string[], where: string): number {
  const whole = countWholeMarkers(texts, where);
  markersChecked += whole;
  return whole;
}

/**
 * read() of a CPU's trace_pipe_raw (copies, under the buffer's locks): decode and check each
 * marker. Says how long the open and the reads took (on a slow guest, where the time went).
 */
function readRawPages(array: TraceArray, cpu: number): string {
  const start = performance.now();
  const fd = openTracePipeRaw({ cpu, instance: array.name, nonBlocking: true });
  const opened = performance.now();
  let data: Buffer;
  try {
    data = readAllPages(fd, 8);
  } finally {
    closeSync(fd);
  }
  const read = performance.now();
  const whole = countWholeMarkersInPages(data, pageSize, `read() of cpu${cpu}`);
  markersChecked += whole;
  const pages = Math.ceil(data.length / pageSize);
  return `${whole} whole markers (open ${Math.round(opened - start)} ms, ${pages} pages read and closed in ${Math.round(read - opened)} ms)`;
}

/** A CPU's trace_pipe text (formatted under the consumer lock): check each marker line; EBUSY if another reader has it open. */
function readPipeText(array: TraceArray, cpu: number): number | 'EBUSY' {
  let fd: number;
  try {
    fd = openSync(perCpuPath(array, cpu, 'trace_pipe'), sys.constants.O_RDONLY | sys.constants.O_NONBLOCK);
  } catch (error) {
    // One trace_pipe reader per CPU: another worker has this one open.
    if (hasCode(error, 'EBUSY')) return 'EBUSY';
    throw error;
  }
  const chunk = Buffer.alloc(16384);
  let text = '';
  try {
    for (let n = 0; n < 4; n++) {
      try {
        text += chunk.toString('utf8', 0, readSync(fd, chunk, 0, chunk.length, null));
      } catch (error) {
        if (hasCode(error, 'EAGAIN')) break;
        throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  const lines = text.split('\n').slice(0, -1); // the last one may be cut by the read size
  return checkMarkers(lines.map((line) => / (stress-\S*)$/.exec(line)?.[1] ?? ''), `trace_pipe of cpu${cpu}`);
}

/** After a hand-over on the own instance: counters of that CPU never go backwards. */
function checkCountersMonotonic(ring: RingBufferMapping): void {
  const meta = ring.meta();
  const last = lastCounters.get(ring.cpu);
  if (last !== undefined && (meta.overrun < last.overrun || meta.pagesTouched < last.pagesTouched)) {
    throw new Error(
      `cpu${ring.cpu} of ${instanceName}: counters went backwards (overrun ${last.overrun} -> ${meta.overrun}, ` +
        `pages_touched ${last.pagesTouched} -> ${meta.pagesTouched})`,
    );
  }
  lastCounters.set(ring.cpu, { overrun: meta.overrun, pagesTouched: meta.pagesTouched });
}

// ---------------------------------------------------------------------------
// Allocation failures while mapping (worker 1, debug variant)

const FAIL_PAGE_ALLOC = '/sys/kernel/debug/fail_page_alloc';
const canInjectFaults = worker === 1 && existsSync(FAIL_PAGE_ALLOC);

function writeFaultKnob(name: string, value: string): void {
  writeFileSync(`${FAIL_PAGE_ALLOC}/${name}`, value);
}

/**
 * Turn injection off. The write itself can meet one of the failures still
 * armed (it may allocate a page): each failure uses one of `times` up, so a
 * few tries always get through.
 */
function stopInjecting(): void {
  for (let attempt = 0; ; attempt++) {
    try {
      writeFaultKnob('probability', '0');
      writeFileSync('/proc/thread-self/make-it-fail', '0');
      return;
    } catch (error) {
      if (attempt >= 5 || !hasCode(error, 'ENOMEM')) throw error;
    }
  }
}

/**
 * Map a CPU (its meta page, one mmap() call) while the next 1 to 3 kernel page
 * allocations of this thread fail (fail_page_alloc; user-space pages are
 * spared, so Node's own faults go on): ENOMEM, or a mapping whose meta page is
 * sane; then a mapping of the same CPU that works. Only the mmap() is inside
 * the window: a munmap() there can itself fail with ENOMEM (the maple tree
 * preallocates) and would leave a mapping behind.
 */
function mapUnderFaults(): string {
  if (!canInjectFaults) return 'not this worker';
  const times = 1 + Math.floor(random() * 3);
  for (const [name, value] of Object.entries({
    'task-filter': 'Y',
    'ignore-gfp-wait': 'N',
    'ignore-gfp-highmem': 'Y',
    'min-order': '0',
    interval: '1',
    space: '0',
    verbose: '0',
    times: String(times),
    probability: '100',
  })) {
    writeFaultKnob(name, value);
  }
  const array = arrayToUse();
  const cpu = pick(cpus);
  const fd = openTracePipeRaw({ cpu, instance: array.name });
  let outcome: string;
  try {
    let meta: bigint | undefined;
    writeFileSync('/proc/thread-self/make-it-fail', '1');
    try {
      meta = sys.mmapRaw(0n, page, sys.constants.PROT_READ, sys.constants.MAP_SHARED, fd, 0n);
      outcome = 'mapped';
    } catch (error) {
      if (!hasCode(error, 'ENOMEM')) throw error;
      outcome = 'ENOMEM';
    } finally {
      stopInjecting();
    }
    if (meta !== undefined) {
      try {
        const problems = settledMetaProblems(new DataView(sys.viewOf(meta, pageSize)), { pageSize, pageDataCapacity: dataBytesPerPage() });
        if (problems.length > 0) throw new Error(`meta page of a mapping made under faults: ${problems.join('; ')}`);
      } finally {
        sys.munmapRange(meta, pageSize);
      }
    }
  } finally {
    closeSync(fd);
  }
  const injected = times - Number(readFileSync(`${FAIL_PAGE_ALLOC}/times`, 'utf8').trim());
  faultsInjected += injected;
  RingBufferMapping.open({ cpu, instance: array.name }).close();
  return `${outcome} (${injected} of ${times} failed) ${array.name ?? 'top'} cpu${cpu}`;
}

// ---------------------------------------------------------------------------

/*
 * Functions the function tracer is limited to. Not the write and mmap paths every worker runs
 * all the time: under TCG a guest once died of an int3 at ksys_write+1 on both vCPUs while the
 * tracer was switched with the filter ksys_* (ftrace's live patching of a call site the other
 * vCPU was executing; 2026-12-02, not reproduced yet).
 */
const FTRACE_FILTERS = ['do_sys_open*', '*sched_setaffinity*', '*cpu_down*'];

type Operation = () => string;

const operations: Record<string, Operation> = {
  map: () => {
    if (mappings.length >= 4) return 'enough';
    const array = arrayToUse();
    const cpu = pick(cpus);
    mappings.push({ ring: RingBufferMapping.open({ cpu, instance: array.name }), own: array.name === instanceName });
    return `${array.name ?? 'top'} cpu${cpu}`;
  },
  unmap: () => {
    const held = mappings.splice(Math.floor(random() * mappings.length), 1)[0];
    held?.ring.close();
    return held === undefined ? 'none' : `cpu${held.ring.cpu}`;
  },
  takePage: () => {
    const held = mappings.length > 0 ? pick(mappings) : undefined;
    if (held === undefined) return 'none';
    const { ring, own } = held;
    if (!ring.getReaderPage()) return 'EAGAIN';
    const problems = settledMetaProblems(ring.metaView(), ring.geometry);
    if (problems.length > 0) throw new Error(`meta page after a hand-over: ${problems.join('; ')}`);
    if (!own) return `page ${ring.meta().readerPage}`;
    checkCountersMonotonic(ring);
    const whole = countWholeMarkersOnPage(ring.readerPageView(), `reader page of cpu${ring.cpu} of ${instanceName}, in place`);
    markersCheckedInPlace += whole;
    return `page ${ring.meta().readerPage}, ${whole} whole markers in place`;
  },
  updateMeta: () => {
    const held = mappings.length > 0 ? pick(mappings) : undefined;
    if (held === undefined) return 'none';
    // Other workers swap pages of the same buffer meanwhile: only this call's result is checked.
    return `entries ${held.ring.updateMeta().entries}`;
  },
  resize: () => {
    const array = arrayToUse();
    const kb = pick([8, 16, 32, 64]);
    const cpu = random() < 0.5 ? pick(cpus) : undefined;
    // EBUSY while a CPU buffer of the array is mapped; ENOMEM (6.1's answer to any refused
    // resize) when the last mapping of another worker went away just after the refusal.
    return expectOkOr(() => setBufferSizeKb(array, kb, cpu), 'EBUSY', 'ENOMEM') + ` ${kb} KB${cpu === undefined ? '' : ` cpu${cpu}`}`;
  },
  snapshot: () => {
    const array = arrayToUse();
    const file = random() < 0.5 ? 'snapshot' : `per_cpu/cpu${pick(cpus)}/snapshot`;
    const result = expectOkOr(() => writeTraceFile(array, file, pick(['1', '1', '0', '2'])), 'EBUSY', 'EINVAL');
    forgetCountersIfOwn(array, result);
    return `${result} ${file}`;
  },
  split: () =>
    withFreshMapping((ring) => {
      // Unmap one page in the middle: three VMAs' worth of counts, then the rest.
      const { addr, length } = ring.mapping;
      sys.munmapRange(addr + 2n * page, pageSize);
      sys.munmapRange(addr, 2 * pageSize);
      sys.munmapRange(addr + 3n * page, length - 3 * pageSize);
      ring.forgetUnmappedRange();
      return 'ok';
    }),
  mprotect: () =>
    withFreshMapping((ring) => {
      sys.mprotect(ring.mapping.addr + page, pageSize, sys.constants.PROT_NONE);
      return 'ok';
    }),
  mremapShrink: () =>
    withFreshMapping((ring) => {
      const { addr, length } = ring.mapping;
      if (sys.mremap(addr, length, 2 * pageSize, 0) !== addr) throw new Error('a shrinking mremap() moved the mapping');
      sys.munmapRange(addr, 2 * pageSize);
      ring.forgetUnmappedRange();
      return 'ok';
    }),
  mremapMove: () =>
    withFreshMapping((ring) => {
      const { PROT_NONE, MAP_PRIVATE, MAP_ANONYMOUS, MREMAP_MAYMOVE, MREMAP_FIXED } = sys.constants;
      const { addr, length } = ring.mapping;
      const reserved = sys.mmapRaw(0n, BigInt(length), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
      const moved = sys.mremap(addr, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, reserved);
      ring.forgetUnmappedRange();
      try {
        if (moved !== reserved) throw new Error('mremap(MREMAP_FIXED) placed the mapping elsewhere');
        const problems = settledMetaProblems(new DataView(sys.viewOf(moved, ring.metaPageSize)), ring.geometry);
        if (problems.length > 0) throw new Error(`meta page of a moved mapping: ${problems.join('; ')}`);
      } finally {
        sys.munmapRange(moved, length);
      }
      return 'ok';
    }),
  dontneed: () =>
    withFreshMapping((ring) => {
      const before = ring.meta().nrDataPages;
      sys.madvise(ring.mapping.addr, ring.mapping.length, sys.constants.MADV_DONTNEED);
      if (ring.meta().nrDataPages !== before) throw new Error('nr_data_pages changed across MADV_DONTNEED');
      return 'ok';
    }),
  dofork: () =>
    withFreshMapping((ring) => {
      sys.madvise(ring.mapping.addr, ring.mapping.length, sys.constants.MADV_DOFORK);
      if (!sys.forkProbe(ring.mapping.addr, ring.mapping.length)) throw new Error('a MADV_DOFORK child did not inherit the mapping');
      return 'ok';
    }),
  clock: () => {
    const array = arrayToUse();
    const clock = pick(['local', 'global', 'mono']);
    setClock(array, clock);
    forgetCountersIfOwn(array, 'ok');
    return clock;
  },
  percent: () => {
    const percent = pick([0, 1, 50, 100]);
    writeTraceFile(arrayToUse(), 'buffer_percent', `${percent}\n`);
    return String(percent);
  },
  tracingOn: () => {
    const on = random() < 0.7;
    setTracingOn(arrayToUse(), on);
    return on ? 'on' : 'off';
  },
  tracer: () => {
    const array = arrayToUse();
    const tracer = random() < 0.5 ? 'function' : 'nop';
    if (tracer === 'function') writeTraceFile(array, 'set_ftrace_filter', pick(FTRACE_FILTERS));
    // A tracer cannot change while a trace_pipe(_raw) file of the array is open (every mapping holds one).
    const result = expectOkOr(() => writeTraceFile(array, 'current_tracer', tracer), 'EBUSY');
    forgetCountersIfOwn(array, result);
    return `${result} ${tracer} ${array.name ?? 'top'}`;
  },
  hotplug: () => {
    if (!canHotplug) return 'not this worker';
    setCpu1Online(false);
    setCpu1Online(true);
    return 'cpu1 off and on';
  },
  mapUnderFaults,
  readRaw: () => readRawPages(arrayToUse(), pick(cpus)),
  readPipe: () => {
    const whole = readPipeText(arrayToUse(), pick(cpus));
    return whole === 'EBUSY' ? 'EBUSY' : `${whole} whole markers`;
  },
  reset: () => {
    const array = arrayToUse();
    resetBuffer(array);
    forgetCountersIfOwn(array, 'ok');
    return 'ok';
  },
  markers: () => {
    const array = arrayToUse();
    const writer = new MarkerWriter(array);
    let refused = 0;
    try {
      // trace_marker refuses a write with EBADF while a reset, resize or swap has recording off.
      for (let i = 0; i < 50; i++) if (expectOkOr(() => writer.write(stressMarker(worker, markerCount++)), 'EBADF') !== 'ok') refused++;
    } finally {
      writer.close();
    }
    return `${50 - refused} written, ${refused} EBADF, ${array.name ?? 'top'}`;
  },
  instance: () => {
    if (ownInstanceExists()) {
      const result = expectOkOr(() => removeInstanceIfPresent(instanceName), 'EBUSY');
      if (result === 'ok') lastCounters.clear();
      return `${result} rmdir`;
    }
    createInstance(instanceName);
    return 'mkdir';
  },
};

if (readTraceFile(topLevel, 'available_tracers').split(/\s+/).includes('function') === false) {
  process.stdout.write('failed: the kernel has no function tracer (CONFIG_FUNCTION_TRACER, config/tracing.config)\n');
  process.exit(1);
}

const control = new StressControl();
const thread = new Worker(new URL('./stress-thread.js', import.meta.url), {
  workerData: { seed: seed ^ 0x5bd1e995, control: control.buffer, cpu: cpus[(worker + 1) % cpus.length]! } satisfies StressThreadData,
});
const threadReport = new Promise<StressThreadReport>((resolve, reject) => {
  thread.once('message', (report: StressThreadReport) => resolve(report));
  thread.once('error', reject);
  thread.once('exit', (code) => reject(new Error(`the worker thread exited (code ${code}) without a report`)));
});

if (!control.waitForThread(STRESS_THREAD_START_MS)) {
  process.stdout.write(`failed worker ${worker} seed ${seed}: its worker thread did not start within ${STRESS_THREAD_START_MS} ms\n`);
  process.exit(1);
}
const names = Object.keys(operations);
const deadline = Date.now() + durationMs;
const graceDeadline = deadline + STRESS_GRACE_MS;

/** Past the duration, go on only while this worker or its thread is short of its floor. */
function keepGoing(): boolean {
  const now = Date.now();
  if (now < deadline) return true;
  return now < graceDeadline && (log.steps < STRESS_FLOOR.workerSteps || !control.threadHasDoneEnough(STRESS_FLOOR.threadSteps));
}

let overtimeMs = 0;
try {
  while (keepGoing()) {
    const name = pick(names);
    log.run(name, operations[name]!);
  }
  overtimeMs = Math.max(0, Date.now() - deadline);
  control.stop();
  for (const held of mappings.splice(0)) held.ring.close();
  try {
    removeInstanceIfPresent(instanceName);
  } catch (error) {
    // Say what still holds the instance: a mapping of this process, or an open file.
    const maps = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.includes('tracing'));
    throw new Error(`${error instanceof Error ? error.message : String(error)}; this process's tracefs mappings: ${JSON.stringify(maps)}`);
  }
  setTracingOn(topLevel, true);
} catch (error) {
  process.stdout.write(
    `failed worker ${worker} seed ${seed} at step ${log.steps}: ${error instanceof Error ? error.message : String(error)}\n` +
      `last operations:\n${log.last()}\n`,
  );
  process.exit(1);
}
const report = await threadReport.catch((error: unknown): StressThreadReport => ({ failed: String(error) }));
if ('failed' in report) {
  process.stdout.write(`failed worker ${worker} seed ${seed}: ${report.failed}\nlast operations of the main thread:\n${log.last()}\n`);
  process.exit(1);
}
process.stdout.write(
  `done ${JSON.stringify({
    worker,
    seed,
    steps: log.steps,
    markersChecked,
    markersCheckedInPlace,
    faultsInjected,
    overtimeMs,
    counts: Object.fromEntries(log.counts),
    timeShares: log.timeShares(),
    slowest: log.slowest,
    thread: report.done,
  })}\n`,
);
await thread.terminate();
