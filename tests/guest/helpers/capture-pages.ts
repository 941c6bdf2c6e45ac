/**
 * Records real ring-buffer pages for the host decoder tests
 * (tests/host/fixtures/pages/<name>/). Run in a guest shell:
 *
 *   node /opt/rbmap/guest/helpers/capture-pages.js
 *
 * Writes markers on CPU 0 (short ones, a long one that needs a length word, and
 * a pause long enough for a time extend), reads the `trace` file for their
 * microsecond time stamps (the kernel's own rendering: an independent check of
 * the decoder), then read()s the raw pages. Prints one JSON document between
 * RBMAP-FIXTURE-BEGIN and RBMAP-FIXTURE-END lines.
 */
import { readFileSync } from 'node:fs';
import { openTracePipeRaw } from '../lib/mapping.js';
import * as sys from '../lib/sys.js';
import { readAllPages } from '../lib/testing.js';
import {
  captureState,
  kbForRingPages,
  numberedMarkers,
  readTraceFile,
  resetBuffer,
  restoreState,
  setBufferSizeKb,
  topLevel,
  writeMarkers,
} from '../lib/tracefs.js';

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
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
  const fd = openTracePipeRaw({ cpu: 0, nonBlocking: true });
  const data = readAllPages(fd);
  const pageSize = sys.pageSize();
  const pages: string[] = [];
  for (let at = 0; at < data.length; at += pageSize) pages.push(data.subarray(at, at + pageSize).toString('base64'));
  const fixture = {
    kernel: readFileSync('/proc/version', 'utf8').trim(),
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
