import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchChartSvg, benchRows, formatBenchTable, formatLossSpreads, lossSpreads, parseBenchResults, writeBenchFiles, type BenchResult } from '../../harness/results/bench.js';
import { projectRoot } from '../../harness/common/paths.js';
import { benchPlan } from '../../guest/benchPlan.js';

/** The TAP stream of a real `rbmap bench --seconds 3 --rounds 5` (6.1.192 with the series, TCG, 2 CPUs). */
const recorded = readFileSync(join(projectRoot, 'tests', 'host', 'fixtures', 'bench-full-6.1-tcg.tap'), 'utf8');

function result(method: string, over: Partial<BenchResult> = {}): BenchResult {
  return {
    method, ringKb: 32, rate: 0, bufferPercent: 50, written: 1000, consumed: 1000, missing: 0, outOfOrder: 0, overrun: 0,
    payloadBytes: 2_000_000, userUs: 1000, systemUs: 1000, wallUs: 1_000_000, ...over,
  };
}

t.test('parseBenchResults reads every bench-result of a recorded guest stream, in order', async (t) => {
  const results = parseBenchResults(recorded);
  t.equal(results.length, 2 * 3 * 4 + 2 + 4 * 4, 'two ring sizes × three rates × four methods, two rows waking at the first event, four rounds more of four loss rows');
  t.same([...new Set(results.map((r) => r.round))], [1, 2, 3, 4, 5]);
  t.ok(results.every((r) => r.method === 'node-mmap' || (r.wakeups! > 0 && r.pollUs! >= r.longestPollUs! && r.longestPollUs! > 0)), 'the native readers time their poll() calls');
  t.same(results.slice(0, 4).map((r) => r.method), ['read', 'splice', 'mmap', 'node-mmap']);
  t.same([...new Set(results.map((r) => r.ringKb))], [1024, 32]);
  t.same([...new Set(results.map((r) => r.bufferPercent))], [50, 0]);
  t.ok(results.every((r) => r.written > 0 && r.consumed > 0 && r.payloadBytes > 0));
  t.ok(results.every((r) => r.method !== 'node-mmap' || r.missing === r.overrun), "the TypeScript reader's missing markers are the overrun");
});

t.test('parseBenchResults refuses a result without its fields, naming them and the line', async (t) => {
  t.throws(() => parseBenchResults('TAP version 13\n# bench-result {"method":"read","ringKb":32}\n'), { code: 'E_RESULTS', message: /line 2: .*without rate, bufferPercent, written/ });
  t.throws(() => parseBenchResults('# bench-result {not json}\n'), { code: 'E_RESULTS', message: /line 1: .*not JSON/ });
  t.same(parseBenchResults('# bench-resultless\nok 1 - x\n'), []);
});

t.test('benchRows: CPU per MB and the ratio against read() of the same ring size and rate', async (t) => {
  const rows = benchRows([
    result('read', { userUs: 3000, systemUs: 1000 }),
    result('mmap', { userUs: 1000, systemUs: 1000 }),
    result('mmap', { ringKb: 1024, userUs: 1000, systemUs: 1000 }),
    result('splice', { payloadBytes: 0 }),
  ]);
  t.equal(rows[0]?.cpuUsPerMb, 2000, '4000 µs for 2 MB');
  t.equal(rows[0]?.cpuVsRead, 1);
  t.equal(rows[1]?.cpuVsRead, 0.5);
  t.equal(rows[2]?.cpuVsRead, null, 'no read() row for a 1024 KB ring');
  t.equal(rows[3]?.cpuUsPerMb, Number.POSITIVE_INFINITY, 'nothing consumed: no finite cost');
  t.equal(rows[1]?.mbPerS, 2);
});

t.test('the table has a row per result with the ratio; the chart a bar per result and a legend', async (t) => {
  const rows = benchRows(parseBenchResults(recorded));
  const table = formatBenchTable(rows).split('\n');
  t.equal(table.length, 2 + rows.length);
  t.match(table[0], /ring\s+rate\s+wake at\s+method.*vs read\(\)/);
  t.match(table[2], /^1024 KB\s+max\s+50%\s+read\s.*1\.00×$/);
  t.match(table[table.length - 1], /^32 KB\s+50k\/s\s+50%\s+mmap\s+5\s/);
  t.equal(lossSpreads(rows).length, 4, 'read() and the mapping, unthrottled and at 50k/s');
  const svg = benchChartSvg(rows);
  t.match(svg, /^<svg /);
  const bars = new Set(rows.map((r) => `${r.ringKb}/${r.rate}/${r.bufferPercent}/${r.method}`)).size;
  t.equal(bars, 26, 'the rounds share their bars');
  t.equal(svg.match(/<rect x=/g)?.length, 2 * bars + 4, 'two panels of bars plus four legend swatches');
  for (const method of ['read', 'splice', 'mmap', 'node-mmap']) t.match(svg, new RegExp(`>${method}</text>`));
  const cut = rows.filter((r) => (r.cpuVsRead ?? 0) > 2).length;
  t.ok(cut > 0, 'the TypeScript rows cost more than 2× read()');
  t.equal(svg.match(/font-size="9">[0-9.]+×</g)?.length, cut, 'each bar cut at 2× carries its value');
  const dir = mkdtempSync(join(tmpdir(), 'rbmap-bench-'));
  const files = writeBenchFiles(dir, rows);
  t.equal((JSON.parse(readFileSync(files.json, 'utf8')) as { results: unknown[] }).results.length, rows.length);
  t.equal(readFileSync(files.svg, 'utf8'), svg);
});

