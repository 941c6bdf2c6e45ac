/** The architecture records are data the harness reads; arm64 is the second one. */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { architectures } from '../../vm/index.js';
import { doctor, hostRequirements } from '../../harness/commands/doctor.js';
import { projectRoot } from '../../harness/common/paths.js';
import { buildQemuArgs } from '../../harness/boot/qemu.js';

t.test('every record names a fragment that exists and a cross compiler it asks doctor for', async (t) => {
  t.same(Object.keys(architectures).sort(), ['arm64', 'x86_64']);
  for (const arch of Object.values(architectures)) {
    t.ok(existsSync(join(projectRoot, arch.configFragment)), `${arch.name}: ${arch.configFragment}`);
    const packages = hostRequirements(arch).map((r) => r.debianPackage);
    t.ok(packages.includes(arch.qemuPackage), `${arch.name}: doctor checks ${arch.qemuPackage}`);
    if (arch.crossCompile !== '') t.ok(hostRequirements(arch).some((r) => r.probe === `/usr/bin/${arch.crossCompile}gcc`), `${arch.name}: doctor checks ${arch.crossCompile}gcc`);
  }
});

t.test('arm64 boots on QEMU virt with a PL011 console', async (t) => {
  const args = buildQemuArgs({ arch: architectures['arm64']!, kernel: 'Image', initrd: 'i.cpio', smp: 2, memMb: 1024, accel: 'tcg', append: ['rbmap.mode=test'], interactive: false });
  t.same(args.slice(0, 4), ['-machine', 'virt,gic-version=3,accel=tcg', '-cpu', 'max,pauth-impdef=on']);
  t.match(args[args.indexOf('-append') + 1] ?? '', /^console=ttyAMA0 /);
});

t.test("doctor, for a guest whose architecture dpkg does not list, says how to add it (the guest's userland comes from there)", async (t) => {
  const lines: string[] = [];
  const arch = { ...architectures['arm64']!, name: 'rbmap-test', debianArch: 'rbmap-no-such-arch', hostPackages: [] };
  await t.rejects(doctor(arch, { install: false, log: (line) => lines.push(line) }), {
    code: 'E_HOST_DEPS',
    message: /apt does not list Debian's rbmap-no-such-arch packages/,
    hint: /dpkg --add-architecture rbmap-no-such-arch && apt-get update/,
  });
  t.match(lines.join('\n'), /MISSING rbmap-no-such-arch package lists/);
});

t.test('doctor marks a missing package MISSING (and only that one) before it fails', async (t) => {
  const lines: string[] = [];
  const arch = { ...architectures['x86_64']!, hostPackages: [{ debianPackage: 'rbmap-no-such-package', purpose: 'a test', probe: '/nonexistent/rbmap-probe' }] };
  await t.rejects(doctor(arch, { install: false, log: (line) => lines.push(line) }), { code: 'E_HOST_DEPS', message: /rbmap-no-such-package/ });
  t.same(lines.filter((line) => line.includes('MISSING')).map((line) => line.split(/\s+/)[2]), ['rbmap-no-such-package']);
});
