/**
 * tracefs access: paths of the top level and of instances, per-CPU files,
 * reading and writing control files, buffer sizes, clocks, markers, reset.
 *
 * Every write is synchronous (node:fs *Sync), so it runs on the calling thread and
 * therefore on the CPU that thread is pinned to: trace_marker events land in the
 * per-CPU buffer of that CPU.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseHeaderPage } from './format.js';

export const TRACEFS_ROOT = '/sys/kernel/tracing';

/** One trace array: the top level (name null) or an instance under instances/. */
export interface TraceArray {
  readonly name: string | null;
  readonly path: string;
}

export const topLevel: TraceArray = { name: null, path: TRACEFS_ROOT };

export function instance(name: string): TraceArray {
  return { name, path: join(TRACEFS_ROOT, 'instances', name) };
}

/** `name` null or undefined is the top level. */
export function traceArray(name?: string | null): TraceArray {
  return name === undefined || name === null ? topLevel : instance(name);
}

export function tracePath(array: TraceArray, relative: string): string {
  return join(array.path, relative);
}

export function perCpuPath(array: TraceArray, cpu: number, file: string): string {
  return join(array.path, 'per_cpu', `cpu${cpu}`, file);
}

export function readTraceFile(array: TraceArray, relative: string): string {
  return readFileSync(tracePath(array, relative), 'utf8');
}

/**
 * Write a control file with one write(2) (what `echo value > file` does, without
 * the shell). Errors are node:fs errors: `code` is e.g. 'EBUSY'.
 */
export function writeTraceFile(array: TraceArray, relative: string, value: string): void {
  writeWholeFile(tracePath(array, relative), value);
}

export function writePerCpuFile(array: TraceArray, cpu: number, file: string, value: string): void {
  writeWholeFile(perCpuPath(array, cpu, file), value);
}

function writeWholeFile(path: string, value: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

/** CPUs listed in /sys/devices/system/cpu/online ("0-1", "0,2-3"). */
export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}

