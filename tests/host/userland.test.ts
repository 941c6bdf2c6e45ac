/**
 * The userland of a guest of another architecture (harness/rootfs/userland.ts): what it
 * reads from Debian's package records and from the binaries, without running them.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { architectures } from '../../vm/index.js';
import { appletsInBinary, parsePackageRecord, parseReadelf, resolveUserland } from '../../harness/rootfs/userland.js';

t.test('a package record: version, architecture, section and the first alternative of each dependency', async (t) => {
  const record = parsePackageRecord([
    'Package: libnode108',
    'Version: 18.20.4+dfsg-1~deb12u3',
    'Architecture: arm64',
    'Pre-Depends: libc6 (>= 2.17)',
    'Depends: libbrotli1 (>= 1.0.0), libc-ares2 (>= 1.18.1~), node-acorn (>= 6.2.1~), nodejs:any | nodejs (<< 12.22.5~dfsg-4~)',
    'Section: libs',
    '',
    'Package: libnode108',
    'Version: 18.20.4+dfsg-1~deb12u2',
    'Architecture: arm64',
    '',
  ].join('\n'));
  t.same(record, {
    name: 'libnode108',
    architecture: 'arm64',
    version: '18.20.4+dfsg-1~deb12u3',
    section: 'libs',
    depends: ['libc6', 'libbrotli1', 'libc-ares2', 'node-acorn', 'nodejs'],
  });
  t.equal(parsePackageRecord('N: Unable to locate package nothing\n'), null, 'no record');
});

t.test("busybox's applets read from its own name table are the ones it lists", async (t) => {
  const busybox = '/bin/busybox';
  const listed = String((await execa(busybox, ['--list'])).stdout).split('\n').filter((name) => name !== '' && name !== 'busybox');
  const read = appletsInBinary(await readFile(busybox));
  t.ok(listed.length > 100, `the host's busybox lists ${listed.length} applets`);
  t.same(read, listed);
  t.same(appletsInBinary(Buffer.from('no table here\0\0')), [], 'a binary without the table gives none');
  t.same(appletsInBinary(Buffer.from('\0[\0[[\0sh\0ash\0\0', 'latin1')), [], 'an unsorted table is not taken for one');
});

t.test("readelf -dl output: the libraries a binary needs and its loader", async (t) => {
  const text = [
    'Program Headers:',
    '  INTERP         0x000238 0x0000000000000238 0x0000000000000238 0x00001b 0x00001b R   0x1',
    '      [Requesting program interpreter: /lib/ld-linux-aarch64.so.1]',
    'Dynamic section at offset 0xfdd0 contains 28 entries:',
    '  Tag        Type                         Name/Value',
    ' 0x0000000000000001 (NEEDED)             Shared library: [libnode.so.108]',
    ' 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]',
    ' 0x000000000000000c (INIT)               0x1000',
  ].join('\n');
  t.same(parseReadelf(text), { needed: ['libnode.so.108', 'libc.so.6'], interpreter: '/lib/ld-linux-aarch64.so.1' });
  t.same(parseReadelf(' 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n'), { needed: ['libc.so.6'], interpreter: null });
});

t.test('an architecture apt lists nothing for is a setup error that says how to add it', async (t) => {
  await t.rejects(resolveUserland({ ...architectures.x86_64!, name: 'rbmap-no-such-arch', debianArch: 'rbmap-no-such-arch' }), {
    code: 'E_ROOTFS',
    message: /the Debian archive this host uses has no busybox-static for rbmap-no-such-arch/,
    hint: /rbmap doctor --install --arch rbmap-no-such-arch/,
  });
});
