import t from 'tap';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootOutcomeError, runQemu, type BootOptions } from '../../harness/boot/boot.js';
import { projectRoot } from '../../harness/common/paths.js';

const fakeQemu = join(projectRoot, 'tests', 'host', 'fixtures', 'fake-qemu.mjs');
const dir = mkdtempSync(join(tmpdir(), 'rbmap-boot-'));

function options(mode: string, overrides: Partial<BootOptions> = {}): BootOptions {
  const channel = join(dir, `${mode}.channel`);
  return {
    command: process.execPath,
    args: [fakeQemu],
    consoleLogPath: join(dir, `${mode}.console.log`),
    bootTimeoutMs: 5000,
    runTimeoutMs: 20000,
    watchdogMs: 1000,
    watchedFiles: [channel],
    killGraceMs: 1000,
    env: { ...process.env, FAKE_QEMU_MODE: mode, FAKE_QEMU_CHANNEL: channel },
    ...overrides,
  };
}

t.test('a guest that exits: console logged whole, lines delivered, boot time measured', async (t) => {
  const lines: string[] = [];
  const outcome = await runQemu(options('exit', { onLine: (line) => lines.push(line) }));
  t.equal(outcome.reason, 'exited');
  t.equal(outcome.qemuExitCode, 0);
  t.equal(outcome.signal, null);
  t.ok(outcome.bootMs !== null && outcome.bootMs >= 0, 'marker split across writes still found');
  const log = readFileSync(outcome.consoleLog, 'utf8');
  t.equal(log, 'SeaBIOS (version fake)\r\n[    0.000000] Linux version 6.1.0-fake\r\nrbmap-guest: init\r\nline with no terminator');
  t.equal(outcome.consoleBytes, Buffer.byteLength(log));
  t.same(lines, ['SeaBIOS (version fake)', '[    0.000000] Linux version 6.1.0-fake', 'rbmap-guest: init', 'line with no terminator']);
  t.equal(readFileSync(join(dir, 'exit.channel'), 'utf8'), 'rbmap-exit 0\n');
  t.equal(bootOutcomeError(outcome, { bootTimeoutMs: 1, runTimeoutMs: 1, watchdogMs: 1 }), null);
});

t.test('marker, then silence: watchdog', async (t) => {
  const outcome = await runQemu(options('silent-after-init'));
  t.equal(outcome.reason, 'watchdog');
  t.equal(outcome.signal, 'SIGTERM');
  t.ok(outcome.durationMs >= 1000 && outcome.durationMs < 8000, `took ${outcome.durationMs} ms`);
  t.match(readFileSync(outcome.consoleLog, 'utf8'), /rbmap-guest: running/);
  t.match(bootOutcomeError(outcome, { bootTimeoutMs: 5000, runTimeoutMs: 20000, watchdogMs: 1000 }), { code: 'E_WATCHDOG' });
});

t.test('growth of a result channel keeps the watchdog quiet', async (t) => {
  const outcome = await runQemu(options('channel-activity', { watchdogMs: 1000 }));
  t.equal(outcome.reason, 'exited', 'ran 1.6 s with a 1 s watchdog and no console output after the marker');
  const channel = join(dir, 'channel-activity.channel');
  const first = outcome.firstOutputMs[channel];
  t.ok(first !== undefined && first > 0 && first <= outcome.durationMs, `first channel output at ${String(first)} ms is recorded`);
});

t.test('no boot marker: boot timeout', async (t) => {
  const outcome = await runQemu(options('no-marker', { bootTimeoutMs: 1500, watchdogMs: 500 }));
  t.equal(outcome.reason, 'boot-timeout');
  t.equal(outcome.bootMs, null);
  t.ok(outcome.durationMs >= 1500 && outcome.durationMs < 8000, `took ${outcome.durationMs} ms`);
  t.match(bootOutcomeError(outcome, { bootTimeoutMs: 1500, runTimeoutMs: 20000, watchdogMs: 500 }), { code: 'E_BOOT_TIMEOUT' });
});

t.test('run timeout, and SIGKILL when SIGTERM is ignored', async (t) => {
  const outcome = await runQemu(options('ignore-sigterm', { runTimeoutMs: 1500, watchdogMs: 0, killGraceMs: 500 }));
  t.equal(outcome.reason, 'run-timeout');
  t.equal(outcome.signal, 'SIGKILL');
  t.match(readFileSync(outcome.consoleLog, 'utf8'), /ignoring SIGTERM/, 'output up to the kill is in the log');
});

t.test('QEMU errors', async (t) => {
  const failed = await runQemu(options('qemu-fails'));
  t.equal(failed.reason, 'qemu-error');
  t.equal(failed.qemuExitCode, 1);
  t.match(failed.stderr, /could not open kernel file/);
  t.match(bootOutcomeError(failed, { bootTimeoutMs: 1, runTimeoutMs: 1, watchdogMs: 1 }), { code: 'E_QEMU' });

  const missing = await runQemu(options('exit', { command: join(dir, 'no-such-qemu') }));
  t.equal(missing.reason, 'qemu-error');
  t.match(missing.stderr, /could not start .*no-such-qemu: .*ENOENT/);
  t.ok(existsSync(missing.consoleLog));
});