t.test('rounds: each is compared with read() of its own round; the loss spread is per method over its rounds', async (t) => {
  const rows = benchRows([
    result('read', { missing: 10, userUs: 3000, systemUs: 1000, round: 1 }),
    result('mmap', { missing: 40, longestPollUs: 2500, round: 1 }),
    result('read', { missing: 30, userUs: 1000, systemUs: 1000, round: 2 }),
    result('mmap', { missing: 0, longestPollUs: 900, round: 2 }),
    result('read', { missing: 20, round: 3 }),
    result('mmap', { missing: 5, longestPollUs: 700, round: 3 }),
    result('splice', { missing: 7 }),
  ]);
  t.equal(rows[1]?.cpuVsRead, 0.5, 'round 1: against round 1 of read()');
  t.equal(rows[3]?.cpuVsRead, 1, 'round 2: against round 2 of read()');
  const spreads = lossSpreads(rows);
  t.same(
    spreads.map((s) => [s.method, s.rounds, s.median, s.min, s.max, s.longestPollUs]),
    [['read', 3, 20, 10, 30, null], ['mmap', 3, 5, 0, 40, 2500]],
    'splice, measured once, has no spread',
  );
  const table = formatLossSpreads(spreads).split('\n');
  t.match(table[0], /method\s+rounds\s+lost: median\s+min\s+max\s+longest poll\(\) ms/);
  t.match(table[3], /^32 KB\s+max\s+50%\s+mmap\s+3\s+5\s+0\s+40\s+2\.5$/);
  t.match(formatBenchTable(rows).split('\n')[4], /^32 KB\s+max\s+50%\s+read\s+2\s/, 'the table names the round');
  const lostBars = [...benchChartSvg(rows).matchAll(/<title>(read|mmap|splice): (\d+)<\/title>/g)].map((m) => `${m[1]}=${m[2]}`);
  t.same(lostBars, ['read=20', 'mmap=5', 'splice=7'], 'the chart shows the median loss');
});

t.test("the bench plan: what the guest measures is what rbmap bench sizes its limits for", async (t) => {
  const full = benchPlan({ full: true, copyPathsOnly: false, rounds: 1 });
  t.equal(full.length, 42, '6 methods x 3 rates x 2 rings, rbmap-cat on each ring, 4 methods waking at the first event');
  t.equal(benchPlan({ full: true, copyPathsOnly: false, rounds: 5 }).length, 42 + 8 * 4, '8 more per extra round');
  t.equal(benchPlan({ full: true, copyPathsOnly: true, rounds: 3 }).length, 13 + 2 * 2, 'copy paths: read() and splice() only');
  t.same(benchPlan({ full: false, copyPathsOnly: false, rounds: 5 }).map((s) => s.method), ['read', 'splice', 'mmap', 'tep-mmap', 'node-mmap', 'node-mmap-poll'], 'the short run: one row per method, no rounds');
  t.same(full.filter((s) => s.wakeAt === 0).map((s) => `${s.method} ${s.ringKb}`), ['read 32', 'mmap 32', 'node-mmap 32', 'node-mmap-poll 32'], 'only the small ring wakes at the first event');
  const rounds = benchPlan({ full: true, copyPathsOnly: false, rounds: 2 }).filter((s) => s.round === 2);
  t.ok(rounds.every((s) => s.ringKb === 32) && rounds.length === 8, 'the extra rounds measure the 32 KB ring');
});

t.test("the TypeScript reader's loss timeline travels with its result; a malformed one is left out", async (t) => {
  const base = { method: 'node-mmap', ringKb: 1024, rate: 0, bufferPercent: 50, written: 10, consumed: 8, missing: 2, outOfOrder: 0, overrun: 2, payloadBytes: 640, userUs: 1, systemUs: 1, wallUs: 3 };
  const [timed] = parseBenchResults(`# bench-result ${JSON.stringify({ ...base, losses: [[87, 2]] })}\n`);
  t.same(timed?.losses, [[87, 2]]);
  const [malformed] = parseBenchResults(`# bench-result ${JSON.stringify({ ...base, losses: [[87]] })}\n`);
  t.equal(malformed?.losses, undefined);
  const stall = { atMs: 365, what: 'consume', ms: 160, timedOut: false };
  const [stalled] = parseBenchResults(`# bench-result ${JSON.stringify({ ...base, stalls: [stall] })}\n`);
  t.same(stalled?.stalls, [stall], 'the reader\'s long waits and drains are kept');
  const [badStall] = parseBenchResults(`# bench-result ${JSON.stringify({ ...base, stalls: [{ ...stall, what: 'sleep' }] })}\n`);
  t.equal(badStall?.stalls, undefined, 'a stall of an unknown kind is dropped');
});
