/**
 * rbmap bench --copy-paths: what the series costs a reader that never maps. read() and
 * splice() measured on the kernel without the series (pristine) and with it, one boot of
 * each per round, alternating; per row the median and the spread of the rounds on each side.
 * The series costs more only where its median CPU per MB is above the highest of pristine's
 * rounds (and, for MB/s, below the lowest).
 */
import type { BenchRow } from './bench.js';
import { rateLabel } from './bench.js';

export type KernelSide = 'pristine' | 'series';

export interface SideSpread {
  rounds: number;
  cpuUsPerMb: { median: number; min: number; max: number };
  mbPerS: { median: number; min: number; max: number };
}

export interface CopyPathRow {
  method: string;
  ringKb: number;
  rate: number;
  bufferPercent: number;
  pristine: SideSpread | null;
  series: SideSpread | null;
  /** series CPU per MB median / pristine's; null without both sides. */
  cpuRatio: number | null;
  /** The series' median CPU per MB above pristine's highest round, or its MB/s median below pristine's lowest. */
  costsMore: boolean;
}

function spreadOf(values: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

function sideSpread(rows: readonly BenchRow[]): SideSpread | null {
  if (rows.length === 0) return null;
  return { rounds: rows.length, cpuUsPerMb: spreadOf(rows.map((r) => r.cpuUsPerMb)), mbPerS: spreadOf(rows.map((r) => r.mbPerS)) };
}

const rowKey = (r: Pick<BenchRow, 'method' | 'ringKb' | 'rate' | 'bufferPercent'>): string => `${r.method}/${r.ringKb}/${r.rate}/${r.bufferPercent}`;

/**
 * `measured`: every row of every boot, each with the kernel it was measured on. Only the
 * first measurement of a row in each boot counts (a boot's extra loss rounds are left out),
 * so that each round is one boot of each kernel.
 */
export function compareCopyPaths(measured: readonly { side: KernelSide; boot: number; row: BenchRow }[]): CopyPathRow[] {
  const bySide: Record<KernelSide, Map<string, BenchRow[]>> = { pristine: new Map(), series: new Map() };
  const seen = new Set<string>();
  const order: string[] = [];
  const first = new Map<string, BenchRow>();
  for (const { side, boot, row } of measured) {
    if (row.method !== 'read' && row.method !== 'splice') continue;
    const key = rowKey(row);
    const once = `${side}#${boot}#${key}`;
    if (seen.has(once)) continue;
    seen.add(once);
    if (!first.has(key)) {
      first.set(key, row);
      order.push(key);
    }
    bySide[side].set(key, [...(bySide[side].get(key) ?? []), row]);
  }
  return order.map((key) => {
    const { method, ringKb, rate, bufferPercent } = first.get(key)!;
    const pristine = sideSpread(bySide.pristine.get(key) ?? []);
    const series = sideSpread(bySide.series.get(key) ?? []);
    const both = pristine !== null && series !== null;
    return {
      method,
      ringKb,
      rate,
      bufferPercent,
      pristine,
      series,
      cpuRatio: both ? series.cpuUsPerMb.median / pristine.cpuUsPerMb.median : null,
      costsMore: both && (series.cpuUsPerMb.median > pristine.cpuUsPerMb.max || series.mbPerS.median < pristine.mbPerS.min),
    };
  });
}

function spreadCell(spread: { median: number; min: number; max: number }, digits: number): string {
  return `${spread.median.toFixed(digits)} (${spread.min.toFixed(digits)}–${spread.max.toFixed(digits)})`;
}

export function formatCopyPaths(rows: readonly CopyPathRow[]): string {
  const header = ['method', 'ring', 'rate', 'wake at', 'CPU µs/MB pristine', 'CPU µs/MB series', 'series/pristine', 'MB/s pristine', 'MB/s series', ''];
  const body = rows.map((r) => [
    r.method,
    `${r.ringKb} KB`,
    rateLabel(r.rate),
    `${r.bufferPercent}%`,
    r.pristine === null ? '-' : spreadCell(r.pristine.cpuUsPerMb, 0),
    r.series === null ? '-' : spreadCell(r.series.cpuUsPerMb, 0),
    r.cpuRatio === null ? '-' : `${r.cpuRatio.toFixed(2)}×`,
    r.pristine === null ? '-' : spreadCell(r.pristine.mbPerS, 2),
    r.series === null ? '-' : spreadCell(r.series.mbPerS, 2),
    r.costsMore ? '<< costs more' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i < 4 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
