/** The host↔guest contract (guest/contract.ts): what the host writes and reads, and that guest/init speaks it too. */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import {
  announcedSuite,
  bootDoneMarker,
  type CommandLineKey,
  guestCommandLineWords,
  guestPaths,
  lastAnnouncedSuite,
  parseStatusLine,
  probeOkMarker,
  resultPorts,
  suiteLine,
} from '../../guest/contract.js';
import { projectPaths } from '../../harness/common/paths.js';

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
  t.equal(suiteLine('mapping.test.js'), '# rbmap-suite: mapping.test.js\n', "the guest reporter's line");
  t.equal(announcedSuite(suiteLine('a b.test.js')), 'a b.test.js', 'the host reads the file the reporter announced');
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
  const init = await readFile(projectPaths.guestInit, 'utf8');
  t.ok(init.includes(`echo "${bootDoneMarker}"`), 'init prints the boot marker');
  t.ok(init.includes(`echo "${probeOkMarker}"`), 'init prints the probe marker');
  for (const port of Object.values(resultPorts)) t.ok(init.includes(`port_dev ${port};`), `init looks up ${port}`);
  t.ok(init.includes(`\nguest_dir=${guestPaths.guest}\n`) && init.includes(`\ntests_dir=${guestPaths.tests}\n`), 'init knows where the runner and the tests are');
  t.ok(init.includes('--test-reporter=$guest_dir/runner/tap-per-file.js') && init.includes('"$guest_dir/runner/run-files.js"'), 'init runs the files with the per-file reporter');
  t.ok(init.includes('set -- "$@" "$tests_dir"'), 'init names the test folder to the runner');
  t.ok(init.includes('echo "rbmap-exit $code"'), 'init writes the status line');
  t.equal(init.match(/rbmap-exit \$EXIT_SETUP/g)?.length, 1, 'one place writes the setup-error status (setup_failed)');
  const initKeys: CommandLineKey[] = ['mode', 'filter', 'test_timeout', 'keep_going', 'ftracetest_cases'];
  for (const key of initKeys) t.ok(init.includes(`rbmap.${key}=*)`), `init reads rbmap.${key}`);
  t.match(init, /^ftracetest\)\n\trun_ftracetest$/m, 'init runs ftracetest in mode ftracetest');
  t.ok(init.includes('./ftracetest -v') && init.includes('>"$tap_port"'), "ftracetest's output goes to the TAP port");
});
