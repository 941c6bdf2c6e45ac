/**
 * One architecture = one plain data record. The harness never branches on an
 * architecture name; it reads what it needs from here.
 */
export interface ArchRecord {
  /** Name used on the command line and in build folder names. */
  name: string;
  /** Kernel ARCH= value. */
  kernelArch: string;
  /** CROSS_COMPILE prefix ('' for a native build). */
  crossCompile: string;
  /** Image to boot, relative to the kernel build folder. */
  kernelImage: string;
  /** QEMU binary. */
  qemuBinary: string;
  /** Machine and CPU arguments for software emulation (TCG). */
  qemuTcgArgs: string[];
  /** Machine and CPU arguments when KVM is used. */
  qemuKvmArgs: string[];
  /** Kernel console device (console=...). */
  console: string;
  /** Config fragment with what this architecture needs to boot under QEMU. */
  configFragment: string;
  /** Debian package providing the QEMU binary. */
  qemuPackage: string;
  /** Debian's name of the architecture (dpkg --print-architecture). */
  debianArch: string;
  /** Host packages only this architecture needs (a cross compiler), with the file that proves each. */
  hostPackages: readonly { debianPackage: string; purpose: string; probe: string }[];
}
