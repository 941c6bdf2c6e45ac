/**
 * Typed surface of the rbmap_sys Node-API addon (reader/addon/rbmap_sys.c):
 * the system calls a ring-buffer reader needs and Node.js does not offer.
 *
 * Conventions: sizes and offsets are numbers (bytes), addresses are bigints.
 * A failed system call throws a SysError (`code` = errno name, `errno`,
 * `syscall`); a bad argument throws a TypeError/RangeError.
 *
 * The addon is loaded from $RBMAP_ADDON, else /opt/rbmap/addon/rbmap_sys.node
 * (where the rootfs puts it).
 */
import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';

export const addonPath: string = process.env['RBMAP_ADDON'] ?? '/opt/rbmap/addon/rbmap_sys.node';

/** A live mapping: `buffer` is an external ArrayBuffer over [addr, addr + length). */
export interface Mapping {
  addr: bigint;
  length: number;
  buffer: ArrayBuffer;
}

/** What the addon throws when a system call fails. */
export type SysError = Error & { code: string; errno: number; syscall: string };

export interface IsattyResult {
  tty: boolean;
  /** errno name when `tty` is false (normally 'ENOTTY'), else null. */
  code: string | null;
}

export interface SysConstants {
  readonly PROT_NONE: number;
  readonly PROT_READ: number;
  readonly PROT_WRITE: number;
  readonly PROT_EXEC: number;
  readonly MAP_SHARED: number;
  readonly MAP_PRIVATE: number;
  readonly MAP_FIXED: number;
  readonly MADV_DONTNEED: number;
  readonly MADV_DOFORK: number;
  readonly MADV_DODUMP: number;
  readonly MREMAP_MAYMOVE: number;
  readonly MREMAP_FIXED: number;
  readonly MAP_ANONYMOUS: number;
  readonly POLLIN: number;
  readonly POLLPRI: number;
  readonly POLLOUT: number;
  readonly POLLERR: number;
  readonly POLLHUP: number;
  readonly POLLNVAL: number;
  readonly O_NONBLOCK: number;
  readonly O_RDONLY: number;
  readonly O_WRONLY: number;
  readonly O_RDWR: number;
  readonly SPLICE_F_NONBLOCK: number;
  readonly EAGAIN: number;
}

/** The raw addon, exactly as rbmap_sys.c exports it. */
interface RawAddon {
  mmap(fd: number, length: number, prot: number, flags: number, offsetBytes: number): { addr: bigint; buffer: ArrayBuffer };
  munmap(buffer: ArrayBuffer): void;
  munmapRange(addr: bigint, length: number): void;
  viewOf(addr: bigint, length: number): ArrayBuffer;
  mprotect(addr: bigint, length: number, prot: number): void;
  madvise(addr: bigint, length: number, advice: number): void;
  mmapRaw(addr: bigint, length: bigint, prot: number, flags: number, fd: number, offset: bigint): bigint;
  mremap(addr: bigint, oldLength: number, newLength: number, flags: number, newAddr?: bigint): bigint;
  ioctl(fd: number, request: number, arg?: number | bigint): number;
  ioctlErrno(fd: number, request: number): number;
  poll(fd: number, events: number, timeoutMs: number): number;
  pollAsync(fd: number, events: number, timeoutMs: number, callback: (result: number) => void): void;
  splice(fd: number, length: number, flags?: number): Buffer;
  isatty(fd: number): { tty: boolean; errno: number };
  setAffinity(cpu: number): void;
  forkProbe(addr: bigint, length: number): boolean;
  touch(addr: bigint): number;
  pageSize(): number;
  perfCpuClockOpen(cpu: number): number;
  perfEventId(fd: number): bigint;
  constants: SysConstants;
}

const rawFunctions = [
  'mmap', 'mmapRaw', 'munmap', 'munmapRange', 'viewOf', 'mprotect', 'madvise', 'mremap', 'ioctl', 'ioctlErrno',
  'poll', 'pollAsync', 'splice', 'isatty', 'setAffinity', 'forkProbe', 'touch', 'pageSize', 'perfCpuClockOpen', 'perfEventId',
] as const;

