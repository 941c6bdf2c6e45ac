import type { ArchRecord } from './arch.js';

export const x86_64: ArchRecord = {
  name: 'x86_64',
  kernelArch: 'x86',
  crossCompile: '',
  kernelImage: 'arch/x86/boot/bzImage',
  qemuBinary: 'qemu-system-x86_64',
  qemuTcgArgs: ['-machine', 'q35,accel=tcg', '-cpu', 'max'],
  qemuKvmArgs: ['-machine', 'q35,accel=kvm', '-cpu', 'host'],
  console: 'ttyS0',
  configFragment: 'vm/fragments/x86_64.config',
  qemuPackage: 'qemu-system-x86',
  debianArch: 'amd64',
  hostPackages: [
    { debianPackage: 'libtracefs-dev', purpose: 'the RFC-style client (rbmap-rfc-client), linked statically', probe: '/usr/lib/x86_64-linux-gnu/libtracefs.a' },
    { debianPackage: 'libtraceevent-dev', purpose: "the RFC-style client's kbuffer and event parser", probe: '/usr/lib/x86_64-linux-gnu/libtraceevent.a' },
  ],
};
