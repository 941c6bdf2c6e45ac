/** The host side of the host↔guest contract: what rootfs/init and the guest tests read and write. */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import {
  announcedSuite,
  bootDoneMarker,
  guestCommandLineWords,
  lastAnnouncedSuite,
  parseStatusLine,
  probeOkMarker,
  resultPorts,
} from '../../harness/src/contract.js';
import { projectPaths } from '../../harness/src/paths.js';

t.test('status line', async (t) => {
  t.equal(parseStatusLine('rbmap-exit 0\n'), 0);
  t.equal(parseStatusLine('noise\r\nrbmap-exit 1\r\n'), 1);
  t.equal(parseStatusLine('rbmap-exit 125\nrbmap-exit 2\n'), 2, 'the last one wins');
  t.equal(parseStatusLine(''), null);
  t.equal(parseStatusLine('rbmap-exit'), null);
});

t.test('suite lines', async (t) => {
  t.equal(announcedSuite('# rbmap-suite: mapping.test.js'), 'mapping.test.js');
  t.equal(announcedSuite('# rbmap-suite:   mapping.test.js  \r'), 'mapping.test.js');
  t.equal(announcedSuite('# rbmap-suite:'), null);
  t.equal(announcedSuite('    # rbmap-suite: nested.test.js'), null, 'only at the start of a line');
  const tap = '# rbmap-suite: coexist.test.js\nTAP version 13\nok 1 - a\n1..1\n# rbmap-suite: mapping.test.js\nTAP version 13\nok 1 - b\n';
  t.equal(lastAnnouncedSuite(tap), 'mapping.test.js');
  t.equal(lastAnnouncedSuite('TAP version 13\n'), null);
});

t.test('kernel command line words', async (t) => {
  t.same(guestCommandLineWords({ mode: 'probe' }), ['rbmap.mode=probe']);
  t.same(
    guestCommandLineWords({ mode: 'test', testTimeoutS: 120, filter: 'a b', keepGoing: true, stressSeconds: 10, stressSeed: 7, benchSeconds: 3, benchRounds: 2 }),
    [
      'rbmap.mode=test', 'rbmap.test_timeout=120', 'rbmap.filter=612062', 'rbmap.keep_going=1',
      'rbmap.stress_seconds=10', 'rbmap.stress_seed=7', 'rbmap.bench=full', 'rbmap.bench_seconds=3', 'rbmap.bench_rounds=2',
    ],
  );
  t.same(guestCommandLineWords({ mode: 'test', keepGoing: false }), ['rbmap.mode=test'], 'keep_going only when asked');
  t.same(guestCommandLineWords({ mode: 'test', benchSeconds: 3, benchCopyPathsOnly: true }), ['rbmap.mode=test', 'rbmap.bench=full', 'rbmap.bench_seconds=3', 'rbmap.bench_methods=copy']);
  t.same(guestCommandLineWords({ mode: 'test', benchSeconds: 3, benchCopyPathsOnly: false }), ['rbmap.mode=test', 'rbmap.bench=full', 'rbmap.bench_seconds=3'], 'bench_methods only when asked');
  t.same(guestCommandLineWords({ mode: 'ftracetest' }), ['rbmap.mode=ftracetest']);
  t.same(guestCommandLineWords({ mode: 'ftracetest', ftracetestCases: ['/a.tc', '/a.tc'] }), ['rbmap.mode=ftracetest', `rbmap.ftracetest_cases=${Buffer.from('/a.tc /a.tc').toString('hex')}`]);
});

t.test('the guest /init speaks the same contract', async (t) => {
  const init = await readFile(projectPaths.rootfsInit, 'utf8');
  t.ok(init.includes(`echo "${bootDoneMarker}"`), 'init prints the boot marker');
  t.ok(init.includes(`echo "${probeOkMarker}"`), 'init prints the probe marker');
  for (const port of Object.values(resultPorts)) t.ok(init.includes(`port_dev ${port};`), `init looks up ${port}`);
  t.ok(init.includes('--test-reporter=$runner/tap-per-file.js') && init.includes('"$runner/run-files.js"'), 'init runs the files with the per-file reporter');
  t.ok(init.includes('echo "rbmap-exit $code"'), 'init writes the status line');
  for (const key of ['mode', 'filter', 'test_timeout', 'keep_going', 'ftracetest_cases']) t.ok(init.includes(`rbmap.${key}=*)`), `init reads rbmap.${key}`);
  t.match(init, /^ftracetest\)\n\trun_ftracetest$/m, 'init runs ftracetest in mode ftracetest');
  t.ok(init.includes('./ftracetest -v') && init.includes('>"$tap_port"'), "ftracetest's output goes to the TAP port");
});
