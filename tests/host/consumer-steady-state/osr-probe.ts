/**
 * Child process of consumer-steady-state.test.ts, run with --trace-deopt
 * --no-concurrent-osr: a consumer's first call is a long drain (20,000
 * handovers), long enough for V8 to compile consume() in the middle of it
 * (on-stack replacement); then 200 short calls. The test counts the
 * deoptimizations of consume() in what V8 prints.
 */
import { MappedConsumer } from '../../../reader/index.js';
import { LAYOUTS } from '../decode-speed/speed.js';
import { generatedRing, visit } from './ring.js';

const consumer = new MappedConsumer(generatedRing(64), { layouts: LAYOUTS, lookup: () => null }, { maxSpinUs: 0 });
const options = { maxPages: 20_000 };
let pages = consumer.consume(visit, options).pages;
const short = { maxPages: 8 };
for (let call = 0; call < 200; call++) pages += consumer.consume(visit, short).pages;
process.stdout.write(`pages ${pages}\n`);
