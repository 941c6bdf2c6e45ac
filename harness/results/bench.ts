/**
 * The reader benchmark's results: parsed from the guest's TAP stream (each
 * measurement is a `# bench-result <json>` diagnostic of tests/guest/throughput.test.ts),
 * compared against read() from the same boot, and written as bench.json, a
 * table and an SVG chart in the run folder.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RbmapError } from '../common/errors.js';
import { escapeXml } from './junit.js';

export interface BenchResult {
  /**
   * read, splice, mmap (native), tep-mmap (the mapping read with libtraceevent), node-mmap and
   * node-mmap-poll (the TypeScript reader library, with and without its in-place wait), rbmap-cat.
   */
  method: string;
  ringKb: number;
  /** Events per second the writer aimed at; 0 = as fast as it could. */
  rate: number;
  /** buffer_percent while measured: how full the buffer is before poll() wakes the reader. */
  bufferPercent: number;
  written: number;
  consumed: number;
  /** Marker sequence numbers the reader never saw. */
  missing: number;
  outOfOrder: number;
  /** The CPU's overrun counter over the measurement: events the writer overwrote. */
  overrun: number;
  /** Bytes of the events consumed, headers included. */
  payloadBytes: number;
  userUs: number;
  systemUs: number;
  wallUs: number;
  /** poll() returns with data (the native readers report it): how often the reader was woken. */
  wakeups?: number;
  /** Time the native readers spent in poll(), in all and in the longest call. */
  pollUs?: number;
  longestPollUs?: number;
  /** Which measurement of the same ring, rate and method this is (1 unless repeated). */
  round?: number;
  /** When the TypeScript reader lost events: [ms into the measurement, events lost], the first few. */
  losses?: [number, number][];
  /** The TypeScript reader's waits, drains and event-loop turns of 20 ms or more, the first few. */
  stalls?: BenchStall[];
}

export interface BenchStall {
  /** When it started, ms into the measurement. */
  atMs: number;
  what: 'wait' | 'consume' | 'yield';
  /** How long it took. */
  ms: number;
  /** A wait that ended on its time-out, not on data. */
  timedOut: boolean;
}

function isBenchStall(value: unknown): value is BenchStall {
  if (typeof value !== 'object' || value === null) return false;
  const stall = value as Record<string, unknown>;
  return Number.isFinite(stall['atMs']) && Number.isFinite(stall['ms']) && typeof stall['timedOut'] === 'boolean' &&
    (stall['what'] === 'wait' || stall['what'] === 'consume' || stall['what'] === 'yield');
}

/** One result with its figures against read() of the same ring size and rate. */
export interface BenchRow extends BenchResult {
  /** Reader CPU (user + system) per MB of payload, µs. */
  cpuUsPerMb: number;
  /** Payload consumed per second of wall time, MB/s. */
  mbPerS: number;
  /** cpuUsPerMb / read()'s cpuUsPerMb; null when read() is missing from the group. */
  cpuVsRead: number | null;
}

const numericFields = ['ringKb', 'rate', 'bufferPercent', 'written', 'consumed', 'missing', 'outOfOrder', 'overrun', 'payloadBytes', 'userUs', 'systemUs', 'wallUs'] as const;

const optionalNumericFields = ['wakeups', 'pollUs', 'longestPollUs', 'round'] as const;

function parseResult(json: string, lineNumber: number): BenchResult {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new RbmapError('E_RESULTS', `guest.tap line ${lineNumber}: a bench-result that is not JSON`, { hint: 'look at the guest TAP stream in the run folder', cause });
  }
  if (typeof value !== 'object' || value === null) {
    throw new RbmapError('E_RESULTS', `guest.tap line ${lineNumber}: a bench-result that is not an object`, { hint: 'look at the guest TAP stream in the run folder' });
  }
  const record = value as Record<string, unknown>;
  const missing = numericFields.filter((field) => typeof record[field] !== 'number' || !Number.isFinite(record[field]));
  if (typeof record['method'] !== 'string' || missing.length > 0) {
    throw new RbmapError(
      'E_RESULTS',
      `guest.tap line ${lineNumber}: a bench-result without ${typeof record['method'] !== 'string' ? 'method' : missing.join(', ')}`,
      { hint: 'the guest benchmark and the host disagree on the result shape: rebuild both (npm run build)' },
    );
  }
  const result = { method: record['method'] } as BenchResult;
  for (const field of numericFields) result[field] = record[field] as number;
  for (const field of optionalNumericFields) if (typeof record[field] === 'number') result[field] = record[field];
  const losses = record['losses'];
  if (Array.isArray(losses) && losses.every((loss) => Array.isArray(loss) && loss.length === 2 && loss.every(Number.isFinite))) {
    result.losses = losses as [number, number][];
  }
  const stalls = record['stalls'];
  if (Array.isArray(stalls) && stalls.every(isBenchStall)) result.stalls = stalls;
  return result;
}

