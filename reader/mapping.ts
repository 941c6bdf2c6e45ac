/**
 * A mapped per-CPU ring buffer: per_cpu/cpuN/trace_pipe_raw opened read-only,
 * the meta area and every data page mapped in one read-only shared mapping:
 *
 *   byte 0                                 the meta area, meta_page_size bytes
 *                                          (one page while data_pages[] fits one)
 *   byte meta_page_size + id * PAGE_SIZE   the data page with ID id (0 .. nr_data_pages)
 */
import { closeSync, openSync } from 'node:fs';
import { endianness } from 'node:os';
import * as sys from './sys.js';
import type { HandoverSource } from './consumer.js';
import {
  META_DATA_PAGE_HEAD,
  META_META_STRUCT_LEN,
  META_READER_LOST_EVENTS,
  META_READER_PAGE,
  META_READER_READ,
  metaInconsistencies,
  readMetaPage,
  readReaderFields,
  type MetaPage,
  type PageGeometry,
  type ReaderFields,
} from './meta.js';
import { dataBytesPerPage, expandTopLevelIfNeverExpanded, perCpuPath, traceArray } from './tracefs.js';

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

/** The first meta page announces a meta area the mapping cannot be laid out from. */
export class MetaAreaSizeError extends Error {
  constructor(
    readonly metaPageSize: number,
    readonly pageSize: number,
  ) {
    super(
      `meta_page_size ${metaPageSize} is not a whole, non-zero number of ${pageSize}-byte pages: ` +
        'this library reads the meta page v2 (meta_page_size at byte 32); boot a kernel with the current kernel-patches/',
    );
    this.name = 'MetaAreaSizeError';
  }
}

interface RingLayout {
  readonly mapping: sys.Mapping;
  readonly metaPageSize: number;
  readonly pageIdCount: number;
}

const LITTLE_ENDIAN = endianness() === 'LE';

export class RingBufferMapping implements HandoverSource {
  readonly pageSize: number;
  /** Bytes of the meta area at the start of the mapping (meta_page_size when mapped). */
  readonly metaPageSize: number;
  /** Number of page IDs: nr_data_pages + 1 (the reader page). */
  readonly pageIdCount: number;
  /** The whole mapping: page ID n at pageOffset(n), the meta area at 0. */
  readonly pagesView: DataView;
  private mapped: sys.Mapping | null;
  private fdOpen: boolean;
  private readonly eagain: number;
  private readonly pollIn: number;

