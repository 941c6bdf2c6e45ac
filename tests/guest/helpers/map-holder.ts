/**
 * Child process: map a CPU buffer and hold the mapping until told otherwise.
 *
 *   node map-holder.js <cpu> [instance]
 *
 * Prints `mapped <json>` (meta page + sha256 of the meta page and of each data
 * page by ID), then obeys stdin lines:
 *   digest  print `digest <json>` again
 *   unmap   unmap, print `unmapped`
 *   exit    (or end of input) exit 0
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { RingBufferMapping } from '../../../reader/index.js';

const cpu = Number(process.argv[2] ?? '0');
const instance = process.argv[3] ?? null;

function sha(view: DataView): string {
  return createHash('sha256').update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).digest('hex');
}

let ring: RingBufferMapping | null = RingBufferMapping.open({ cpu, instance });

function digest(): string {
  if (ring === null) return JSON.stringify({ mapped: false });
  const meta = ring.meta();
  const pages: string[] = [];
  for (let id = 0; id < ring.pageIdCount; id++) pages.push(sha(ring.pageView(id)));
  // The meta page's 64-bit counters are bigints: JSON carries them as decimal strings.
  const bigintsAsText = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);
  return JSON.stringify({ meta, metaSha: sha(ring.metaView()), pages }, bigintsAsText);
}

process.stdout.write(`mapped ${digest()}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = line.trim();
  if (command === 'digest') {
    process.stdout.write(`digest ${digest()}\n`);
  } else if (command === 'unmap') {
    ring?.close();
    ring = null;
    process.stdout.write('unmapped\n');
  } else if (command === 'exit') {
    ring?.close();
    process.exit(0);
  }
});
lines.on('close', () => {
  ring?.close();
  process.exit(0);
});
