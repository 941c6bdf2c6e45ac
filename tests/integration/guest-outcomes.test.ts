// End-to-end outcomes of the real pipeline (real kernel, real QEMU): a guest that hangs
// is ended by the watchdog with the timeout exit code, a guest whose kernel crashes
// is reported as a kernel crash, and a QEMU that refuses to start gives a summary too. Run after `rbmap run`, which leaves the kernel and the
// initramfs in the cache, so these boots build nothing.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { ExitCode } from '../../harness/common/outcome.js';
import { projectRoot } from '../../harness/common/paths.js';
import type { RunSummary } from '../../harness/results/report.js';
import type { RunRecord } from '../../harness/common/runFolder.js';

/** The parts of summary.json these tests read. */
type RunSummaryView = Pick<RunSummary, 'verdict' | 'findings' | 'reasons'> & { boot: Pick<RunSummary['boot'], 'reason'> };

const cli = join(projectRoot, 'dist', 'harness', 'commands', 'cli.js');

async function runGuest(mode: string, extra: string[]): Promise<{ exitCode: number; summary: RunSummaryView; record: RunRecord; output: string }> {
  const out = await mkdtemp(join(tmpdir(), `rbmap-${mode}-`));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const r = await execa('node', [cli, 'run', '--guest-mode', mode, '--kvm', 'tcg', '--out', out, ...extra], { reject: false, all: true });
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummaryView;
  const record = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunRecord;
  return { exitCode: r.exitCode ?? -1, summary, record, output: typeof r.all === 'string' ? r.all : '' };
}

t.test('a guest that hangs silently is ended by the no-output watchdog (exit 3)', async (t) => {
  const started = Date.now();
  const r = await runGuest('hang', ['--watchdog', '10', '--boot-timeout', '120', '--timeout', '300']);
  if (r.exitCode !== ExitCode.timeout) t.comment(r.output);
  t.equal(r.exitCode, ExitCode.timeout, 'exit code 3 (timeout)');
  t.equal(r.summary.verdict, 'timeout');
  t.equal(r.summary.boot.reason, 'watchdog');
  t.ok(Date.now() - started < 200_000, 'ended by the watchdog, well before the overall timeout');
});

t.test('a guest whose kernel panics is reported as a kernel crash (exit 2)', async (t) => {
  const r = await runGuest('crash', ['--watchdog', '60', '--timeout', '300']);
  if (r.exitCode !== ExitCode.kernelCrash) t.comment(r.output);
  t.equal(r.exitCode, ExitCode.kernelCrash, 'exit code 2 (kernel crash)');
  t.equal(r.summary.verdict, 'kernel-crash');
  t.ok(r.summary.findings.some((f) => f.kind === 'panic'), 'the panic is among the console findings');
});

t.test('a QEMU that cannot start still gives a summary, a verdict and the console scan (exit 4)', async (t) => {
  // More vCPUs than the q35 machine takes: QEMU refuses before the guest runs.
  const r = await runGuest('test', ['--smp', '4096', '--timeout', '120']);
  if (r.exitCode !== ExitCode.setupError) t.comment(r.output);
  t.equal(r.exitCode, ExitCode.setupError, 'exit code 4 (setup error)');
  t.equal(r.summary.verdict, 'setup-error');
  t.equal(r.summary.boot.reason, 'qemu-error');
  t.match(r.summary.reasons.join('\n'), /QEMU failed .*max CPUs/, "the reason quotes QEMU's own message");
  t.same(r.summary.findings, [], 'the console was scanned (and is empty)');
  t.equal(r.record.arch, 'x86_64', 'run.json names the architecture');
  t.match(r.record.qemu.binary, /qemu-system-x86_64$/, 'run.json names the QEMU binary');
  const smp = r.record.qemu.argv.indexOf('-smp');
  t.equal(r.record.qemu.argv[smp + 1], '4096', 'run.json holds the argument vector QEMU was given');
});