  private constructor(
    readonly fd: number,
    readonly cpu: number,
    private readonly ownsFd: boolean,
  ) {
    this.fdOpen = true;
    this.pageSize = sys.pageSize();
    const layout = RingBufferMapping.mapAll(fd, this.pageSize);
    this.mapped = layout.mapping;
    this.metaPageSize = layout.metaPageSize;
    this.pageIdCount = layout.pageIdCount;
    this.pagesView = new DataView(layout.mapping.buffer);
    this.eagain = sys.constants.EAGAIN;
    this.pollIn = sys.constants.POLLIN;
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
   * Map the first meta page alone to learn meta_page_size and nr_data_pages,
   * then the whole meta area + all nr_data_pages + 1 data pages in one
   * mapping, and drop the first one. Neither changes while the buffer is
   * mapped (a mapped buffer cannot be resized).
   */
  private static mapAll(fd: number, pageSize: number): RingLayout {
    const { PROT_READ, MAP_SHARED } = sys.constants;
    const firstPage = sys.mmap(fd, pageSize, PROT_READ, MAP_SHARED, 0);
    let metaPageSize: number;
    let pageIdCount: number;
    try {
      const meta = readMetaPage(new DataView(firstPage.buffer, 0, pageSize));
      metaPageSize = meta.metaPageSize;
      pageIdCount = meta.nrDataPages + 1;
    } finally {
      sys.munmap(firstPage);
    }
    if (metaPageSize === 0 || metaPageSize % pageSize !== 0) throw new MetaAreaSizeError(metaPageSize, pageSize);
    const mapping = sys.mmap(fd, metaPageSize + pageIdCount * pageSize, PROT_READ, MAP_SHARED, 0);
    return { mapping, metaPageSize, pageIdCount };
  }

  get mapping(): sys.Mapping {
    if (this.mapped === null) throw new Error(`cpu${this.cpu} ring is no longer mapped`);
    return this.mapped;
  }

  get isMapped(): boolean {
    return this.mapped !== null;
  }

  /** The meta page as it is now (no ioctl). */
  meta(): MetaPage {
    return readMetaPage(this.metaView());
  }

  /** reader_page, reader_read and reader_lost_events as they are now (no ioctl). */
  readerFields(): ReaderFields {
    return readReaderFields(this.metaView());
  }

  /** The whole meta area (meta_page_size bytes), in place. */
  metaView(): DataView {
    return new DataView(this.mapping.buffer, 0, this.metaPageSize);
  }

  /** This kernel's page size and page data capacity, to check a meta page against. */
  get geometry(): PageGeometry {
    return { pageSize: this.pageSize, pageDataCapacity: dataBytesPerPage() };
  }

  /** metaInconsistencies() of `meta` (default: the meta page as it is now) for this kernel's pages. */
  inconsistencies(meta: MetaPage = this.meta()): string[] {
    return metaInconsistencies(meta, this.geometry);
  }

  /** UPDATE_META_PAGE, then read the meta page. */
  updateMeta(): MetaPage {
    sys.ioctl(this.fd, TRACE_MMAP_IOCTL_UPDATE_META_PAGE);
    return this.meta();
  }

  /**
   * GET_READER_PAGE: true when a page was handed over, false on EAGAIN
   * (nothing to read): an answer, not an exception. Other failures throw a SysError.
   */
  getReaderPage(): boolean {
    const result = sys.ioctlErrno(this.fd, TRACE_MMAP_IOCTL_GET_READER_PAGE);
    // Loaded before the success test: a field first touched on the first EAGAIN after
    // V8 compiled the caller would throw that code away (a deoptimization per run).
    const eagain = this.eagain;
    if (result >= 0) return true;
    if (result === -eagain) return false;
    throw sys.errnoError(-result, 'ioctl(GET_READER_PAGE)');
  }

  /** reader_page: one u32 read of the meta page. */
  readerPageId(): number {
    return this.pagesView.getUint32(META_READER_PAGE, LITTLE_ENDIAN);
  }

  /** reader_read: bytes of the reader page's data consumed. */
  readerReadBytes(): number {
    return this.pagesView.getUint32(META_READER_READ, LITTLE_ENDIAN);
  }

  /** reader_lost_events; read as two words, so the usual 0 costs no BigInt (the consumer reads it per page). */
  readerLostEvents(): bigint {
    const view = this.pagesView;
    if (view.getUint32(META_READER_LOST_EVENTS, LITTLE_ENDIAN) === 0 && view.getUint32(META_READER_LOST_EVENTS + 4, LITTLE_ENDIAN) === 0) return 0n;
    return view.getBigUint64(META_READER_LOST_EVENTS, LITTLE_ENDIAN);
  }

  /** data_pages[data_page_head]: the page the writer goes to after the reader page. */
  headPageId(): number {
    const view = this.pagesView;
    const list = view.getUint32(META_META_STRUCT_LEN, LITTLE_ENDIAN);
    return view.getUint32(list + 4 * view.getUint32(META_DATA_PAGE_HEAD, LITTLE_ENDIAN), LITTLE_ENDIAN);
  }

  /** poll(2) for POLLIN: true when readable, false on timeout (negative: wait forever). */
  poll(timeoutMs: number): boolean {
    return (sys.poll(this.fd, this.pollIn, timeoutMs) & this.pollIn) !== 0;
  }

  /** poll() on Node's event loop (see sys.pollAsync): resolves true when readable, false on timeout. */
  async pollAsync(timeoutMs: number): Promise<boolean> {
    return ((await sys.pollAsync(this.fd, this.pollIn, timeoutMs)) & this.pollIn) !== 0;
  }

  /** Byte offset of the data page with this ID in the mapping (and in the file). */
  pageOffset(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.pageIdCount) {
      throw new RangeError(`page ID ${id} outside 0..${this.pageIdCount - 1}`);
    }
    return this.metaPageSize + id * this.pageSize;
  }

  /** The data page with this ID, in place (no copy). */
  pageView(id: number): DataView {
    return new DataView(this.mapping.buffer, this.pageOffset(id), this.pageSize);
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
    if (sys.pollAsyncPending(this.fd)) {
      throw new Error(`cannot close the ring of fd ${this.fd}: a pollAsync()/waitAsync() on it is still pending; await it first`);
    }
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
