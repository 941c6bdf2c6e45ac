/**
 * The streaming consumer's steady state, as V8 runs it: nothing allocated per
 * page or per event, and no deoptimization when a rare case first comes
 * along. Under TCG either one stops a Node reader for tens of milliseconds (a
 * young-generation collection; the slow code that runs until V8 has compiled
 * the function again), long enough for the writer to wrap a 1 MB ring.
 *
 * Allocation is measured as the growth of V8's new space over thousands of
 * handovers, with a collection just before (none can run in between: the
 * loop is synchronous). Deoptimization in child processes: through V8's own
 * status bits, compiling when the probe says (deopt-probe.ts), and in what
 * --trace-deopt prints (osr-probe.ts).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MappedConsumer } from '../../reader/index.js';
import { LAYOUTS } from './decode-speed/speed.js';
import { generatedRing, visit } from './consumer-steady-state/ring.js';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;
/** V8's OptimizationStatus bit for optimized code. */
const OPTIMIZED = 1 << 4;

interface ProbeOutput {
  /** V8's status bits of consume() and EventCursor.next. */
  readonly before: Readonly<Record<'consume' | 'next', number>>;
  readonly after: Readonly<Record<'consume' | 'next', number>>;
  readonly lostEvents: string;
  readonly events: number;
}

function newSpaceUsed(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  if (space === undefined) throw new Error('V8 reports no new_space');
  return space.space_used_size;
}

t.test('consume() stays optimized when the first lost events, time extend, 2^30 ns carry and continued page come after it was compiled', async (t) => {
  const probe = fileURLToPath(new URL('./consumer-steady-state/deopt-probe.js', import.meta.url));
  const output = execFileSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', probe], { encoding: 'utf8' });
  const { before, after, lostEvents, events } = JSON.parse(output) as ProbeOutput;
  t.equal(lostEvents, '7', 'the lost events counted');
  t.equal(events, 40, 'every event of the rare page');
  for (const name of ['consume', 'next'] as const) {
    t.ok(before[name] & OPTIMIZED, `${name} optimized after plain pages (V8 status ${before[name].toString(2)})`);
    t.ok(after[name] & OPTIMIZED, `${name} still optimized after the rare page (V8 status ${after[name].toString(2)})`);
  }
});

t.test('consume() compiled in the middle of its first long drain does not deoptimize at each return', async (t) => {
  const probe = fileURLToPath(new URL('./consumer-steady-state/osr-probe.js', import.meta.url));
  const output = execFileSync(process.execPath, ['--trace-deopt', '--no-concurrent-osr', probe], { encoding: 'utf8' });
  t.match(output, /^pages 21600$/m, 'every page handed over');
  const deopts = output.split('\n').filter((line) => /deoptimizing .*<JSFunction consume /.test(line));
  t.equal(deopts.length, 0, `consume() deoptimized ${deopts.length} times${deopts.length > 0 ? `, first: ${deopts[0]}` : ''}`);
});

t.test('consume() allocates nothing per page handed over or per event', async (t) => {
  const consumer = new MappedConsumer(generatedRing(64), { layouts: LAYOUTS, lookup: () => null }, { maxSpinUs: 0 });
  const options = { maxPages: 8 };
  const run = (calls: number): { pages: number; events: number } => {
    let pages = 0;
    let events = 0;
    for (let i = 0; i < calls; i++) {
      const taken = consumer.consume(visit, options);
      pages += taken.pages;
      events += taken.events;
    }
    return { pages, events };
  };
  run(4000); // compiled, as in a running reader
  collectGarbage();
  const before = newSpaceUsed();
  const { pages, events } = run(1000);
  const grown = newSpaceUsed() - before;
  t.equal(pages, 8000, 'every call took its 8 pages');
  // What remains is consume()'s result, one small object per call.
  const perPage = grown / pages;
  t.ok(perPage < 16, `${grown} bytes for ${pages} pages and ${events} events: ${perPage.toFixed(1)} bytes per page (limit 16)`);
});
