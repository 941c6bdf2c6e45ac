/**
 * Child process: one side of a concurrency test, pinned to a CPU, for a time.
 *
 *   node contender.js flood <cpu> <ms>        write numbered markers "flood-NNNNNNNN" to trace_marker
 *   node contender.js take-pages <cpu> <ms>   map cpu0's trace_pipe_raw and call GET_READER_PAGE
 *                                             in a loop, reading every byte of each page taken
 *
 * Prints `started` once running and `done <json>` (counts) at the end.
 */
import { RingBufferMapping, sys, topLevel } from '../../../reader/index.js';
import { MarkerWriter } from '../lib/markers.js';

const [mode, cpuText, msText] = process.argv.slice(2);
const cpu = Number(cpuText);
const durationMs = Number(msText);
if ((mode !== 'flood' && mode !== 'take-pages') || !Number.isInteger(cpu) || !Number.isInteger(durationMs)) {
  process.stderr.write('usage: contender.js flood|take-pages <cpu> <ms>\n');
  process.exit(64);
}
sys.setAffinity(cpu);
const deadline = Date.now() + durationMs;
process.stdout.write('started\n');

if (mode === 'flood') {
  const writer = new MarkerWriter(topLevel);
  let written = 0;
  while (Date.now() < deadline) {
    for (let i = 0; i < 100; i++) writer.write(`flood-${String(written++).padStart(8, '0')}`);
  }
  writer.close();
  process.stdout.write(`done ${JSON.stringify({ written })}\n`);
} else {
  const ring = RingBufferMapping.open({ cpu: 0 });
  let taken = 0;
  let empty = 0;
  let checksum = 0;
  while (Date.now() < deadline) {
    if (!ring.getReaderPage()) {
      empty++;
      continue;
    }
    taken++;
    const view = ring.readerPageView();
    const page = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    for (let at = 0; at < page.length; at += 8) checksum = (checksum + page[at]!) & 0xffff;
  }
  ring.close();
  process.stdout.write(`done ${JSON.stringify({ taken, empty, checksum })}\n`);
}
