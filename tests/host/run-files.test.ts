/**
 * The guest's one-process runner (guest/runner/run-files.ts) and its reporter
 * (tap-per-file.ts), run on the host over small test files: the stream must be what
 * the host's TAP parser reads, one document per file.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { distRoot } from '../../harness/common/paths.js';
import { parseTap } from '../../harness/results/nodeTap.js';
import { traceMappingsIn } from '../../guest/runner/leftovers.js';

const runnerDir = join(distRoot, 'guest', 'runner');

async function runFiles(folder: string, ...args: string[]) {
  const r = await execa('node', [`--test-reporter=${join(runnerDir, 'tap-per-file.js')}`, join(runnerDir, 'run-files.js'), ...args, folder], { reject: false });
  return { exitCode: r.exitCode, tap: String(r.stdout) };
}

t.test('one process, one TAP document per file, failures and a file that does not load', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'rbmap-run-files-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  await writeFile(join(folder, 'package.json'), '{"type":"module"}\n');
  await writeFile(join(folder, 'a.test.js'), [
    "import { test } from 'node:test';",
    "test('a passes', (t) => { t.diagnostic('bench-result {\"x\":1}'); });",
    "test('a fails', () => { throw new Error('boom'); });",
    "export const pid = process.pid;",
  ].join('\n'));
  await writeFile(join(folder, 'b.test.js'), [
    "import { describe, test } from 'node:test';",
    "import { pid } from './a.test.js';",
    "test('b runs in the same process as a', () => { if (pid !== process.pid) throw new Error('another process'); });",
    "describe('b group', () => { test('b nested', () => {}); });",
  ].join('\n'));
  await writeFile(join(folder, 'c.test.js'), "import { test } from 'node:test';\nthrow new Error('cannot load');\n");
  await writeFile(join(folder, 'helper.js'), 'export {};\n');

  const all = await runFiles(folder, '--keep-going');
  t.equal(all.exitCode, 1, 'a failing test fails the run');
  const parsed = parseTap(all.tap);
  t.same(parsed.problems, [], 'the host parser finds nothing wrong with the stream');
  t.same(
    parsed.results.map((r) => [r.name, r.status]),
    [
      ['a.test.js > a passes', 'pass'],
      ['a.test.js > a fails', 'fail'],
      ['b.test.js > b runs in the same process as a', 'pass'],
      ['b.test.js > b group > b nested', 'pass'],
      ['c.test.js > c.test.js', 'fail'],
    ],
  );
  t.match(all.tap, /^# bench-result \{"x":1\}$/m, 'diagnostics pass through');
  t.match(parsed.results.find((r) => r.name === 'c.test.js > c.test.js')?.diagnostic ?? '', /cannot load/, 'a file that does not load says why');

  const stopping = await runFiles(folder);
  const stopped = parseTap(stopping.tap).results.map((r) => [r.name, r.status]);
  t.same(stopped.slice(0, 2), [['a.test.js > a passes', 'pass'], ['a.test.js > a fails', 'fail']]);
  t.same(stopped.slice(2).map(([name]) => name), [
    'b.test.js > not run: a.test.js failed first (rbmap run --keep-going runs every file)',
    'c.test.js > not run: a.test.js failed first (rbmap run --keep-going runs every file)',
  ], 'without --keep-going the files after the first failing one are reported as not run');
  t.ok(stopped.slice(2).every(([, status]) => status === 'fail'));
});

t.test('a test name pattern skips the others, file by file', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'rbmap-run-files-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  await writeFile(join(folder, 'package.json'), '{"type":"module"}\n');
  await writeFile(join(folder, 'x.test.js'), "import { test } from 'node:test';\ntest('resize: one', () => {});\ntest('other', () => {});\n");
  const r = await execa('node', [
    `--test-reporter=${join(runnerDir, 'tap-per-file.js')}`, '--test-name-pattern=^resize:', join(runnerDir, 'run-files.js'), folder,
  ], { reject: false });
  t.equal(r.exitCode, 0);
  t.same(parseTap(String(r.stdout)).results.map((x) => [x.name, x.status]), [['x.test.js > resize: one', 'pass'], ['x.test.js > other', 'skip']]);
});

t.test('a file that leaves a trace_pipe_raw descriptor open fails, and the next file starts without it', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'rbmap-run-files-'));
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  await writeFile(join(folder, 'package.json'), '{"type":"module"}\n');
  await writeFile(join(folder, 'trace_pipe_raw'), '');
  await writeFile(join(folder, 'a.test.js'), [
    "import { openSync } from 'node:fs';",
    "import { after, test } from 'node:test';",
    "const kept = openSync(new URL('./trace_pipe_raw', import.meta.url), 'r');",
    "const closedByItsHook = openSync(new URL('./trace_pipe_raw', import.meta.url), 'r');",
    "after(async () => (await import('node:fs')).closeSync(closedByItsHook));",
    "test('a passes', () => {});",
    "export { kept };",
  ].join('\n'));
  await writeFile(join(folder, 'b.test.js'), [
    "import { readdirSync, readlinkSync } from 'node:fs';",
    "import { test } from 'node:test';",
    "test('b sees no trace_pipe_raw descriptor', () => {",
    "  const open = readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`).endsWith('/trace_pipe_raw'); } catch { return false; } });",
    "  if (open.length > 0) throw new Error(`still open: ${open.join(', ')}`);",
    "});",
  ].join('\n'));
  const r = await runFiles(folder, '--keep-going');
  t.equal(r.exitCode, 1);
  const parsed = parseTap(r.tap);
  t.same(parsed.problems, []);
  t.same(parsed.results.map((x) => [x.name, x.status]), [
    ['a.test.js > a passes', 'pass'],
    ['a.test.js > a.test.js', 'fail'],
    ['b.test.js > b sees no trace_pipe_raw descriptor', 'pass'],
  ]);
  const why = parsed.results[1]?.diagnostic ?? '';
  t.match(why, /a\.test\.js left open fd \d+ on \S+\/trace_pipe_raw behind; the runner unmapped and closed them/);
  t.notMatch(why, /fd \d+ on .*, open fd/, "the descriptor the file's own after-hook closed is not reported");
});

t.test('trace_pipe_raw mappings are found in /proc/self/maps, other mappings are not', async (t) => {
  const maps = [
    '7f3c1a000000-7f3c1a003000 r--s 00000000 00:0c 1061                       /sys/kernel/tracing/per_cpu/cpu0/trace_pipe_raw',
    '7f3c1a003000-7f3c1a004000 r--s 00003000 00:0c 1061                       /sys/kernel/tracing/instances/x/per_cpu/cpu1/trace_pipe_raw',
    '7f3c1b000000-7f3c1b021000 rw-p 00000000 00:00 0 ',
    '7f3c1c000000-7f3c1c001000 r--p 00000000 08:01 42                         /usr/lib/trace_pipe_raw.so',
    '55d0c0000000-55d0c0001000 r-xp 00000000 08:01 7                          /usr/bin/node',
  ].join('\n');
  t.same(traceMappingsIn(maps).map((m) => [m.end - m.start, m.path]), [
    [0x3000n, '/sys/kernel/tracing/per_cpu/cpu0/trace_pipe_raw'],
    [0x1000n, '/sys/kernel/tracing/instances/x/per_cpu/cpu1/trace_pipe_raw'],
  ]);
});
