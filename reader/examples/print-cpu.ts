// Print the events of one CPU's ring buffer for a few seconds, read in place from the mapping.
// In `rbmap shell`: node /opt/rbmap/reader/examples/print-cpu.js [cpu] [seconds]
import { MappedConsumer, RingBufferMapping, TraceFormats, eventOf, formatEventLine } from '../index.js';

const cpu = Number(process.argv[2] ?? '0');
const until = Date.now() + 1000 * Number(process.argv[3] ?? '5');
const ring = RingBufferMapping.open({ cpu });
const formats = new TraceFormats();
const consumer = new MappedConsumer(ring, formats);
try {
  for (;;) {
    // The cursor stands on each event in turn; eventOf() makes an object of it for printing.
    consumer.consume((cursor) => console.log(formatEventLine(eventOf(cursor, formats.lookup), cpu, undefined)), {
      onPage: (handover) => {
        if (handover.lostEvents > 0n) console.log(`CPU ${cpu}: LOST ${handover.lostEvents} EVENTS`);
      },
    });
    const left = until - Date.now();
    if (left <= 0) break;
    consumer.wait(left);
  }
  const { entries, overrun } = ring.updateMeta();
  console.log(`cpu${cpu}: entries=${entries} overrun=${overrun}`);
} finally {
  ring.close();
}