function isRawAddon(value: unknown): value is RawAddon {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return rawFunctions.every((name) => typeof record[name] === 'function') &&
    typeof record['constants'] === 'object' && record['constants'] !== null;
}

function loadAddon(path: string): RawAddon {
  const require = createRequire(import.meta.url);
  let loaded: unknown;
  try {
    loaded = require(path);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new Error(
      `cannot load the rbmap_sys addon from ${path}: ${why}. ` +
        'Rebuild the rootfs (the harness compiles the addon), or point RBMAP_ADDON at a built rbmap_sys.node.',
      { cause },
    );
  }
  if (!isRawAddon(loaded)) {
    throw new Error(`${path} is not the rbmap_sys addon (missing functions); rebuild it from reader/addon/rbmap_sys.c`);
  }
  return loaded;
}

let loaded: RawAddon | undefined;

/** The addon, loaded on first use: importing the library does not need it (the host tests decode pages without it). */
function addon(): RawAddon {
  loaded ??= loadAddon(addonPath);
  return loaded;
}

/** Kernel/libc constants, as the addon was compiled with (read from the addon on first use). */
export const constants: SysConstants = new Proxy({} as SysConstants, {
  get: (_target, key) => Reflect.get(addon().constants, key),
});

/**
 * Run an addon call; a system-call error it throws (errno, syscall) gets its errno name
 * as `code`, from Node's own table, also at the end of its message.
 */
function withErrnoName<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof Error && typeof (error as Partial<SysError>).errno === 'number' && typeof (error as Partial<SysError>).syscall === 'string') {
      const named = error as SysError;
      named.code = getSystemErrorName(-named.errno);
      named.message = `${named.message} (${named.code})`;
    }
    throw error;
  }
}

/** The SysError a failed `syscall` with this errno would have thrown. */
export function errnoError(errno: number, syscall: string): SysError {
  const code = getSystemErrorName(-errno);
  return Object.assign(new Error(`${syscall} failed (${code})`), { code, errno, syscall });
}

/** Type guard for errors thrown by a failed system call. */
export function isSysError(e: unknown): e is SysError {
  if (!(e instanceof Error)) return false;
  const r = e as Error & Record<string, unknown>;
  return typeof r['code'] === 'string' && typeof r['errno'] === 'number' && typeof r['syscall'] === 'string';
}

/** mmap(2) a file; the mapping stays until munmap() (no GC finalizer unmaps it). */
export function mmap(fd: number, length: number, prot: number, flags: number, offsetBytes = 0): Mapping {
  const { addr, buffer } = withErrnoName(() => addon().mmap(fd, length, prot, flags, offsetBytes));
  return { addr, length, buffer };
}

/** Detach the mapping's ArrayBuffer (byteLength becomes 0) and munmap(2) its whole range. */
export function munmap(mapping: Mapping | ArrayBuffer): void {
  withErrnoName(() => addon().munmap(mapping instanceof ArrayBuffer ? mapping : mapping.buffer));
}

/** Raw munmap(2) of any range (e.g. part of a mapping); no ArrayBuffer is detached. */
export function munmapRange(addr: bigint, length: number): void {
  withErrnoName(() => addon().munmapRange(addr, length));
}

/** A new external ArrayBuffer over memory that is already mapped (not checked). */
export function viewOf(addr: bigint, length: number): ArrayBuffer {
  return withErrnoName(() => addon().viewOf(addr, length));
}

export function mprotect(addr: bigint, length: number, prot: number): void {
  withErrnoName(() => addon().mprotect(addr, length, prot));
}

export function madvise(addr: bigint, length: number, advice: number): void {
  withErrnoName(() => addon().madvise(addr, length, advice));
}

/**
 * mmap(2) exactly as given (zero length, any 64-bit offset, MAP_FIXED at `addr`),
 * without a view of the result; unmap it with munmapRange().
 */
export function mmapRaw(addr: bigint, length: bigint, prot: number, flags: number, fd: number, offset: bigint): bigint {
  return withErrnoName(() => addon().mmapRaw(addr, length, prot, flags, fd, offset));
}

