/**
 * Host tests of the guest rootfs builder (harness/rootfs/rootfs.ts), the addon
 * build (harness/rootfs/addon.ts) and the addon itself through its typed wrapper
 * (reader/sys.ts), on the host's own kernel.
 */
import t from 'tap';
import { closeSync, constants as fsConstants, openSync, readFileSync, writeSync } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { execa } from 'execa';
import { buildAddon, buildGuestPrograms } from '../../harness/rootfs/addon.js';
import { projectPaths } from '../../harness/common/paths.js';
import { buildRootfs } from '../../harness/rootfs/rootfs.js';

// Four ~105 MB images: far more than tap's 30 s default on a busy 2-core host.
t.setTimeout(300_000);

const work = await mkdtemp(join(tmpdir(), 'rbmap-rootfs-test-'));
t.teardown(() => rm(work, { recursive: true, force: true }));

const cacheDir = join(work, 'cache');
const lines: string[] = [];
const log = (line: string): void => {
  lines.push(line);
};

/** The relative imports (static and dynamic) of a compiled ES module. */
function relativeImports(code: string): string[] {
  return [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] ?? '');
}

/** The relative imports of the image's compiled modules under /opt/rbmap that name no file of the image. */
async function unresolvedImports(image: string, entries: ReadonlySet<string>): Promise<string[]> {
  const unpacked = await mkdtemp(join(work, 'unpacked-'));
  await execa('cpio', ['-id', '--quiet', '--no-absolute-filenames'], { inputFile: image, cwd: unpacked });
  const unresolved: string[] = [];
  for (const module of [...entries].filter((e) => e.startsWith('opt/rbmap/') && e.endsWith('.js'))) {
    for (const spec of relativeImports(await readFile(join(unpacked, module), 'utf8'))) {
      if (!entries.has(posix.join(posix.dirname(module), spec))) unresolved.push(`${module} -> ${spec}`);
    }
  }
  return unresolved;
}

/** Paths in a cpio, as `cpio -it` lists them. */
async function listCpio(path: string): Promise<string[]> {
  const { stdout } = await execa('cpio', ['-it', '--quiet'], { inputFile: path });
  return stdout.split('\n').filter((s) => s !== '');
}

const addonPath = await buildAddon({ cacheDir, crossCompile: '', log });
const programs = await buildGuestPrograms({ cacheDir, crossCompile: '', log });

t.test('addon build is cached', async (t) => {
  const again = await buildAddon({ cacheDir, crossCompile: '', log });
  t.equal(again, addonPath, 'same source, flags and node: same file');
  t.match(lines.join('\n'), /native: cached .*rbmap_sys-/);
});

