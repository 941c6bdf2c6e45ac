/**
 * A mapped per-CPU ring buffer: per_cpu/cpuN/trace_pipe_raw opened read-only,
 * the meta page and every data page mapped in one read-only shared mapping:
 *
 *   page offset 0        the meta page
 *   page offset 1 + id   the data page with ID id (0 .. nr_data_pages)
 */
import { closeSync, openSync } from 'node:fs';
import * as sys from './sys.js';
import { readMetaPage, type MetaPage } from './meta.js';
import { expandTopLevelIfNeverExpanded, perCpuPath, traceArray } from './tracefs.js';

/** _IO('T', 0x1): same number as TCGETS. */
export const TRACE_MMAP_IOCTL_GET_READER_PAGE = 0x5401;
/** _IO('T', 0x2): same number as TCSETS. */
export const TRACE_MMAP_IOCTL_UPDATE_META_PAGE = 0x5402;
/** The terminal ioctl isatty() issues: the same number as GET_READER_PAGE. */
export const TCGETS = 0x5401;

export interface OpenOptions {
  readonly cpu: number;
  /** Instance name; null/undefined for the top level. */
  readonly instance?: string | null;
  readonly nonBlocking?: boolean;
  /** Open read-write (root may; reaches the driver's own mmap checks). */
  readonly readWrite?: boolean;
}

export function tracePipeRawPath(cpu: number, instance?: string | null): string {
  return perCpuPath(traceArray(instance), cpu, 'trace_pipe_raw');
}

/** open(2) per_cpu/cpuN/trace_pipe_raw; the caller closes the fd. */
export function openTracePipeRaw(options: OpenOptions): number {
  const { constants } = sys;
  let flags = options.readWrite === true ? constants.O_RDWR : constants.O_RDONLY;
  if (options.nonBlocking === true) flags |= constants.O_NONBLOCK;
  return openSync(tracePipeRawPath(options.cpu, options.instance), flags);
}

/** True when `error` is a system-call or fs error with this errno name. */
export function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as Error & { code?: unknown }).code === code;
}

export class RingBufferMapping {
  readonly pageSize: number;
  private mapped: sys.Mapping | null;
  private fdOpen: boolean;

  private constructor(
    readonly fd: number,
    readonly cpu: number,
    private readonly ownsFd: boolean,
  ) {
    this.fdOpen = true;
    this.pageSize = sys.pageSize();
    this.mapped = RingBufferMapping.mapAll(fd, this.pageSize);
  }

  /**
   * Open cpuN's trace_pipe_raw and map it. The kernel refuses (EBUSY) to map a
   * top-level buffer still at the minimal size it has from boot until tracing is
   * first used; like enabling an event would, this expands it to its configured
   * size first.
   */
  static open(options: OpenOptions): RingBufferMapping {
    if (traceArray(options.instance).name === null) expandTopLevelIfNeverExpanded();
    const fd = openTracePipeRaw(options);
    try {
      return new RingBufferMapping(fd, options.cpu, true);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Map an fd the caller opened (and keeps owning). */
  static mapFd(fd: number, cpu: number): RingBufferMapping {
    return new RingBufferMapping(fd, cpu, false);
  }

  /**
   * Map the meta page alone to learn nr_data_pages, then meta + all
   * nr_data_pages + 1 data pages in one mapping, and drop the first one.
   */
  private static mapAll(fd: number, pageSize: number): sys.Mapping {
    const { PROT_READ, MAP_SHARED } = sys.constants;
    const metaOnly = sys.mmap(fd, pageSize, PROT_READ, MAP_SHARED, 0);
    try {
      const { nrDataPages } = readMetaPage(new DataView(metaOnly.buffer, 0, pageSize));
      return sys.mmap(fd, (nrDataPages + 2) * pageSize, PROT_READ, MAP_SHARED, 0);
    } finally {
      sys.munmap(metaOnly);
    }
  }

  get mapping(): sys.Mapping {
    if (this.mapped === null) throw new Error(`cpu${this.cpu} ring is no longer mapped`);
    return this.mapped;
  }

  get isMapped(): boolean {
    return this.mapped !== null;
  }

  /** Number of page IDs: nr_data_pages + 1 (the reader page). */
  get pageIdCount(): number {
    return this.mapping.length / this.pageSize - 1;
  }

  /** The meta page as it is now (no ioctl). */
  meta(): MetaPage {
    return readMetaPage(this.metaView());
  }

  metaView(): DataView {
    return new DataView(this.mapping.buffer, 0, this.pageSize);
  }

  /** UPDATE_META_PAGE, then read the meta page. */
  updateMeta(): MetaPage {
    sys.ioctl(this.fd, TRACE_MMAP_IOCTL_UPDATE_META_PAGE);
    return this.meta();
  }

  /** GET_READER_PAGE: true when a page was handed over, false on EAGAIN (nothing to read). */
  getReaderPage(): boolean {
    try {
      sys.ioctl(this.fd, TRACE_MMAP_IOCTL_GET_READER_PAGE);
      return true;
    } catch (error) {
      if (hasCode(error, 'EAGAIN')) return false;
      throw error;
    }
  }

  /** The data page with this ID, in place (no copy). */
  pageView(id: number): DataView {
    if (!Number.isInteger(id) || id < 0 || id >= this.pageIdCount) {
      throw new RangeError(`page ID ${id} outside 0..${this.pageIdCount - 1}`);
    }
    return new DataView(this.mapping.buffer, (1 + id) * this.pageSize, this.pageSize);
  }

  readerPageView(): DataView {
    return this.pageView(this.meta().readerPage);
  }

  /**
   * The caller unmapped the range itself (munmapRange): forget it without a
   * second munmap, which could hit whatever was mapped there since.
   */
  forgetUnmappedRange(): void {
    this.mapped = null;
  }

  /** Unmap (and close the fd if this object opened it). Safe to call twice. */
  close(): void {
    if (this.mapped !== null) {
      const mapping = this.mapped;
      this.mapped = null;
      sys.munmap(mapping);
    }
    if (this.ownsFd && this.fdOpen) {
      this.fdOpen = false;
      closeSync(this.fd);
    }
  }
}
