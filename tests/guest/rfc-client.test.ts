/**
 * The compatibility promise: a reader written the way the RFC's demo is
 * (rootfs/rfc-client/rbmap_rfc_client.c: libtracefs, libtraceevent's kbuffer, the
 * RFC's meta fields only, data mapped at one page) keeps working on the series.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { RingBufferMapping, sys, topLevel, writeMarkers } from '../../reader/index.js';
import { numberedMarkers } from './lib/markers.js';
import { smallCpu0Ring } from './lib/ring.js';
import { traceTest } from './lib/trace-test.js';

const RFC_CLIENT = '/opt/rbmap/bin/rbmap-rfc-client';

interface RfcClientRun {
  readonly meta: Map<string, string>;
  readonly prints: string[];
}

function runRfcClient(cpu: number): RfcClientRun {
  const run = spawnSync(RFC_CLIENT, [String(cpu)], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `${RFC_CLIENT} ${cpu}: status ${run.status}, signal ${run.signal}, stderr ${JSON.stringify(run.stderr)}`);
  const meta = new Map<string, string>();
  const prints: string[] = [];
  for (const line of run.stdout.split('\n')) {
    const print = /^print: (.*)$/.exec(line);
    if (print) prints.push(print[1]!.replace(/\n$/, ''));
    const field = /^(\w+): (\d+)$/.exec(line);
    if (field && !print) meta.set(field[1]!, field[2]!);
  }
  return { meta, prints };
}

traceTest('rfc-client: the RFC-style reader (libtracefs + kbuffer, meta page at 0, data at one page) prints every marker once', ({ cleanup }) => {
  smallCpu0Ring(8);
  const markers = numberedMarkers('rfc', 300);
  writeMarkers(topLevel, markers);

  const first = runRfcClient(0);
  assert.equal(first.meta.get('entries'), String(markers.length), 'entries, read at the RFC offset');
  assert.equal(first.meta.get('overrun'), '0', 'overrun, read at the RFC offset');
  assert.equal(first.meta.get('nr_data_pages'), '8', 'nr_data_pages, read at the RFC offset');
  assert.deepEqual(first.prints, markers, 'every marker, in order, through kbuffer');

  // What it consumed is gone for the next reader, of either kind.
  const again = runRfcClient(0);
  assert.deepEqual(again.prints, [], 'a second run finds nothing left');
  const ring = cleanup.closes('cpu0 mapping', RingBufferMapping.open({ cpu: 0 }));
  assert.equal(ring.meta().metaPageSize, sys.pageSize(), "a ring whose list fits one page keeps the RFC's layout");
});
