import type { ArchRecord } from './arch.js';

/** arm64 under QEMU's `virt` machine: PL011 console, GICv3, PSCI, virtio over PCIe. */
export const arm64: ArchRecord = {
  name: 'arm64',
  kernelArch: 'arm64',
  crossCompile: 'aarch64-linux-gnu-',
  kernelImage: 'arch/arm64/boot/Image',
  qemuBinary: 'qemu-system-aarch64',
  // pauth-impdef: QEMU's own pointer-authentication hash, far cheaper under TCG than QARMA.
  qemuTcgArgs: ['-machine', 'virt,gic-version=3,accel=tcg', '-cpu', 'max,pauth-impdef=on'],
  qemuKvmArgs: ['-machine', 'virt,gic-version=3,accel=kvm', '-cpu', 'host'],
  console: 'ttyAMA0',
  configFragment: 'vm/fragments/arm64.config',
  qemuPackage: 'qemu-system-arm',
  debianArch: 'arm64',
  hostPackages: [
    { debianPackage: 'gcc-aarch64-linux-gnu', purpose: 'cross-compiles the arm64 kernel, the addon and the bench reader', probe: '/usr/bin/aarch64-linux-gnu-gcc' },
    { debianPackage: 'libc6-dev-arm64-cross', purpose: "the arm64 C library's headers and static libc (addon, bench reader)", probe: '/usr/aarch64-linux-gnu/lib/libc.a' },
    { debianPackage: 'libtracefs-dev:arm64', purpose: 'the RFC-style client (rbmap-rfc-client), linked statically', probe: '/usr/lib/aarch64-linux-gnu/libtracefs.a' },
    { debianPackage: 'libtraceevent-dev:arm64', purpose: "the RFC-style client's kbuffer and event parser", probe: '/usr/lib/aarch64-linux-gnu/libtraceevent.a' },
  ],
};
