/**
 * Child process: the benchmark's TypeScript row. Consumes cpu<writer>'s
 * mapping with the reader library's MappedConsumer (poll(), then drain) while
 * `rbmap-bench write` writes markers on that CPU, and prints one JSON line in
 * the shape of rbmap-bench's own (`method: "node-mmap"`).
 *
 *   node bench-node-reader.js <writer-cpu> <reader-cpu> <seconds> <rate> <event-bytes>
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MappedConsumer, markerText, perCpuPath, RingBufferMapping, sys, topLevel } from '../../../reader/index.js';
import { BENCH_BINARY, formats } from '../lib/testing.js';

const [writerCpu, readerCpu, seconds, rate, eventBytes] = process.argv.slice(2).map(Number);
if ([writerCpu, readerCpu, seconds, rate, eventBytes].some((n) => n === undefined || !Number.isFinite(n))) {
  process.stderr.write('usage: bench-node-reader.js <writer-cpu> <reader-cpu> <seconds> <rate> <event-bytes>\n');
  process.exit(2);
}

function overrunOf(cpu: number): bigint {
  const match = /overrun: (\d+)/.exec(readFileSync(perCpuPath(topLevel, cpu, 'stats'), 'utf8'));
  if (match === null) throw new Error(`no overrun in per_cpu/cpu${cpu}/stats`);
  return BigInt(match[1]!);
}

sys.setAffinity(readerCpu!);
const ring = RingBufferMapping.open({ cpu: writerCpu!, nonBlocking: true });
const consumer = new MappedConsumer(ring, formats());
consumer.drain();
const overrunBefore = overrunOf(writerCpu!);

let consumed = 0;
let payloadBytes = 0;
let pages = 0;
let nextSeq = 0;
let missing = 0;
let outOfOrder = 0;
function take(): void {
  const result = consumer.drain();
  pages += result.readerPages.length;
  for (const event of result.events) {
    payloadBytes += event.record.endOffset - event.record.headerOffset;
    const text = markerText(event);
    if (text === null || !text.startsWith('rbmb ')) continue;
    const seq = Number.parseInt(text.slice(5), 10);
    consumed++;
    if (seq > nextSeq) missing += seq - nextSeq;
    else if (seq < nextSeq) outOfOrder++;
    if (seq >= nextSeq) nextSeq = seq + 1;
  }
}

const startWall = process.hrtime.bigint();
const startCpu = process.cpuUsage();
const writer = spawn(BENCH_BINARY, ['write', String(writerCpu), String(seconds), String(rate), String(eventBytes)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let writerOut = '';
writer.stdout.on('data', (chunk: Buffer) => {
  writerOut += chunk.toString();
});
const writerDone = new Promise<number>((resolve, reject) => {
  writer.on('exit', (code) => (code === 0 ? resolve(Number(JSON.parse(writerOut).written)) : reject(new Error(`rbmap-bench write exited ${code}`))));
});
let written: number | undefined;
void writerDone.then((n) => {
  written = n;
});
while (written === undefined) {
  sys.poll(ring.fd, sys.constants.POLLIN, 100);
  take();
  // Let the writer's exit be seen.
  await new Promise((resolve) => setImmediate(resolve));
}
take();
const cpu = process.cpuUsage(startCpu);
const wallUs = Number((process.hrtime.bigint() - startWall) / 1000n);
ring.close();
if (written > nextSeq) missing += written - nextSeq;
process.stdout.write(
  `${JSON.stringify({
    method: 'node-mmap',
    rate,
    seconds,
    eventBytes,
    written,
    consumed,
    missing,
    outOfOrder,
    overrun: Number(overrunOf(writerCpu!) - overrunBefore),
    payloadBytes,
    pages,
    userUs: cpu.user,
    systemUs: cpu.system,
    wallUs,
  })}\n`,
);
