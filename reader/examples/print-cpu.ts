// Print the events of one CPU's ring buffer for a few seconds, read in place from the mapping.
// In `rbmap shell`: node /opt/rbmap/reader/examples/print-cpu.js [cpu] [seconds]
import { MappedConsumer, RingBufferMapping, TraceFormats, formatEventLine, sys } from '../index.js';

const cpu = Number(process.argv[2] ?? '0');
const until = Date.now() + 1000 * Number(process.argv[3] ?? '5');
const ring = RingBufferMapping.open({ cpu });
const consumer = new MappedConsumer(ring, new TraceFormats());
try {
  for (;;) {
    for (const page of consumer.drain().pages) {
      if (page.lostEvents > 0n) console.log(`CPU ${cpu}: LOST ${page.lostEvents} EVENTS`);
      for (const event of page.events) console.log(formatEventLine(event, cpu, undefined));
    }
    const left = until - Date.now();
    if (left <= 0) break;
    sys.poll(ring.fd, sys.constants.POLLIN, left);
  }
  const { entries, overrun } = ring.updateMeta();
  console.log(`cpu${cpu}: entries=${entries} overrun=${overrun}`);
} finally {
  ring.close();
}