t.test('rootfs: contents, cache hit, rebuild on change, stale files left out', async (t) => {
  const sources = join(work, 'src');
  const compiled = join(work, 'dist');
  await mkdir(join(sources, 'lib'), { recursive: true });
  await mkdir(join(compiled, 'lib'), { recursive: true });
  for (const source of ['smoke.test.ts', join('lib', 'helper.ts')]) await writeFile(join(sources, source), '// source\n');
  await writeFile(join(compiled, 'smoke.test.js'), "import { test } from 'node:test';\ntest('smoke', () => {});\n");
  await writeFile(join(compiled, 'lib', 'helper.js'), 'export const x = 1;\n');
  await writeFile(join(compiled, 'renamed.test.js'), "import { test } from 'node:test';\ntest('renamed', () => {});\n");
  await writeFile(join(compiled, 'renamed.test.js.map'), '{}\n');
  const readerSources = join(work, 'reader-src');
  const readerCompiled = join(work, 'reader-dist');
  await mkdir(join(readerSources, 'bin'), { recursive: true });
  await mkdir(join(readerCompiled, 'bin'), { recursive: true });
  await writeFile(join(readerSources, 'bin', 'rbmap-cat.ts'), '// source\n');
  await writeFile(join(readerCompiled, 'bin', 'rbmap-cat.js'), '#!/usr/bin/env node\nconsole.log(1);\n');
  const guestTrees = [
    { compiled: readerCompiled, sources: readerSources, target: '/opt/rbmap/reader' },
    { compiled, sources, target: '/opt/rbmap/tests/guest' },
  ];
  const initPath = join(work, 'init');
  await copyFile(projectPaths.guestInit, initPath);

  lines.length = 0;
  const first = await buildRootfs({ cacheDir, architecture: 'x86_64', addonPath, programs, guestTrees, initPath, log });
  t.equal(first.rebuilt, true, 'cold build builds');
  t.ok(first.bytes > 1_000_000, `image has a real size (${first.bytes} bytes)`);
  t.ok(first.path.startsWith(join(cacheDir, 'rootfs')), 'image lives in the cache');
  t.match(lines.join('\n'), /left out 2 stale file\(s\) .*renamed\.test\.js/, 'the stale files are named');

  const entries = new Set(await listCpio(first.path));
  const nodePath = process.execPath.replace(/^\//, '');
  for (const want of [
    'init',
    'bin/busybox',
    'bin/sh',
    'bin/mount',
    nodePath,
    'usr/bin/node',
    'opt/rbmap/addon/rbmap_sys.node',
    'opt/rbmap/bin/rbmap-bench',
    'opt/rbmap/tests/guest/smoke.test.js',
    'opt/rbmap/tests/guest/lib/helper.js',
    'opt/rbmap/package.json',
    'opt/rbmap/reader/bin/rbmap-cat.js',
    'usr/bin/rbmap-cat',
    'dev',
    'proc',
    'sys',
    'tmp',
  ]) {
    t.ok(entries.has(want), `cpio holds ${want}`);
  }
  t.notOk(entries.has('opt/rbmap/tests/guest/renamed.test.js'), 'a compiled file without its source is not packed');
  const { stdout: ldd } = await execa('ldd', [process.execPath], { reject: false });
  for (const m of ldd.matchAll(/(?:=>\s+)?(\/\S+)\s+\(0x/g)) {
    const lib = (m[1] ?? '').replace(/^\//, '');
    t.ok(entries.has(lib), `cpio holds node's library ${lib}`);
  }

  const second = await buildRootfs({ cacheDir, architecture: 'x86_64', addonPath, programs, guestTrees, initPath, log });
  t.same(second, { path: first.path, rebuilt: false, bytes: first.bytes }, 'unchanged inputs reuse the image');

  await appendFile(initPath, '# changed\n');
  const third = await buildRootfs({ cacheDir, architecture: 'x86_64', addonPath, programs, guestTrees, initPath, log });
  t.equal(third.rebuilt, true, 'a changed init rebuilds');
  t.not(third.path, first.path, 'under a new name');

  await writeFile(join(compiled, 'lib', 'helper.js'), 'export const x = 2;\n');
  const fourth = await buildRootfs({ cacheDir, architecture: 'x86_64', addonPath, programs, guestTrees, initPath, log });
  t.equal(fourth.rebuilt, true, 'a changed guest file rebuilds');
});

t.test("rootfs: a guest of another architecture gets its userland's tree, busybox, node and applets, and none of the host's", async (t) => {
  // A stand-in for debianUserland()'s unpacked packages: the layout is what is tested here.
  const root = join(work, 'userland-root');
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'usr', 'bin'), { recursive: true });
  await mkdir(join(root, 'usr', 'share', 'nodejs', 'acorn'), { recursive: true });
  await writeFile(join(root, 'bin', 'busybox'), 'guest busybox\n', { mode: 0o755 });
  await writeFile(join(root, 'usr', 'bin', 'node'), 'guest node\n', { mode: 0o755 });
  await writeFile(join(root, 'usr', 'share', 'nodejs', 'acorn', 'index.js'), 'export {};\n');
  await symlink('node', join(root, 'usr', 'bin', 'nodejs'));
  const userland = { root, busybox: '/bin/busybox', node: '/usr/bin/node', applets: ['mount', 'sh'], packages: ['nodejs:arm64=18.20.4'] };
  const guestTrees = projectPaths.guestTrees;

  const image = await buildRootfs({ cacheDir, architecture: 'arm64', addonPath, programs, guestTrees, initPath: projectPaths.guestInit, userland, log });
  const entries = new Set(await listCpio(image.path));
  for (const want of ['bin/busybox', 'bin/sh', 'bin/mount', 'usr/bin/node', 'usr/bin/nodejs', 'usr/share/nodejs/acorn/index.js', 'init']) {
    t.ok(entries.has(want), `cpio holds ${want}`);
  }
  for (const want of [
    'opt/rbmap/guest/runner/run-files.js', 'opt/rbmap/guest/runner/tap-per-file.js', 'opt/rbmap/guest/runner/leftovers.js',
    'opt/rbmap/guest/contract.js', 'opt/rbmap/guest/cmdline.js', 'opt/rbmap/tests/guest/lib/trace-state.js', 'opt/rbmap/reader/index.js',
  ]) {
    t.ok(entries.has(want), `cpio holds ${want} (what /init runs and the tests import)`);
  }
  t.notOk([...entries].some((e) => e.startsWith('opt/rbmap/tests/guest/runner/')), 'no runner left under the tests');
  t.same(await unresolvedImports(image.path, entries), [], 'every relative import of the compiled guest files resolves inside the image');
  t.notOk(entries.has('bin/ls'), "only the guest busybox's applets are linked");
  const nodePath = process.execPath.replace(/^\//, '');
  if (nodePath !== 'usr/bin/node') t.notOk(entries.has(nodePath), "the host's node is not packed");
  const hostLibc = (await listCpio(image.path)).filter((e) => /libc\.so\.6$/.test(e));
  t.same(hostLibc, [], "the host's libraries are not packed");
  const { stdout: node } = await execa('cpio', ['-i', '--quiet', '--to-stdout', 'usr/bin/node'], { inputFile: image.path });
  t.equal(node, 'guest node', "usr/bin/node is the userland's");

  const again = await buildRootfs({ cacheDir, architecture: 'arm64', addonPath, programs, guestTrees, initPath: projectPaths.guestInit, userland: { ...userland, packages: ['nodejs:arm64=18.20.5'] }, log });
  t.not(again.path, image.path, 'another package version is another image');
  const kept = async (architecture: string): Promise<number> => (await readdir(join(cacheDir, 'rootfs', architecture))).filter((n) => n.endsWith('.cpio')).length;
  t.equal(await kept('arm64'), 2, 'both arm64 images are kept');
  t.equal(await kept('x86_64'), 3, "the x86_64 images are not pruned by the other architecture's");
});

t.test('rootfs: a compiled folder without guest files is an E_ROOTFS error with a hint', async (t) => {
  const empty = join(work, 'empty-guest');
  await mkdir(empty, { recursive: true });
  await t.rejects(
    buildRootfs({
      cacheDir, architecture: 'x86_64', addonPath, programs, guestTrees: [{ compiled: empty, sources: empty, target: '/opt/rbmap/tests/guest' }],
      initPath: projectPaths.guestInit, log,
    }),
    { code: 'E_ROOTFS', hint: /npm run build/ },
  );
});

t.test('addon on the host kernel', { skip: process.platform !== 'linux' ? 'Linux only' : false }, async (t) => {
  process.env['RBMAP_ADDON'] = addonPath;
  const sys = (await import('../../reader/index.js')).sys;
  const { constants: c } = sys;
  const page = sys.pageSize();
  t.ok(page >= 4096 && (page & (page - 1)) === 0, `page size ${page}`);

  const file = join(work, 'data.bin');
  const content = Buffer.alloc(page, 0);
  content.write('hello rbmap');
  await writeFile(file, content);
  const fd = openSync(file, 'r');
  t.teardown(() => closeSync(fd));

  const m = sys.mmap(fd, page, c.PROT_READ, c.MAP_SHARED, 0);
  t.equal(typeof m.addr, 'bigint');
  t.equal(m.length, page);
  t.equal(m.buffer.byteLength, page);
  t.equal(Buffer.from(m.buffer, 0, 11).toString(), 'hello rbmap', 'the mapping shows the file');
  t.equal(sys.touch(m.addr), 'h'.charCodeAt(0), 'touch() reads the first byte');
  t.equal(new Uint8Array(sys.viewOf(m.addr + 1n, 4))[0], 'e'.charCodeAt(0), 'viewOf() sees the same memory');
  t.equal(sys.forkProbe(m.addr, page), true, 'a shared file mapping is inherited by fork()');

  try {
    sys.mprotect(m.addr, page, c.PROT_READ | c.PROT_WRITE);
    t.fail('mprotect to writable on an O_RDONLY shared mapping must fail');
  } catch (e) {
    t.ok(sys.isSysError(e) && e.code === 'EACCES' && e.syscall === 'mprotect', `mprotect: ${String(e)}`);
  }

  sys.munmap(m);
  t.equal(m.buffer.byteLength, 0, 'munmap detaches the ArrayBuffer');
  t.throws(() => sys.munmap(m), { code: 'EINVAL', syscall: 'munmap' }, 'a second munmap of a detached buffer is refused');

  try {
    sys.ioctl(fd, 0x5401 /* TCGETS */);
    t.fail('ioctl TCGETS on a regular file must fail');
  } catch (e) {
    t.ok(sys.isSysError(e), 'a SysError');
    if (sys.isSysError(e)) {
      t.equal(e.code, 'ENOTTY');
      t.equal(e.errno, 25);
      t.equal(e.syscall, 'ioctl');
      t.match(e.message, /ioctl/);
      t.match(e.message, /Inappropriate ioctl/);
    }
  }
  t.same(sys.isatty(fd), { tty: false, code: 'ENOTTY' });

  t.equal(sys.splice(fd, 5).toString(), 'hello', 'splice() moves file data through the pipe');

  t.throws(() => sys.mmap(999_999, page, c.PROT_READ, c.MAP_SHARED, 0), { code: 'EBADF', errno: 9, syscall: 'mmap' });
  t.throws(() => sys.mmap(fd, 0, c.PROT_READ, c.MAP_SHARED, 0), RangeError, 'length 0 is refused before the call');
  t.notOk(sys.isSysError(new Error('plain')), 'a plain Error is not a SysError');

  const fifo = join(work, 'fifo');
  await execa('mkfifo', [fifo]);
  const pfd = openSync(fifo, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  t.teardown(() => closeSync(pfd));
  const started = Date.now();
  t.equal(sys.poll(pfd, c.POLLIN, 50), 0, 'poll on an empty pipe times out with 0');
  t.ok(Date.now() - started >= 45, 'after the timeout');
  writeSync(pfd, 'x');
  t.equal(sys.poll(pfd, c.POLLIN, 1000) & c.POLLIN, c.POLLIN, 'POLLIN once there is data');
});

t.test('addon pollAsync: waits on the event loop', { skip: process.platform !== 'linux' ? 'Linux only' : false }, async (t) => {
  process.env['RBMAP_ADDON'] = addonPath;
  const sys = (await import('../../reader/index.js')).sys;
  const { constants: c } = sys;
  const fifo = join(work, 'fifo-async');
  await execa('mkfifo', [fifo]);
  const pfd = openSync(fifo, fsConstants.O_RDWR);
  t.teardown(() => closeSync(pfd));

  let started = Date.now();
  t.equal(await sys.pollAsync(pfd, c.POLLIN, 50), 0, 'an empty pipe times out with 0');
  t.ok(Date.now() - started >= 45, 'after the timeout');

  started = Date.now();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  setTimeout(() => writeSync(pfd, 'x'), 60);
  const revents = await sys.pollAsync(pfd, c.POLLIN, -1);
  clearInterval(ticker);
  t.equal(revents & c.POLLIN, c.POLLIN, 'POLLIN once a timer on the same loop wrote to it');
  t.ok(ticks >= 3, `timers ran while it waited (${ticks} ticks)`);
  t.equal(fdinfoSaysNonBlocking(pfd), false, 'the fd is still blocking, as it was opened');

  const first = sys.pollAsync(pfd, c.POLLOUT, 1000);
  t.equal(sys.pollAsyncPending(pfd), true, 'pending until it calls back');
  await t.rejects(sys.pollAsync(pfd, c.POLLIN, 10), /already has a wait pending/, 'a second wait on the same fd is refused');
  t.equal((await first) & c.POLLOUT, c.POLLOUT, 'the first one still completes');
  t.equal(sys.pollAsyncPending(pfd), false);
  await t.rejects(sys.pollAsync(999_999, c.POLLIN, 10), { code: 'EBADF' }, 'a bad fd rejects with a SysError');
  await t.rejects(sys.pollAsync(pfd, c.POLLHUP, 10), RangeError, 'POLLHUP alone is not a wait');
});

/** O_NONBLOCK in the fd's flags, as /proc/self/fdinfo shows them (octal). */
function fdinfoSaysNonBlocking(fd: number): boolean {
  const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (flags === null) throw new Error(`no flags line in /proc/self/fdinfo/${fd}`);
  return (parseInt(flags[1]!, 8) & fsConstants.O_NONBLOCK) !== 0;
}
