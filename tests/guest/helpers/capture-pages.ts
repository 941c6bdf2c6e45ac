/**
 * Records real ring-buffer pages for the host decoder tests
 * (tests/host/fixtures/pages/<name>/). Run in a guest shell:
 *
 *   node /opt/rbmap/tests/guest/helpers/capture-pages.js [read|mmap]
 *
 * Writes markers on CPU 0 (short ones, a long one that needs a length word, and
 * a pause long enough for a time extend), reads the `trace` file for their
 * microsecond time stamps (the kernel's own rendering: an independent check of
 * the decoder), then takes the raw pages: with `read` (the default) by read()
 * of trace_pipe_raw, with `mmap` straight from the mapped ring (a copy of each
 * reader page GET_READER_PAGE hands over). Prints one JSON document between
 * RBMAP-FIXTURE-BEGIN and RBMAP-FIXTURE-END lines.
 */
import { readFileSync } from 'node:fs';
import {
  kbForRingPages,
  openTracePipeRaw,
  readTraceFile,
  resetBuffer,
  RingBufferMapping,
  setBufferSizeKb,
  sys,
  topLevel,
  writeMarkers,
} from '../../../reader/index.js';
import { captureState, restoreState } from '../lib/trace-state.js';
import { numberedMarkers } from '../lib/markers.js';
import { readAllPages } from '../lib/ring.js';
import { sleepMs } from '../lib/waiting.js';

const source = process.argv[2] ?? 'read';
if (source !== 'read' && source !== 'mmap') throw new Error(`unknown source ${source} (read or mmap)`);

/** Copies of the reader pages of a mapped cpu0 ring, in hand-over order (non-empty ones). */
function mappedPages(): Buffer[] {
  const ring = RingBufferMapping.open({ cpu: 0 });
  try {
    const pages: Buffer[] = [];
    const take = (): void => {
      const view = ring.readerPageView();
      const copy = Buffer.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      if (copy.readUInt32LE(8) !== 0) pages.push(copy); // commit != 0: has events
    };
    while (ring.getReaderPage()) take();
    return pages;
  } finally {
    ring.close();
  }
}

sys.setAffinity(0);
const state = captureState();
try {
  setBufferSizeKb(topLevel, kbForRingPages(8), 0);
  resetBuffer(topLevel);
  const markers = [
    ...numberedMarkers('fixture-a', 60),
    `fixture-long-${'x'.repeat(300)}`,
    'fixture-before-pause',
  ];
  writeMarkers(topLevel, markers);
  sleepMs(400); // > 2^27 ns: the next event needs a time extend
  const after = ['fixture-after-pause', ...numberedMarkers('fixture-b', 150)];
  writeMarkers(topLevel, after);
  const all = [...markers, ...after];

  const micros = new Map<string, string>();
  for (const line of readTraceFile(topLevel, 'trace').split('\n')) {
    const match = /\s(\d+)\.(\d{6}): [^:]+: (fixture-\S+)$/.exec(line);
    if (match !== null) micros.set(match[3]!, `${match[1]}${match[2]}`.replace(/^0+(?=\d)/, ''));
  }
  const pageSize = sys.pageSize();
  const pages: string[] = [];
  if (source === 'read') {
    const data = readAllPages(openTracePipeRaw({ cpu: 0, nonBlocking: true }));
    for (let at = 0; at < data.length; at += pageSize) pages.push(data.subarray(at, at + pageSize).toString('base64'));
  } else {
    for (const page of mappedPages()) pages.push(page.toString('base64'));
  }
  const fixture = {
    kernel: readFileSync('/proc/version', 'utf8').trim(),
    source: source === 'read' ? 'read() of per_cpu/cpu0/trace_pipe_raw' : 'reader pages of the mapped per_cpu/cpu0/trace_pipe_raw (GET_READER_PAGE)',
    pageSize,
    headerPage: readFileSync('/sys/kernel/tracing/events/header_page', 'utf8'),
    headerEvent: readFileSync('/sys/kernel/tracing/events/header_event', 'utf8'),
    printFormat: readFileSync('/sys/kernel/tracing/events/ftrace/print/format', 'utf8'),
    markers: all,
    micros: all.map((marker) => micros.get(marker) ?? null),
    pages,
  };
  process.stdout.write(`RBMAP-FIXTURE-BEGIN\n${JSON.stringify(fixture)}\nRBMAP-FIXTURE-END\n`);
} finally {
  restoreState(state);
}
