/**
 * Smoke tests: the guest, tracefs and the decoder work. They need no mapping
 * and pass on an unpatched kernel too.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  decodePage,
  formatTimestamp,
  markerText,
  onlineCpus,
  openTracePipeRaw,
  perCpuPath,
  readTraceFile,
  sys,
  topLevel,
  writeMarkers,
} from '../../reader/index.js';
import { markersOfRawPages, numberedMarkers } from './lib/markers.js';
import { formats, readAllPages } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';
import { sleepMs } from './lib/waiting.js';

traceTest('a trace_marker write appears in the trace file', () => {
  const marker = `rbmap-smoke-${process.pid}-${Date.now()}`;
  writeMarkers(topLevel, [marker]);
  const trace = readTraceFile(topLevel, 'trace');
  assert.ok(trace.includes(`: ${marker}`), `marker missing from trace:\n${trace.slice(-2000)}`);
});

traceTest('per_cpu/cpuN/trace_pipe_raw exists for every online CPU', () => {
  const cpus = onlineCpus();
  assert.ok(cpus.length >= 1, 'at least one online CPU');
  const missing = cpus.filter((cpu) => !existsSync(perCpuPath(topLevel, cpu, 'trace_pipe_raw')));
  assert.deepEqual(missing, [], `CPUs without trace_pipe_raw: ${missing.join(', ')}`);
});

traceTest('events/header_page parses: u64 timestamp, commit word, data filling the rest of the page', () => {
  const { page } = formats().layouts;
  assert.equal(page.timestampOffset, 0);
  assert.equal(page.timestampSize, 8);
  assert.equal(page.commitOffset, 8);
  assert.ok(page.commitSize === 8 || page.commitSize === 4, `commit size ${page.commitSize}`);
  assert.equal(page.dataOffset, page.commitOffset + page.commitSize);
  assert.equal(page.dataOffset + page.dataCapacity, sys.pageSize(), 'data runs to the end of the page');
});

traceTest('events/header_event parses: type_len 5 bits, time_delta 27 bits, types 29/30/31, max 28', () => {
  assert.deepEqual(formats().layouts.event, {
    typeLenBits: 5,
    timeDeltaBits: 27,
    paddingType: 29,
    timeExtendType: 30,
    timeStampType: 31,
    dataMaxTypeLen: 28,
  });
});

traceTest('events/ftrace/print/format parses: ip and a flexible buf[] after the common fields', () => {
  const print = formats().event('ftrace', 'print');
  assert.ok(print !== null, 'ftrace/print exists');
  assert.deepEqual(
    print.commonFields.map((field) => field.name),
    ['common_type', 'common_flags', 'common_preempt_count', 'common_pid'],
  );
  const buf = print.fields.find((field) => field.name === 'buf');
  assert.ok(buf !== undefined && buf.storage === 'array' && buf.arrayLength === null, 'buf is a flexible array');
});

traceTest('read() of trace_pipe_raw returns pages that decode back to the markers written', ({ cleanup }) => {
  const markers = numberedMarkers('smoke-raw', 40);
  writeMarkers(topLevel, markers);
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, nonBlocking: true }));
  const data = readAllPages(fd);
  assert.equal(data.length % sys.pageSize(), 0, 'trace_pipe_raw reads whole pages');
  assert.deepEqual(markersOfRawPages(data, sys.pageSize()), markers);
});

traceTest('decoded time stamps match the trace file to the microsecond, across a time extend', ({ cleanup }) => {
  const before = numberedMarkers('smoke-ts-a', 20);
  const after = numberedMarkers('smoke-ts-b', 20);
  writeMarkers(topLevel, before);
  sleepMs(300); // more than 2^27 ns: the next event carries a time extend
  writeMarkers(topLevel, after);
  const printed = new Map<string, string>();
  for (const line of readTraceFile(topLevel, 'trace').split('\n')) {
    const match = /\s(\d+\.\d{6}): [^:]+: (smoke-ts-\S+)$/.exec(line);
    if (match !== null) printed.set(match[2]!, match[1]!);
  }
  const fd = cleanup.fd(openTracePipeRaw({ cpu: 0, nonBlocking: true }));
  const data = readAllPages(fd);
  const { layouts, lookup } = formats();
  const decoded: Array<[string, string]> = [];
  let timeExtends = 0;
  for (let at = 0; at < data.length; at += sys.pageSize()) {
    const { walk, events } = decodePage(new DataView(data.buffer, data.byteOffset + at, sys.pageSize()), layouts, lookup);
    timeExtends += walk.timeExtends;
    for (const event of events) decoded.push([markerText(event) ?? '?', formatTimestamp(event.timestamp)]);
  }
  assert.deepEqual(decoded.map(([marker]) => marker), [...before, ...after]);
  assert.deepEqual(
    decoded.map(([marker, stamp]) => `${marker} ${stamp}`),
    decoded.map(([marker]) => `${marker} ${printed.get(marker) ?? 'missing from trace'}`),
  );
  assert.ok(timeExtends >= 1, 'the pause produced a time extend');
});
