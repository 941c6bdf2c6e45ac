/**
 * One guest test = one clean tracefs state: a cross-process lock so that test files never
 * share tracefs at the same time, and a cleanup stack (unmap, close, rmdir, free the
 * snapshot) run even when the test fails.
 */
import { closeSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import {
  freeSnapshot,
  hasCode,
  removeInstanceIfPresent,
  resetBuffer,
  snapshotSupported,
  sys,
  topLevel,
  type TraceArray,
} from '../../../reader/index.js';
import { captureState, restoreState } from './trace-state.js';
import { sleepMs } from './waiting.js';

// One test file at a time may touch tracefs (node --test runs files in parallel
// when the guest has more than two CPUs).
const LOCK_DIR = '/tmp/rbmap-tracefs.lock';
const LOCK_OWNER = `${LOCK_DIR}/pid`;
let lockHeld = false;

function lockOwnerAlive(): boolean {
  try {
    const pid = Number(readFileSync(LOCK_OWNER, 'utf8'));
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`);
  } catch {
    return true; // being created right now: treat as alive
  }
}

function acquireTracefsLock(timeoutMs = 600_000): void {
  if (lockHeld) return;
  const deadline = Date.now() + timeoutMs;
  let ownerlessSince: number | null = null;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(LOCK_OWNER, String(process.pid));
      lockHeld = true;
      process.on('exit', releaseTracefsLock);
      return;
    } catch (error) {
      if (!hasCode(error, 'EEXIST')) throw error;
    }
    if (!lockOwnerAlive()) {
      ownerlessSince ??= Date.now();
      if (Date.now() - ownerlessSince > 500) rmSync(LOCK_DIR, { recursive: true, force: true });
    } else {
      ownerlessSince = null;
    }
    if (Date.now() > deadline) throw new Error(`tracefs lock ${LOCK_DIR} still held after ${timeoutMs} ms`);
    sleepMs(50);
  }
}

function releaseTracefsLock(): void {
  if (!lockHeld) return;
  lockHeld = false;
  rmSync(LOCK_DIR, { recursive: true, force: true });
}

export class Cleanup {
  private readonly actions: Array<{ what: string; action: () => void }> = [];

  /** Register an action; actions run last-registered first. */
  add(what: string, action: () => void): void {
    this.actions.push({ what, action });
  }

  /** Something with a close() (a RingBufferMapping, a MarkerWriter). */
  closes<T extends { close(): void }>(what: string, resource: T): T {
    this.add(`close ${what}`, () => resource.close());
    return resource;
  }

  fd(fd: number, what = `fd ${fd}`): number {
    this.add(`close ${what}`, () => {
      try {
        closeSync(fd);
      } catch (error) {
        if (!hasCode(error, 'EBADF')) throw error;
      }
    });
    return fd;
  }

  instance(name: string): void {
    this.add(`remove instance ${name}`, () => removeInstanceIfPresent(name));
  }

  /** Free the snapshot buffer of the array afterwards (top level or instance). */
  snapshot(array: TraceArray = topLevel): void {
    this.add(`free snapshot of ${array.name ?? 'top level'}`, () => {
      if (snapshotSupported(array)) freeSnapshot(array);
    });
  }

  /** Run everything; returns the failures (never throws). */
  runAll(): string[] {
    const failures: string[] = [];
    while (this.actions.length > 0) {
      const { what, action } = this.actions.pop()!;
      try {
        action();
      } catch (error) {
        failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return failures;
  }
}

export interface TraceTestContext {
  readonly t: TestContext;
  readonly cleanup: Cleanup;
}

export interface TraceTestOptions {
  readonly timeout?: number;
}

/**
 * A node:test test that holds the tracefs lock, starts from an empty top-level
 * buffer, and afterwards runs its cleanups and restores sizes, clock and
 * tracing_on. A failing cleanup fails the test (state must not leak).
 */
export function traceTest(name: string, body: (context: TraceTestContext) => void | Promise<void>, options: TraceTestOptions = {}): void {
  test(name, { timeout: options.timeout ?? 60_000 }, async (t) => {
    acquireTracefsLock();
    // Markers are written from this thread: keep it on CPU 0 unless a test moves it.
    sys.setAffinity(0);
    const state = captureState();
    resetBuffer(topLevel);
    const cleanup = new Cleanup();
    let bodyError: unknown = null;
    try {
      await body({ t, cleanup });
    } catch (error) {
      bodyError = error;
    }
    const failures = cleanup.runAll();
    try {
      restoreState(state);
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
    if (bodyError !== null) {
      if (failures.length > 0 && bodyError instanceof Error) {
        bodyError.message += `\n(cleanup also failed: ${failures.join('; ')})`;
      }
      throw bodyError;
    }
    if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
  });
}
