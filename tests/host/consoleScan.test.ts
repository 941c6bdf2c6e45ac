import t from 'tap';
import { join } from 'node:path';
import { scanConsole, scanConsoleFile } from '../../harness/boot/consoleScan.js';
import { projectRoot } from '../../harness/common/paths.js';

const fixture = (name: string): string => join(projectRoot, 'tests', 'host', 'fixtures', name);

t.test('a clean 6.1 boot has no findings', async (t) => {
  t.same(scanConsoleFile(fixture('console-clean-boot.log')), []);
  t.same(scanConsoleFile(fixture('console-real-6.1-tcg-boot.log')), [], 'recorded: rbmap kernel under QEMU TCG, guest tests run, reboot');
});

t.test('NULL dereference oops, then the panic_on_oops panic', async (t) => {
  const findings = scanConsoleFile(fixture('console-oops.log'));
  t.same(findings.map((finding) => [finding.kind, finding.line]), [['bug', 69], ['panic', 106]]);
  const excerpt = findings[0]?.excerpt.split('\n') ?? [];
  t.match(excerpt[0], /rbmap-guest|\[/, 'starts a few lines before the hit');
  t.equal(excerpt.length, 103 - 69 + 1 + 3);
  t.match(excerpt[excerpt.length - 1], /---\[ end trace 0000000000000000 \]---/);
  t.ok(excerpt.some((line) => /Oops: 0000 \[#1\]/.test(line)));
  t.match(findings[1]?.excerpt, /---\[ end Kernel panic - not syncing: Fatal exception \]---$/);
});

t.test('WARN with cut here and end trace is one warning finding', async (t) => {
  const findings = scanConsoleFile(fixture('console-warn.log'));
  t.equal(findings.length, 1);
  t.equal(findings[0]?.kind, 'warning');
  t.equal(findings[0]?.line, 70);
  t.match(findings[0]?.excerpt, /cut here[\s\S]*WARNING: CPU: 0 PID: 88 at kernel\/trace\/ring_buffer\.c:6021[\s\S]*end trace 0+ \]---$/);
});

t.test('lockdep splat (no end-trace line) gets a bounded excerpt', async (t) => {
  const findings = scanConsoleFile(fixture('console-lockdep.log'));
  t.equal(findings.length, 1);
  t.equal(findings[0]?.kind, 'lockdep');
  t.equal(findings[0]?.line, 71);
  const lines = findings[0]?.excerpt.split('\n') ?? [];
  t.ok(lines.length <= 44 && lines.length >= 40);
  t.ok(lines.some((line) => line.includes('*** DEADLOCK ***')));
});

t.test('panic', async (t) => {
  const findings = scanConsoleFile(fixture('console-panic.log'));
  t.same(findings.map((finding) => finding.kind), ['panic']);
  t.match(findings[0]?.excerpt, /Attempted to kill init![\s\S]*---\[ end Kernel panic/);
});

t.test('other kinds and CRLF consoles', async (t) => {
  const kinds = (text: string): string[] => scanConsole(text).map((finding) => finding.kind);
  t.same(kinds('[ 1.0] BUG: KASAN: slab-out-of-bounds in rb_map_fault+0x1/0x2\r\n'), ['kasan']);
  t.same(kinds('[ 1.0] WARNING: inconsistent lock state\r\n'), ['lockdep']);
  t.same(kinds('[ 1.0] WARNING: possible recursive locking detected\n'), ['lockdep']);
  t.same(kinds('[ 1.0] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI\n'), ['general-protection-fault']);
  t.same(kinds('[ 1.0] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008\n'), ['unable-to-handle']);
  t.same(kinds('[ 1.0] kernel BUG at kernel/trace/ring_buffer.c:100!\n'), ['bug']);
  t.same(kinds('[ 1.0] INFO: task node:90 blocked for more than 120 seconds.\n'), ['hung-task']);
  t.same(kinds('[ 1.0] RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable\n[ 1.1] Kernel command line: panic=-1\n'), []);
});