/** Every `bench-result` diagnostic of a TAP stream, in order. */
export function parseBenchResults(tapText: string): BenchResult[] {
  const results: BenchResult[] = [];
  tapText.split('\n').forEach((line, index) => {
    const match = /^\s*# bench-result (\{.*\})\s*$/.exec(line);
    if (match !== null) results.push(parseResult(match[1]!, index + 1));
  });
  return results;
}

const groupKey = (r: Pick<BenchResult, 'ringKb' | 'rate' | 'bufferPercent'>): string => `${r.ringKb}/${r.rate}/${r.bufferPercent}`;

export function benchRows(results: readonly BenchResult[]): BenchRow[] {
  const cpuPerMb = (r: BenchResult): number => (r.payloadBytes > 0 ? ((r.userUs + r.systemUs) * 1e6) / r.payloadBytes : Number.POSITIVE_INFINITY);
  const sameBoot = (r: BenchResult): string => `${groupKey(r)}#${r.round ?? 1}`;
  const readCpu = new Map<string, number>();
  for (const r of results) if (r.method === 'read') readCpu.set(sameBoot(r), cpuPerMb(r));
  return results.map((r) => {
    const base = readCpu.get(sameBoot(r));
    return {
      ...r,
      cpuUsPerMb: cpuPerMb(r),
      mbPerS: r.wallUs > 0 ? r.payloadBytes / r.wallUs : 0,
      cpuVsRead: base === undefined || !Number.isFinite(base) || base === 0 ? null : cpuPerMb(r) / base,
    };
  });
}

