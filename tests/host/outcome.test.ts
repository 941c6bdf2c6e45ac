import t from 'tap';
import { ExitCode, exitCodeOf, outcomeOrder, worst } from '../../harness/common/outcome.js';
import { RbmapError } from '../../harness/common/errors.js';

t.test('worst(): the order the README documents, a kernel crash worst of all', async (t) => {
  t.equal(worst([]), 'pass');
  t.equal(worst(['pass', 'test-failure']), 'test-failure');
  t.equal(worst(['test-failure', 'setup-error']), 'setup-error');
  t.equal(worst(['setup-error', 'timeout', 'test-failure']), 'timeout');
  t.equal(worst(['timeout', 'kernel-crash', 'pass']), 'kernel-crash');
  t.same([...outcomeOrder], ['pass', 'test-failure', 'setup-error', 'timeout', 'kernel-crash']);
});

t.test('each outcome has its exit code', async (t) => {
  t.same(outcomeOrder.map(exitCodeOf), [ExitCode.pass, ExitCode.testFailure, ExitCode.setupError, ExitCode.timeout, ExitCode.kernelCrash]);
});

t.test('an error comes to an outcome; a usage error to none, with its own exit code', async (t) => {
  t.equal(new RbmapError('E_BUILD', 'x').outcome, 'setup-error');
  t.equal(new RbmapError('E_WATCHDOG', 'x').exitCode, ExitCode.timeout);
  t.equal(new RbmapError('E_RESULTS', 'x').outcome, 'test-failure');
  t.equal(new RbmapError('E_USAGE', 'x').outcome, null);
  t.equal(new RbmapError('E_USAGE', 'x').exitCode, ExitCode.usage);
});