export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [first, last] = part.split('-');
    const from = Number(first);
    const to = last === undefined ? from : Number(last);
    if (!Number.isInteger(from) || !Number.isInteger(to)) {
      throw new Error(`bad CPU list: ${JSON.stringify(text)}`);
    }
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** CPUs that have a per_cpu/cpuN directory in this trace array. */
export function perCpuDirectories(array: TraceArray): number[] {
  return readdirSync(join(array.path, 'per_cpu'))
    .filter((entry) => /^cpu\d+$/.test(entry))
    .map((entry) => Number(entry.slice(3)))
    .sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------
// Instances

export function instanceExists(name: string): boolean {
  return existsSync(instance(name).path);
}

export function createInstance(name: string): TraceArray {
  mkdirSync(instance(name).path);
  return instance(name);
}

/** rmdir of the instance; throws the fs error (e.g. EBUSY while mapped). */
export function removeInstance(name: string): void {
  rmdirSync(instance(name).path);
}

/** Remove the instance if it exists; never throws for a missing one. */
export function removeInstanceIfPresent(name: string): void {
  if (instanceExists(name)) removeInstance(name);
}

// ---------------------------------------------------------------------------
// Buffer sizes

/** What a buffer_size_kb file says: a size, or "X" when the CPUs differ. */
export interface BufferSize {
  /** Size in KiB, null when the top-level file says "X" (per-CPU sizes differ). */
  kb: number | null;
  /** The "(expanded: N)" value when the buffer was never expanded. */
  expandedKb: number | null;
}

export function parseBufferSizeKb(text: string): BufferSize {
  const trimmed = text.trim();
  if (trimmed === 'X') return { kb: null, expandedKb: null };
  const match = /^(\d+)(?: \(expanded: (\d+)\))?$/.exec(trimmed);
  if (match === null) throw new Error(`unexpected buffer_size_kb content: ${JSON.stringify(text)}`);
  return { kb: Number(match[1]), expandedKb: match[2] === undefined ? null : Number(match[2]) };
}

export function readBufferSizeKb(array: TraceArray, cpu?: number): BufferSize {
  const path = cpu === undefined ? tracePath(array, 'buffer_size_kb') : perCpuPath(array, cpu, 'buffer_size_kb');
  return parseBufferSizeKb(readFileSync(path, 'utf8'));
}

/** Per-CPU size in KiB (per-CPU files always hold a plain number). */
export function perCpuBufferSizeKb(array: TraceArray, cpu: number): number {
  const size = readBufferSizeKb(array, cpu);
  if (size.kb === null) throw new Error(`per-CPU buffer_size_kb of cpu${cpu} has no number`);
  return size.kb;
}

export function setBufferSizeKb(array: TraceArray, kb: number, cpu?: number): void {
  if (cpu === undefined) writeTraceFile(array, 'buffer_size_kb', `${kb}\n`);
  else writePerCpuFile(array, cpu, 'buffer_size_kb', `${kb}\n`);
}

/**
 * The top-level buffers stay minimal from boot until tracing is first used; buffer_size_kb
 * then says "N (expanded: M)". Write M, as enabling an event would. Returns whether it did.
 * Instances are created at full size (their buffer_size_kb shows the same global
 * "(expanded: M)" until then, and a write there would mark the top level expanded too).
 */
export function expandTopLevelIfNeverExpanded(): boolean {
  const { expandedKb } = readBufferSizeKb(topLevel);
  if (expandedKb === null) return false;
  setBufferSizeKb(topLevel, expandedKb);
  return true;
}

let pagePayloadOfThisKernel: number | null = null;

/**
 * Payload of a ring-buffer data page on the running kernel (BUF_PAGE_SIZE: the page
 * less its header; 4080 bytes with 4 KiB pages, 65520 with 64 KiB), read once from
 * the data field of events/header_page.
 */
export function dataBytesPerPage(): number {
  pagePayloadOfThisKernel ??= parseHeaderPage(readFileSync(join(TRACEFS_ROOT, 'events', 'header_page'), 'utf8')).dataCapacity;
  return pagePayloadOfThisKernel;
}

/**
 * Ring pages the kernel allocates for buffer_size_kb = kb:
 * DIV_ROUND_UP(kb * 1024, BUF_PAGE_SIZE), at least 2 (ring_buffer_resize()).
 */
export function ringPagesForKb(kb: number, payload: number = dataBytesPerPage()): number {
  return Math.max(2, Math.ceil((kb * 1024) / payload));
}

/**
 * What buffer_size_kb reads back for a ring of `pages` pages: the kernel shows
 * pages * BUF_PAGE_SIZE >> 10, not the value written.
 */
export function kbShownForRingPages(pages: number, payload: number = dataBytesPerPage()): number {
  return Math.floor((pages * payload) / 1024);
}

/** Smallest buffer_size_kb that gives exactly `pages` ring pages. */
export function kbForRingPages(pages: number, payload: number = dataBytesPerPage()): number {
  const kb = Math.floor(((pages - 1) * payload) / 1024) + 1;
  if (ringPagesForKb(kb, payload) !== pages) {
    throw new Error(`no buffer_size_kb gives exactly ${pages} pages`);
  }
  return kb;
}

// ---------------------------------------------------------------------------
// Markers, switches, reset

/** Write each marker with its own write(2) through one open trace_marker. */
export function writeMarkers(array: TraceArray, markers: readonly string[]): void {
  const fd = openSync(tracePath(array, 'trace_marker'), 'w');
  try {
    for (const marker of markers) writeSync(fd, marker);
  } finally {
    closeSync(fd);
  }
}

/** `echo > trace`: clears every CPU buffer of the trace array (open with O_TRUNC). */
export function resetBuffer(array: TraceArray = topLevel): void {
  writeFileSync(tracePath(array, 'trace'), '');
}

/** `echo > per_cpu/cpuN/trace`: clears one CPU buffer. */
export function resetCpuBuffer(array: TraceArray, cpu: number): void {
  writeFileSync(perCpuPath(array, cpu, 'trace'), '');
}

export function isTracingOn(array: TraceArray = topLevel): boolean {
  return readTraceFile(array, 'tracing_on').trim() === '1';
}

export function setTracingOn(array: TraceArray, on: boolean): void {
  writeTraceFile(array, 'tracing_on', on ? '1\n' : '0\n');
}

/** Current clock: the bracketed name in trace_clock ("[local] global counter ..."). */
export function currentClock(array: TraceArray = topLevel): string {
  const match = /\[([^\]]+)\]/.exec(readTraceFile(array, 'trace_clock'));
  if (match === null || match[1] === undefined) throw new Error('trace_clock has no selected clock');
  return match[1];
}

export function availableClocks(array: TraceArray = topLevel): string[] {
  return readTraceFile(array, 'trace_clock')
    .trim()
    .split(/\s+/)
    .map((name) => name.replace(/^\[|\]$/g, ''));
}

export function setClock(array: TraceArray, clock: string): void {
  writeTraceFile(array, 'trace_clock', `${clock}\n`);
}

/**
 * The snapshot file exists only with CONFIG_TRACER_SNAPSHOT. Writing 0 frees the
 * snapshot buffer (top level only; per-CPU files refuse 0 with EINVAL).
 */
export function snapshotSupported(array: TraceArray = topLevel): boolean {
  return existsSync(tracePath(array, 'snapshot'));
}

export function freeSnapshot(array: TraceArray = topLevel): void {
  writeTraceFile(array, 'snapshot', '0\n');
}

/** Is a snapshot buffer allocated? (The snapshot file says "Snapshot is freed" otherwise.) */
export function snapshotAllocated(array: TraceArray = topLevel): boolean {
  if (!snapshotSupported(array)) return false;
  return !readTraceFile(array, 'snapshot').includes('Snapshot is freed');
}

/** Names of the instances that exist now. */
export function instanceNames(): string[] {
  return readdirSync(join(TRACEFS_ROOT, 'instances'));
}

/** comm for each pid from saved_cmdlines ("<pid> <comm>" lines). */
export function savedCmdlines(array: TraceArray = topLevel): Map<number, string> {
  const comms = new Map<number, string>();
  let text: string;
  try {
    text = readTraceFile(array, 'saved_cmdlines');
  } catch {
    return comms;
  }
  for (const line of text.split('\n')) {
    const match = /^(\d+) (.*)$/.exec(line);
    if (match !== null && match[1] !== undefined && match[2] !== undefined) comms.set(Number(match[1]), match[2]);
  }
  return comms;
}