/** mremap(2); returns the (possibly moved) address. `newAddr` goes with MREMAP_FIXED. */
export function mremap(addr: bigint, oldLength: number, newLength: number, flags: number, newAddr?: bigint): bigint {
  return withErrnoName(() =>
    newAddr === undefined ? addon().mremap(addr, oldLength, newLength, flags) : addon().mremap(addr, oldLength, newLength, flags, newAddr),
  );
}

/** ioctl(2); returns its result, throws on -1. `request` is the 32-bit command number. */
export function ioctl(fd: number, request: number, arg: number | bigint = 0): number {
  return withErrnoName(() => addon().ioctl(fd, request, arg));
}

/**
 * ioctl(2) with no argument, for a call whose failure is an answer: its
 * result, or the negated errno (e.g. -constants.EAGAIN) instead of an exception.
 */
export function ioctlErrno(fd: number, request: number): number {
  return addon().ioctlErrno(fd, request);
}

/** poll(2) on one fd; returns revents, 0 on timeout. A negative timeout waits forever. */
export function poll(fd: number, events: number, timeoutMs: number): number {
  return withErrnoName(() => addon().poll(fd, events, timeoutMs));
}

/** Fds with a pollAsync() pending: libuv watches an fd once at a time. */
const pendingAsyncPolls = new Set<number>();

/** True while a pollAsync() on `fd` has not called back. */
export function pollAsyncPending(fd: number): boolean {
  return pendingAsyncPolls.has(fd);
}

/**
 * poll(2) on one fd without stopping the process: the fd joins Node's event
 * loop until it is ready or `timeoutMs` has passed (negative: no timeout).
 * Resolves with revents, 0 on timeout; rejects with a SysError. One wait per
 * fd at a time (a second one is refused with an Error); the fd keeps its
 * O_NONBLOCK flag as it was.
 */
export function pollAsync(fd: number, events: number, timeoutMs: number): Promise<number> {
  if (pendingAsyncPolls.has(fd)) {
    return Promise.reject(new Error(`pollAsync: fd ${fd} already has a wait pending; await it before waiting again`));
  }
  return new Promise((resolve, reject) => {
    withErrnoName(() =>
      addon().pollAsync(fd, events, timeoutMs, (result) => {
        pendingAsyncPolls.delete(fd);
        if (result >= 0) resolve(result);
        else reject(errnoError(-result, 'poll'));
      }),
    );
    pendingAsyncPolls.add(fd);
  });
}

/**
 * One splice(2) of up to `length` bytes from `fd` into a private pipe, read back
 * into a Buffer (empty at end of file). `flags` e.g. constants.SPLICE_F_NONBLOCK.
 */
export function splice(fd: number, length: number, flags = 0): Buffer {
  return withErrnoName(() => addon().splice(fd, length, flags));
}

/** isatty(3): on a trace_pipe_raw fd this issues TCGETS, which is GET_READER_PAGE's number. */
export function isatty(fd: number): IsattyResult {
  const { tty, errno } = addon().isatty(fd);
  return { tty, code: errno === 0 ? null : getSystemErrorName(-errno) };
}

/** Pin the calling thread (Node's main thread) to one CPU. */
export function setAffinity(cpu: number): void {
  withErrnoName(() => addon().setAffinity(cpu));
}

/** fork(); the child reports (mincore) whether [addr, addr+length) is mapped in it. */
export function forkProbe(addr: bigint, length: number): boolean {
  return withErrnoName(() => addon().forkProbe(addr, length));
}

/** Read one byte at `addr` from C. A bad page kills the process (SIGBUS): use in a child. */
export function touch(addr: bigint): number {
  return withErrnoName(() => addon().touch(addr));
}

export function pageSize(): number {
  return withErrnoName(() => addon().pageSize());
}

/** perf_event_open(2) of a software CPU-clock counter on `cpu` (all tasks); the caller closes the fd. */
export function perfCpuClockOpen(cpu: number): number {
  return withErrnoName(() => addon().perfCpuClockOpen(cpu));
}

/** ioctl(PERF_EVENT_IOC_ID): copies the event's ID to user memory under the event's context mutex. */
export function perfEventId(fd: number): bigint {
  return withErrnoName(() => addon().perfEventId(fd));
}
