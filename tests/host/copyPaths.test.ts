/** bench --copy-paths: read() and splice() rows of several boots of each kernel, side by side. */
import t from 'tap';
import type { BenchRow } from '../../harness/results/bench.js';
import { compareCopyPaths, copyPathsChartSvg, formatCopyPaths, spreadCounts, type KernelSide } from '../../harness/results/copyPaths.js';

function row(method: string, cpuUsPerMb: number, mbPerS: number, ringKb = 1024, rate = 0): BenchRow {
  return {
    method, ringKb, rate, bufferPercent: 50, written: 1000, consumed: 1000, missing: 0, outOfOrder: 0, overrun: 0,
    payloadBytes: 64_000, userUs: 0, systemUs: 0, wallUs: 1, cpuUsPerMb, mbPerS, cpuVsRead: null,
  };
}

function boots(side: KernelSide, rows: BenchRow[][]): { side: KernelSide; boot: number; row: BenchRow }[] {
  return rows.flatMap((rowsOfBoot, i) => rowsOfBoot.map((r) => ({ side, boot: i + 1, row: r })));
}

t.test('medians and spreads per side; beyond the spread of pristine either way', async (t) => {
  const measured = [
    ...boots('pristine', [[row('read', 100, 10), row('splice', 50, 20), row('mmap', 10, 40)], [row('read', 120, 9), row('splice', 60, 19)], [row('read', 110, 11), row('splice', 55, 21)]]),
    ...boots('series', [[row('read', 118, 10), row('splice', 70, 20)], [row('read', 105, 10), row('splice', 75, 20)], [row('read', 125, 10), row('splice', 80, 20)]]),
  ];
  const rows = compareCopyPaths(measured);
  t.same(rows.map((r) => r.method), ['read', 'splice'], 'the mapping rows are not copy paths');
  const [read, splice] = rows;
  t.same(read?.pristine?.cpuUsPerMb, { median: 110, min: 100, max: 120 });
  t.same(read?.series?.cpuUsPerMb, { median: 118, min: 105, max: 125 });
  t.equal(read?.beyondSpread, null, 'a median within pristine\'s spread is noise');
  t.equal(splice?.beyondSpread, 'more', 'a median above pristine\'s highest round costs more');
  t.equal(splice?.cpuRatio, 75 / 55);
  const table = formatCopyPaths(rows);
  t.match(table, /^splice\s+1024 KB\s+max\s+50%\s+55 \(50–60\)\s+75 \(70–80\)\s+1\.36×.*<< costs more$/m);
  t.match(table, /^read\s+1024 KB\s+max\s+50%\s+110 \(100–120\)\s+118 \(105–125\)\s+1\.07×\s+10\.00 \(9\.00–11\.00\)\s+10\.00 \(10\.00–10\.00\)$/m);
});

t.test('a median below pristine\'s least round costs less; MB/s does not decide; a boot\'s repeated rows count once', async (t) => {
  const measured = [
    ...boots('pristine', [[row('read', 100, 10), row('read', 500, 1), row('splice', 50, 20)], [row('read', 110, 11), row('splice', 60, 20)]]),
    ...boots('series', [[row('read', 90, 8), row('splice', 55, 5)], [row('read', 95, 8), row('splice', 55, 5)]]),
  ];
  const rows = compareCopyPaths(measured);
  const [read, splice] = rows;
  t.equal(read?.pristine?.rounds, 2, 'the second read row of boot 1 (a loss round) is left out');
  t.equal(read?.beyondSpread, 'less');
  t.equal(splice?.beyondSpread, null, 'a lower MB/s alone is not a cost (at a fixed rate it is the writer\'s)');
  t.same(spreadCounts(rows), { more: 0, less: 1, within: 1 });
  t.match(formatCopyPaths(rows), /^read .*>> costs less$/m);
});

t.test('a row one side lacks is shown, never called costlier', async (t) => {
  const rows = compareCopyPaths(boots('pristine', [[row('read', 100, 10, 32)]]));
  t.equal(rows[0]?.series, null);
  t.equal(rows[0]?.beyondSpread, null);
  t.match(formatCopyPaths(rows), /^read\s+32 KB\s+max\s+50%\s+100 \(100–100\)\s+-\s+-/m);
});

t.test('the chart: two bars per row that both kernels measured, relative to pristine', async (t) => {
  const measured = [...boots('pristine', [[row('read', 100, 10), row('splice', 50, 20)]]), ...boots('series', [[row('read', 150, 10)]])];
  const svg = copyPathsChartSvg(compareCopyPaths(measured));
  t.match(svg, /^<svg [^>]*>/);
  t.equal((svg.match(/<title>/g) ?? []).length, 2, 'splice has no series row: only read is drawn');
  t.match(svg, /<title>series: 150 µs\/MB \(150–150\)<\/title>/);
  t.match(svg, />1\.50×</, 'the axis reaches the series bar');
});
