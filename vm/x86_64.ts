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
  hostPackages: [],
};
