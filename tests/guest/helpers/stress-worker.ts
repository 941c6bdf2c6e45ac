/**
 * Child process: one worker of the seeded concurrency stress.
 *
 *   node stress-worker.js <seed> <ms> <worker>
 *
 * Pinned to CPU (worker mod online CPUs), it draws operations from a PRNG seeded
 * with <seed> until <ms> have passed: map / unmap a CPU buffer (top level or its
 * own instance), GET_READER_PAGE then check the meta page and read the page,
 * UPDATE_META_PAGE, VMA splits (partial munmap, mprotect), MADV_DONTNEED,
 * MADV_DOFORK + fork, resize, snapshot, reset, trace_clock, buffer_percent,
 * tracing_on, markers with a checksum, read() and trace_pipe consumers that
 * check every marker's checksum, create and remove its instance, and (worker 0)
 * CPU 1 offline and online. Each operation accepts only the results the series
 * promises (a resize of a mapped buffer may fail with EBUSY, never with anything
 * else). The same seed replays the same operations. Prints `done <json>` (counts
 * per operation); on an unexpected result prints the seed, the failure and the
 * last operations, and exits 1.
 */
import { closeSync, existsSync, openSync, readSync, writeFileSync } from 'node:fs';
import { decodePage, markerText } from '../lib/decoder.js';
import { RingBufferMapping, hasCode, openTracePipeRaw } from '../lib/mapping.js';
import { metaInconsistencies, readMetaPage, type MetaPage } from '../lib/meta.js';
import * as sys from '../lib/sys.js';
import { formats, readAllPages } from '../lib/testing.js';
import {
  MarkerWriter,
  createInstance,
  instance,
  onlineCpus,
  perCpuPath,
  removeInstanceIfPresent,
  resetBuffer,
  setBufferSizeKb,
  setClock,
  setTracingOn,
  topLevel,
  writeTraceFile,
  type TraceArray,
} from '../lib/tracefs.js';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
sys.setAffinity(cpus[worker % cpus.length]!);

const instanceName = `rbmap-stress-${worker}`;
const history: string[] = [];
let markerCount = 0;
let markersChecked = 0;
const counts = new Map<string, number>();
const mappings: RingBufferMapping[] = [];

function expectOkOr(action: () => void, ...allowed: string[]): string {
  try {
    action();
    return 'ok';
  } catch (error) {
    for (const code of allowed) if (hasCode(error, code)) return code;
    throw error;
  }
}

function arrayToUse(): TraceArray {
  return existsSync(instance(instanceName).path) && random() < 0.5 ? instance(instanceName) : topLevel;
}

/**
 * The meta page as two equal reads in a row (other workers and readers swap
 * pages of the same buffer meanwhile); null if it never held still.
 */
