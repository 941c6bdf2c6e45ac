/** The progress line of long stages, the streamed command runner, and make's status. */
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeStatus } from '../../harness/build/build.js';
import { runStreamed, runWithProgress } from '../../harness/common/proc.js';
import { ProgressLine, formatElapsed, type ProgressSink } from '../../harness/common/progress.js';

function recorder(isTTY: boolean): ProgressSink & { text: string } {
  const sink = {
    isTTY,
    columns: 60,
    text: '',
    write(chunk: string): boolean {
      sink.text += chunk;
      return true;
    },
  };
  return sink;
}

t.test('formatElapsed', async (t) => {
  t.equal(formatElapsed(0), '0s');
  t.equal(formatElapsed(59_999), '59s');
  t.equal(formatElapsed(61_000), '1m01s');
  t.equal(formatElapsed(754_000), '12m34s');
});

t.test('without a terminal: a plain line at each interval, with the latest status', async (t) => {
  const sink = recorder(false);
  const progress = new ProgressLine('build', { sink, plainEveryMs: 30 });
  progress.update('12 objects compiled, now in kernel/trace');
  await sleep(100);
  progress.end();
  const lines = sink.text.split('\n').filter((line) => line !== '');
  t.ok(lines.length >= 2, `two lines or more in 100 ms: ${JSON.stringify(lines)}`);
  t.match(lines[0], /^build: 12 objects compiled, now in kernel\/trace \(0s\)$/);
  t.notMatch(sink.text, /\r|\x1b/, 'no terminal control characters in a log');
  const after = sink.text;
  await sleep(80);
  t.equal(sink.text, after, 'nothing more after end()');
});

t.test('on a terminal: one line redrawn in place, cut to the width, erased at the end', async (t) => {
  const sink = recorder(true);
  const progress = new ProgressLine('build', { sink, redrawEveryMs: 0 });
  progress.update('1 objects compiled, now in init');
  progress.update(`2 objects compiled, now in ${'drivers/'.repeat(20)}`);
  progress.end();
  const draws = sink.text.split('\r\x1b[K').filter((d) => d !== '');
  t.equal(draws.length, 2, 'one draw per update');
  t.equal(draws[0], 'build: 1 objects compiled, now in init (0s)');
  t.ok((draws[1] ?? '').length <= 59 && (draws[1] ?? '').endsWith('…'), `cut to the terminal width: ${draws[1]}`);
  t.ok(sink.text.endsWith('\r\x1b[K'), 'the live line is erased');
  t.notMatch(sink.text, /\n/, 'no new lines on a terminal');
});

t.test('makeStatus counts compiled objects and names the folder of the last one', async (t) => {
  const status = makeStatus();
  t.equal(status('  SYNC    include/config/auto.conf'), undefined);
  t.equal(status('  CC      init/main.o'), '1 objects compiled, now in init');
  t.equal(status('  AS      arch/x86/entry/entry_64.o'), '2 objects compiled, now in arch/x86/entry');
  t.equal(status('  CC [M]  fs/foo/bar.o'), '3 objects compiled, now in fs/foo');
  t.equal(status('kernel/trace/ring_buffer.c:12:3: warning: unused variable'), undefined);
});

t.test('runStreamed: every line to the log, the status to the progress, kept lines returned', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rbmap-progress-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'make.log');
  const sink = recorder(false);
  const script = 'echo "  CC      init/main.o"; echo "a.c:1:2: warning: w" >&2; sleep 0.2; echo "  CC      mm/slab.o"';
  const result = await runStreamed('sh', ['-c', script], {
    label: 'build', logFile, status: makeStatus(), keep: (line) => line.includes('warning:'), progress: { sink, plainEveryMs: 100 },
  });
  t.equal(result.failed, false);
  t.same(result.kept, ['a.c:1:2: warning: w']);
  t.same((await readFile(logFile, 'utf8')).split('\n').sort(), ['', '  CC      init/main.o', '  CC      mm/slab.o', 'a.c:1:2: warning: w'].sort());
  t.match(sink.text, /^build: 1 objects compiled, now in init \(0s\)$/m, 'a plain progress line while it ran');

  const failed = await runStreamed('sh', ['-c', 'for i in $(seq 1 100); do echo line $i; done; exit 3'], { label: 'x', progress: { sink } });
  t.equal(failed.failed, true);
  t.equal(failed.outcome, 'exit code 3');
  t.equal(failed.tail.split('\n').length, 40, 'only the last lines are kept');
  t.ok(failed.tail.endsWith('line 100'));
  await t.rejects(
    runWithProgress('sh', ['-c', 'echo oops; exit 2'], { label: 'x', progress: { sink }, errorCode: 'E_SOURCE', hint: 'h' }),
    { code: 'E_SOURCE', message: /sh -c echo oops; exit 2 failed \(exit code 2\)\noops/ },
  );
});
