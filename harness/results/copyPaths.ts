/**
 * rbmap bench --copy-paths: what the series costs a reader that never maps. read() and
 * splice() measured on the kernel without the series (pristine) and with it, one boot of
 * each per round, alternating; per row the median and the spread of the rounds on each side.
 * A row is beyond the spread where the series' median CPU per MB is above the most any
 * round of pristine needed, or below the least: under TCG with three rounds, noise alone
 * puts rows on both sides, so the table counts both.
 */
import type { BenchRow } from './bench.js';
import { median, rateLabel } from './bench.js';
import { escapeXml } from './junit.js';

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
  /** The series' median CPU per MB above pristine's highest round ('more') or below its lowest ('less'). */
  beyondSpread: 'more' | 'less' | null;
}

function spreadOf(values: readonly number[]): { median: number; min: number; max: number } {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
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
      beyondSpread: !both ? null : series.cpuUsPerMb.median > pristine.cpuUsPerMb.max ? 'more' : series.cpuUsPerMb.median < pristine.cpuUsPerMb.min ? 'less' : null,
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
    r.beyondSpread === 'more' ? '<< costs more' : r.beyondSpread === 'less' ? '>> costs less' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i < 4 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const sideColours: Readonly<Record<KernelSide, string>> = { pristine: '#8c8c8c', series: '#e15759' };

/**
 * One bar per kernel and row: the median reader CPU per MB relative to pristine's median
 * (pristine = 1), with a whisker from the least to the most of the rounds.
 */
export function copyPathsChartSvg(rows: readonly CopyPathRow[]): string {
  const shown = rows.filter((r) => r.pristine !== null && r.series !== null);
  const bar = 22;
  const groupWidth = 2 * bar + 30;
  const left = 60;
  const top = 40;
  const panelHeight = 200;
  const width = left + Math.max(1, shown.length) * groupWidth + 20;
  const height = top + panelHeight + 70;
  const relative = (value: number, r: CopyPathRow): number => value / r.pristine!.cpuUsPerMb.median;
  const max = Math.max(1.5, ...shown.flatMap((r) => [relative(r.pristine!.cpuUsPerMb.max, r), relative(r.series!.cpuUsPerMb.max, r)]));
  const y = (v: number): number => top + panelHeight - (v / max) * panelHeight;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="${top - 20}" font-size="13">${escapeXml('Reader CPU per MB, relative to pristine 6.1 (median of the rounds, whisker: least–most)')}</text>`,
    `<line x1="${left}" y1="${y(0)}" x2="${width - 10}" y2="${y(0)}" stroke="black"/>`,
    `<line x1="${left}" y1="${y(1).toFixed(1)}" x2="${width - 10}" y2="${y(1).toFixed(1)}" stroke="#bbb" stroke-dasharray="4 3"/>`,
    `<text x="${left - 6}" y="${y(1).toFixed(1)}" text-anchor="end">1.00×</text>`,
    `<text x="${left - 6}" y="${y(max).toFixed(1)}" text-anchor="end">${max.toFixed(2)}×</text>`,
  ];
  shown.forEach((r, g) => {
    const x0 = left + g * groupWidth + 15;
    (['pristine', 'series'] as const).forEach((side, i) => {
      const spread = r[side]!.cpuUsPerMb;
      const x = x0 + i * bar;
      const median = relative(spread.median, r);
      out.push(`<rect x="${x}" y="${y(median).toFixed(1)}" width="${bar - 4}" height="${(y(0) - y(median)).toFixed(1)}" fill="${sideColours[side]}"><title>${escapeXml(`${side}: ${spread.median.toFixed(0)} µs/MB (${spread.min.toFixed(0)}–${spread.max.toFixed(0)})`)}</title></rect>`);
      const cx = x + (bar - 4) / 2;
      out.push(`<line x1="${cx}" y1="${y(relative(spread.min, r)).toFixed(1)}" x2="${cx}" y2="${y(relative(spread.max, r)).toFixed(1)}" stroke="black"/>`);
    });
    out.push(`<text x="${x0 + bar}" y="${y(0) + 14}" text-anchor="middle">${escapeXml(r.method)}</text>`);
    out.push(`<text x="${x0 + bar}" y="${y(0) + 27}" text-anchor="middle">${escapeXml(`${r.ringKb} KB, ${rateLabel(r.rate)}`)}</text>`);
    out.push(`<text x="${x0 + bar}" y="${y(0) + 40}" text-anchor="middle">${escapeXml(`wake ${r.bufferPercent}%`)}</text>`);
  });
  (['pristine', 'series'] as const).forEach((side, i) => {
    const x = left + i * 110;
    out.push(`<rect x="${x}" y="${height - 23}" width="10" height="10" fill="${sideColours[side]}"/><text x="${x + 14}" y="${height - 14}">${side === 'pristine' ? 'pristine 6.1' : '6.1 + series'}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** How many rows the series costs more and less than pristine's spread. */
export function spreadCounts(rows: readonly CopyPathRow[]): { more: number; less: number; within: number } {
  const more = rows.filter((r) => r.beyondSpread === 'more').length;
  const less = rows.filter((r) => r.beyondSpread === 'less').length;
  return { more, less, within: rows.length - more - less };
}