/** Events lost by one method in one ring size, rate and buffer_percent, over its rounds. */
export interface LossSpread {
  ringKb: number;
  rate: number;
  bufferPercent: number;
  method: string;
  rounds: number;
  median: number;
  min: number;
  max: number;
  /** The longest poll() of any round, µs (native readers only). */
  longestPollUs: number | null;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The spread of events lost, for every method measured more than once in a group. */
export function lossSpreads(rows: readonly BenchResult[]): LossSpread[] {
  const byKey = new Map<string, BenchResult[]>();
  for (const r of rows) {
    const key = `${groupKey(r)}/${r.method}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  return [...byKey.values()]
    .filter((measured) => measured.length > 1)
    .map((measured) => {
      const lost = measured.map((r) => r.missing);
      const polls = measured.flatMap((r) => (r.longestPollUs === undefined ? [] : [r.longestPollUs]));
      const { ringKb, rate, bufferPercent, method } = measured[0]!;
      return {
        ringKb,
        rate,
        bufferPercent,
        method,
        rounds: measured.length,
        median: median(lost),
        min: Math.min(...lost),
        max: Math.max(...lost),
        longestPollUs: polls.length === 0 ? null : Math.max(...polls),
      };
    });
}

export function formatLossSpreads(spreads: readonly LossSpread[]): string {
  const header = ['ring', 'rate', 'wake at', 'method', 'rounds', 'lost: median', 'min', 'max', 'longest poll() ms'];
  const body = spreads.map((s) => [
    `${s.ringKb} KB`,
    rateLabel(s.rate),
    `${s.bufferPercent}%`,
    s.method,
    String(s.rounds),
    String(s.median),
    String(s.min),
    String(s.max),
    s.longestPollUs === null ? '-' : (s.longestPollUs / 1000).toFixed(1),
  ]);
  return formatColumns(header, body, 4);
}

export function rateLabel(rate: number): string {
  return rate === 0 ? 'max' : `${rate / 1000}k/s`;
}

export function formatBenchTable(rows: readonly BenchRow[]): string {
  const header = ['ring', 'rate', 'wake at', 'method', 'round', 'written', 'consumed', 'lost', 'overrun', 'wakeups', 'MB/s', 'CPU µs/MB', 'vs read()'];
  const body = rows.map((r) => [
    `${r.ringKb} KB`,
    rateLabel(r.rate),
    `${r.bufferPercent}%`,
    r.method,
    String(r.round ?? 1),
    String(r.written),
    String(r.consumed),
    String(r.missing),
    String(r.overrun),
    r.wakeups === undefined ? '-' : String(r.wakeups),
    r.mbPerS.toFixed(2),
    Number.isFinite(r.cpuUsPerMb) ? r.cpuUsPerMb.toFixed(0) : '-',
    r.cpuVsRead === null ? '-' : `${r.cpuVsRead.toFixed(2)}×`,
  ]);
  return formatColumns(header, body, 4);
}

/** Columns padded to their widest cell: the first `textColumns` left-aligned, the rest right-aligned. */
function formatColumns(header: readonly string[], body: readonly (readonly string[])[], textColumns: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const methodColours: Readonly<Record<string, string>> = {
  read: '#8c8c8c',
  splice: '#4e79a7',
  mmap: '#e15759',
  'tep-mmap': '#b07aa1',
  'node-mmap': '#f28e2b',
  'node-mmap-poll': '#edc948',
  'rbmap-cat': '#76b7b2',
};

/**
 * Two panels of grouped bars, one group per ring size, rate and buffer_percent: reader CPU per
 * MB relative to read() (lower is better), and events lost (written, not seen).
 */
export function benchChartSvg(rows: readonly BenchRow[]): string {
  const groups = [...new Set(rows.map(groupKey))];
  const methods = [...new Set(rows.map((r) => r.method))];
  const bar = 16;
  const groupWidth = methods.length * bar + 24;
  const left = 60;
  const panelHeight = 160;
  const width = left + Math.max(1, groups.length) * groupWidth + 20;
  const height = 2 * (panelHeight + 70) + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  /** `cap`: the axis stops there; a taller bar is cut and labelled with its value. */
  const panel = (top: number, title: string, value: (r: BenchRow) => number, format: (v: number) => string, cap = Number.POSITIVE_INFINITY): void => {
    const values = rows.map(value).filter(Number.isFinite);
    const max = Math.min(cap, Math.max(1e-9, ...values));
    out.push(`<text x="${left}" y="${top - 8}" font-size="13">${escapeXml(title)}</text>`);
    out.push(`<line x1="${left}" y1="${top + panelHeight}" x2="${width - 10}" y2="${top + panelHeight}" stroke="black"/>`);
    out.push(`<text x="${left - 6}" y="${top + 4}" text-anchor="end">${escapeXml(format(max))}</text>`);
    out.push(`<text x="${left - 6}" y="${top + panelHeight}" text-anchor="end">0</text>`);
    groups.forEach((group, g) => {
      const x0 = left + g * groupWidth + 12;
      methods.forEach((method, m) => {
        const row = rows.find((r) => groupKey(r) === group && r.method === method);
        if (row === undefined) return;
        const v = value(row);
        const h = Number.isFinite(v) ? (Math.min(v, max) / max) * panelHeight : 0;
        const x = x0 + m * bar;
        out.push(`<rect x="${x}" y="${(top + panelHeight - h).toFixed(1)}" width="${bar - 2}" height="${h.toFixed(1)}" fill="${methodColours[method] ?? '#59a14f'}"><title>${escapeXml(`${method}: ${format(v)}`)}</title></rect>`);
        if (v > max) out.push(`<text x="${x + bar / 2}" y="${top - 1}" text-anchor="middle" font-size="9">${escapeXml(format(v))}</text>`);
      });
      const [ring, rate, percent] = group.split('/').map(Number);
      out.push(`<text x="${x0 + (methods.length * bar) / 2}" y="${top + panelHeight + 14}" text-anchor="middle">${ring} KB, ${rateLabel(rate ?? 0)}</text>`);
      out.push(`<text x="${x0 + (methods.length * bar) / 2}" y="${top + panelHeight + 27}" text-anchor="middle">wake at ${percent}%</text>`);
    });
  };
  panel(30, 'Reader CPU per MB, relative to read() (lower is better; axis cut at 2×)', (r) => r.cpuVsRead ?? Number.NaN, (v) => `${v.toFixed(2)}×`, 2);
  const lostMedians = new Map(lossSpreads(rows).map((s) => [`${groupKey(s)}/${s.method}`, s.median]));
  const lost = (r: BenchRow): number => lostMedians.get(`${groupKey(r)}/${r.method}`) ?? r.missing;
  panel(30 + panelHeight + 70, 'Events lost (written but never seen by the reader; the median where measured several times)', lost, (v) => v.toFixed(0));
  methods.forEach((method, m) => {
    const x = left + m * 110;
    const y = height - 14;
    out.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${methodColours[method] ?? '#59a14f'}"/><text x="${x + 14}" y="${y}">${escapeXml(method)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** bench.json and bench.svg in the run folder; returns their paths. */
export function writeBenchFiles(runDir: string, rows: readonly BenchRow[]): { json: string; svg: string } {
  const json = join(runDir, 'bench.json');
  const svg = join(runDir, 'bench.svg');
  writeFileSync(json, `${JSON.stringify({ results: rows, lossSpreads: lossSpreads(rows) }, null, 2)}\n`);
  writeFileSync(svg, benchChartSvg(rows));
  return { json, svg };
}
