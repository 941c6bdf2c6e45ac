/** Waiting in the guest tests: a blocking sleep, and a wait for a process to sleep in the kernel. */
import { readFileSync } from 'node:fs';

/** Block the thread for `ms` (the guest tests are synchronous where timing matters). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Wait until the main thread of `pid` sleeps in the kernel function matching
 * `where` (/proc/PID/wchan), e.g. /ring_buffer_wait/. Returns the last wchan
 * seen; never throws (on timeout the caller goes on with what it has).
 */
export async function waitForKernelWait(pid: number, where: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let wchan = '';
  while (Date.now() < deadline) {
    try {
      wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8').trim();
    } catch {
      return wchan;
    }
    if (where.test(wchan)) return wchan;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return wchan;
}
