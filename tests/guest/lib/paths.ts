/** Where the guest tests find the programs they run: their helper scripts, the reader's scripts, the native benchmark. */
import { fileURLToPath } from 'node:url';

/** The benchmark's native reader and writer (rootfs/bench/rbmap_bench.c). */
export const BENCH_BINARY = '/opt/rbmap/bin/rbmap-bench';

/** Absolute path of a compiled helper script in tests/guest/helpers/. */
export function helperPath(name: string): string {
  return fileURLToPath(new URL(`../helpers/${name}.js`, import.meta.url));
}

/** Absolute path of a compiled script of the reader library: readerScript('bin/rbmap-cat'). */
export function readerScript(name: string): string {
  return fileURLToPath(new URL(`../../../reader/${name}.js`, import.meta.url));
}
