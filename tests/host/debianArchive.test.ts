/** --kernel-version: Debian's kernel source packages by version. */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { hasUpstreamMapping, parseMadison, sourcePackageOf } from '../../harness/source/debianArchive.js';
import { ExitCode } from '../../harness/common/outcome.js';
import { distRoot } from '../../harness/common/paths.js';

const cli = join(distRoot, 'harness', 'commands', 'cli.js');
const rbmap = async (...args: string[]) => {
  const r = await execa('node', [cli, ...args], { reject: false });
  return { exitCode: r.exitCode, stderr: String(r.stderr) };
};

t.test('sourcePackageOf and hasUpstreamMapping', async (t) => {
  t.equal(sourcePackageOf('6.1.170-3'), 'linux-source-6.1');
  t.equal(sourcePackageOf('6.12.117-1~deb12u1'), 'linux-source-6.12');
  t.throws(() => sourcePackageOf('6.1'), { code: 'E_USAGE' });
  t.throws(() => sourcePackageOf('latest'), { code: 'E_USAGE' });
  t.equal(hasUpstreamMapping('6.1.192-3'), false);
  t.equal(hasUpstreamMapping('6.9.12-1'), false);
  t.equal(hasUpstreamMapping('6.10.1-1'), true);
  t.equal(hasUpstreamMapping('6.12.117-1~deb12u1'), true);
  t.equal(hasUpstreamMapping('7.0.1-1'), true);
});

t.test('parseMadison', async (t) => {
  const text = [
    'linux-source-6.1 |  6.1.192-3 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages',
    'linux-source-6.1 |  6.1.176-1 | http://deb.debian.org/debian bookworm/main amd64 Packages',
    'linux-source-6.1 |  6.1.176-1 | http://deb.debian.org/debian bookworm/main Sources',
    '',
  ].join('\n');
  t.same(parseMadison(text), ['6.1.192-3', '6.1.176-1']);
  t.same(parseMadison(''), []);
});

t.test('the CLI: bad values are usage errors, 6.10+ is refused at once, an absent version lists the others', async (t) => {
  const bad = await rbmap('run', '--kernel-version', 'newest');
  t.equal(bad.exitCode, ExitCode.usage);
  t.match(bad.stderr, /expected a Debian kernel version such as 6\.1\.170-3/);
  const both = await rbmap('run', '--kernel-version', '6.1.170-3', '--kernel-src', '/tmp');
  t.equal(both.exitCode, ExitCode.usage);
  t.match(both.stderr, /--kernel-version and --kernel-src exclude each other/);

  const started = Date.now();
  const upstream = await rbmap('run', '--kernel-version', '6.12.117-1~deb12u1');
  t.equal(upstream.exitCode, ExitCode.setupError, '6.12: a setup error');
  t.match(upstream.stderr, /Linux 6\.12\.117-1~deb12u1 already has upstream's ring-buffer mapping \(struct trace_buffer_meta/);
  t.ok(Date.now() - started < 20_000, 'at once: nothing is downloaded');

});

t.test('a version the archive does not hold is a setup error listing the ones it has', {
  skip: existsSync('/usr/bin/apt-cache') ? false : 'no apt-cache on this host: the Debian archive cannot be asked',
}, async (t) => {
  const absent = await rbmap('run', '--kernel-version', '6.1.1-1');
  t.equal(absent.exitCode, ExitCode.setupError);
  t.match(absent.stderr, /linux-source-6\.1 6\.1\.1-1 is not in the Debian archive this host uses; it has 6\.1\.\d+-\d+/);
});
