import { existsSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import t from 'tap';
import { guestRunFolder, newRunFolder, runArtifactPaths, runStamp, writeRunRecord, type RunRecord } from '../../harness/common/runFolder.js';

t.test('every command names its folder <time>-<kind>, and latest points at the newest', async (t) => {
  const runs = mkdtempSync(join(tmpdir(), 'rbmap-runs-'));
  const first = newRunFolder(runs, 'bench', new Date('2026-12-07T07:13:13.456Z'));
  t.equal(basename(first), '20261207-071313-bench');
  t.equal(readlinkSync(join(runs, 'latest')), first);
  const second = newRunFolder(runs, 'matrix', new Date('2026-12-07T08:00:00Z'));
  t.equal(basename(second), '20261207-080000-matrix');
  t.equal(readlinkSync(join(runs, 'latest')), second, 'latest moved on');
  t.ok(existsSync(first) && existsSync(second), 'both folders exist');
  t.equal(runStamp(new Date('2027-01-02T03:04:05Z')), '20270102-030405');
});

t.test("a guest run's folder starts without the last run's result streams", async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'rbmap-run-')), 'run');
  const stale = runArtifactPaths(dir);
  guestRunFolder(dir);
  for (const file of [stale.tap, stale.ktap, stale.status, stale.consoleLog]) writeFileSync(file, 'old');
  const artifacts = guestRunFolder(dir);
  t.notOk(existsSync(artifacts.tap) || existsSync(artifacts.ktap) || existsSync(artifacts.status), 'TAP, KTAP and status removed');
  t.ok(existsSync(artifacts.consoleLog), 'the console log is QEMU’s to replace');
});

t.test('run.json holds the architecture and the QEMU command as started', async (t) => {
  const artifacts = guestRunFolder(mkdtempSync(join(tmpdir(), 'rbmap-record-')));
  const record: RunRecord = {
    arch: 'arm64',
    kernel: { tree: 'debian 6.1', srcDir: '/s', buildDir: '/b', series: 'applied', rebuilt: false, image: '/b/Image' },
    initrd: '/i.cpio',
    accel: 'tcg',
    qemu: { binary: 'qemu-system-aarch64', argv: ['-M', 'virt', '-append', 'console=ttyAMA0 rbmap.mode=test'] },
    timingsMs: { guest: 1 },
  };
  writeRunRecord(artifacts, record);
  t.same(JSON.parse(readFileSync(artifacts.record, 'utf8')), record);
});