function stableMeta(ring: RingBufferMapping): MetaPage | null {
  for (let attempt = 0; attempt < 5; attempt++) {
    const first = Buffer.from(new Uint8Array(ring.metaView().buffer, 0, ring.pageSize));
    const second = Buffer.from(new Uint8Array(ring.metaView().buffer, 0, ring.pageSize));
    if (first.equals(second)) return readMetaPage(new DataView(first.buffer, first.byteOffset, first.byteLength));
  }
  return null;
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

/** Markers carry their own checksum, so that a consumer can tell a whole one from a torn one. */
function markerChecksum(body: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < body.length; i++) hash = Math.imul(hash ^ body.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

function stressMarker(i: number): string {
  const body = `stress-${worker}-${i}`;
  return `${body}-${markerChecksum(body)}`;
}

/** Throws on a stress marker (of any worker) whose checksum does not match; returns how many were whole. */
function checkMarkers(texts: readonly string[], where: string): number {
  let whole = 0;
  for (const text of texts) {
    if (!text.startsWith('stress-')) continue;
    const match = /^(stress-\d+-\d+)-([0-9a-f]{8})$/.exec(text);
    if (match === null || markerChecksum(match[1]!) !== match[2]) throw new Error(`${where}: torn marker ${JSON.stringify(text)}`);
    whole++;
  }
  markersChecked += whole;
  return whole;
}

/** read() of a CPU's trace_pipe_raw (copies, under the buffer's locks): decode and check each marker. */
function readRawPages(array: TraceArray, cpu: number): number {
  const fd = openTracePipeRaw({ cpu, instance: array.name, nonBlocking: true });
  let data: Buffer;
  try {
    data = readAllPages(fd, 8);
  } finally {
    closeSync(fd);
  }
  const { layouts, lookup } = formats();
  let whole = 0;
  for (let at = 0; at + pageSize <= data.length; at += pageSize) {
    const { events } = decodePage(new DataView(data.buffer, data.byteOffset + at, pageSize), layouts, lookup);
    whole += checkMarkers(events.map((event) => markerText(event) ?? ''), `read() of cpu${cpu}`);
  }
  return whole;
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

const pageSize = sys.pageSize();

type Operation = () => string;

const operations: Record<string, Operation> = {
  map: () => {
    if (mappings.length >= 4) return 'enough';
    const array = arrayToUse();
    const cpu = pick(cpus);
    mappings.push(RingBufferMapping.open({ cpu, instance: array.name }));
    return `${array.name ?? 'top'} cpu${cpu}`;
  },
  unmap: () => {
    const ring = mappings.splice(Math.floor(random() * mappings.length), 1)[0];
    ring?.close();
    return ring === undefined ? 'none' : `cpu${ring.cpu}`;
  },
  takePage: () => {
    const ring = mappings.length > 0 ? pick(mappings) : undefined;
    if (ring === undefined) return 'none';
    if (!ring.getReaderPage()) return 'EAGAIN';
    const meta = stableMeta(ring);
    const problems = meta === null ? [] : metaInconsistencies(meta);
    if (problems.length > 0) throw new Error(`meta page after a hand-over: ${problems.join('; ')}`);
    const view = ring.readerPageView();
    let sum = 0;
    for (let at = 0; at < view.byteLength; at += 64) sum += view.getUint8(at);
    return `page ${ring.meta().readerPage} (${sum})`;
  },
  updateMeta: () => {
    const ring = mappings.length > 0 ? pick(mappings) : undefined;
    if (ring === undefined) return 'none';
    // Other workers swap pages of the same buffer meanwhile: only this call's result is checked.
    return `entries ${ring.updateMeta().entries}`;
  },
  resize: () => {
    const array = arrayToUse();
    const kb = pick([8, 16, 32, 64]);
    const cpu = random() < 0.5 ? pick(cpus) : undefined;
    return expectOkOr(() => setBufferSizeKb(array, kb, cpu), 'EBUSY') + ` ${kb} KB${cpu === undefined ? '' : ` cpu${cpu}`}`;
  },
  snapshot: () => {
    const array = arrayToUse();
    const file = random() < 0.5 ? 'snapshot' : `per_cpu/cpu${pick(cpus)}/snapshot`;
    return expectOkOr(() => writeTraceFile(array, file, pick(['1', '1', '0', '2'])), 'EBUSY', 'EINVAL') + ` ${file}`;
  },
  split: () =>
    withFreshMapping((ring) => {
      // Unmap one page in the middle: three VMAs' worth of counts, then the rest.
      const { addr, length } = ring.mapping;
      const page = BigInt(ring.pageSize);
      sys.munmapRange(addr + 2n * page, ring.pageSize);
      sys.munmapRange(addr, 2 * ring.pageSize);
      sys.munmapRange(addr + 3n * page, length - 3 * ring.pageSize);
      ring.forgetUnmappedRange();
      return 'ok';
    }),
  mprotect: () =>
    withFreshMapping((ring) => {
      sys.mprotect(ring.mapping.addr + BigInt(ring.pageSize), ring.pageSize, sys.constants.PROT_NONE);
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
    const clock = pick(['local', 'global', 'mono']);
    setClock(arrayToUse(), clock);
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
  hotplug: () => {
    if (!canHotplug) return 'not this worker';
    setCpu1Online(false);
    setCpu1Online(true);
    return 'cpu1 off and on';
  },
  readRaw: () => `${readRawPages(arrayToUse(), pick(cpus))} whole markers`,
  readPipe: () => {
    const whole = readPipeText(arrayToUse(), pick(cpus));
    return whole === 'EBUSY' ? 'EBUSY' : `${whole} whole markers`;
  },
  reset: () => {
    resetBuffer(arrayToUse());
    return 'ok';
  },
  markers: () => {
    const writer = new MarkerWriter(topLevel);
    let refused = 0;
    try {
      // trace_marker refuses a write with EBADF while a reset, resize or swap has recording off.
      for (let i = 0; i < 50; i++) if (expectOkOr(() => writer.write(stressMarker(markerCount++)), 'EBADF') !== 'ok') refused++;
    } finally {
      writer.close();
    }
    return `${50 - refused} written, ${refused} EBADF`;
  },
  instance: () => {
    if (existsSync(instance(instanceName).path)) {
      return expectOkOr(() => removeInstanceIfPresent(instanceName), 'EBUSY') + ' rmdir';
    }
    createInstance(instanceName);
    return 'mkdir';
  },
};

const names = Object.keys(operations);
const deadline = Date.now() + durationMs;
let step = 0;
try {
  while (Date.now() < deadline) {
    const name = pick(names);
    const result = operations[name]!();
    history.push(`${step++} ${name}: ${result}`);
    if (history.length > 20) history.shift();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const ring of mappings.splice(0)) ring.close();
  removeInstanceIfPresent(instanceName);
  setTracingOn(topLevel, true);
  process.stdout.write(`done ${JSON.stringify({ worker, seed, steps: step, markersChecked, counts: Object.fromEntries(counts) })}\n`);
} catch (error) {
  process.stdout.write(
    `failed worker ${worker} seed ${seed} at step ${step}: ${error instanceof Error ? error.message : String(error)}\n` +
      `last operations:\n${history.join('\n')}\n`,
  );
  process.exit(1);
}
