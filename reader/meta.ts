/**
 * The meta area of a mapped trace_pipe_raw (meta page v2, the uapi header of the series):
 *
 *   struct ring_buffer_meta_page {
 *           __u64   entries;            @0   events written since the last reset
 *           __u64   overrun;            @8   events lost by overwrite
 *           __u32   pages_touched;      @16
 *           __u32   reader_page;        @20  ID of the page the reader owns
 *           __u32   nr_data_pages;      @24  pages in the ring (no reader)
 *           __u32   data_page_head;     @28  index in data_pages[] of the head
 *           __u32   meta_page_size;     @32  bytes of the meta area (whole pages)
 *           __u32   meta_struct_len;    @36  offset of data_pages[]
 *           __u32   reader_read;        @40  bytes of the reader page's data consumed
 *           __u32   flags;              @44  0
 *           __u64   reader_lost_events; @48  events lost just before the reader page
 *           __u64   read;               @56  events consumed
 *           __u32   data_pages[];       @meta_struct_len  page IDs, in ring order
 *   };
 *
 * The first five fields keep the offsets of the RFC's one-page layout. A ring
 * whose list fits one page still has a one-page meta area; a larger ring gets
 * as many pages as the list needs, and its page ID n sits at byte
 * meta_page_size + n * PAGE_SIZE of the mapping.
 *
 * Pure: reads a DataView, so host tests can check it too.
 */
import { endianness } from 'node:os';

export const META_ENTRIES = 0;
export const META_OVERRUN = 8;
export const META_PAGES_TOUCHED = 16;
export const META_READER_PAGE = 20;
export const META_NR_DATA_PAGES = 24;
export const META_DATA_PAGE_HEAD = 28;
export const META_META_PAGE_SIZE = 32;
export const META_META_STRUCT_LEN = 36;
export const META_READER_READ = 40;
export const META_FLAGS = 44;
export const META_READER_LOST_EVENTS = 48;
export const META_READ = 56;

/**
 * The fixed part of the structure as this library knows it: where data_pages[]
 * starts today. A newer kernel may grow it; readers find the list at the meta
 * page's own meta_struct_len.
 */
export const META_STRUCT_LEN = 64;

/** round_up(META_STRUCT_LEN + 4 * nr_data_pages, page size): bytes of the meta area the kernel maps. */
export function metaAreaSize(nrDataPages: number, pageSize: number): number {
  const listEnd = META_STRUCT_LEN + 4 * nrDataPages;
  return Math.ceil(listEnd / pageSize) * pageSize;
}

/** The largest ring whose list fits a one-page meta area: (page size - 64) / 4 (1008 for 4 KiB pages). */
export function dataPagesListedByOneMetaPage(pageSize: number): number {
  return Math.floor((pageSize - META_STRUCT_LEN) / 4);
}

export interface MetaPage {
  readonly entries: bigint;
  readonly overrun: bigint;
  readonly pagesTouched: number;
  readonly readerPage: number;
  readonly nrDataPages: number;
  readonly dataPageHead: number;
  /** Bytes of the meta area: page ID n is at mapping offset metaPageSize + n * page size. */
  readonly metaPageSize: number;
  /** Byte offset of data_pages[] in the meta area. */
  readonly metaStructLen: number;
  /** Bytes of the reader page's data (from the start of the events) consumed by any reader. */
  readonly readerRead: number;
  readonly flags: number;
  /** Events lost just before the current reader page (set when it was swapped in). */
  readonly readerLostEvents: bigint;
  /** Events consumed so far: entries - overrun - read are unread. */
  readonly read: bigint;
  /** data_pages[0 .. nr_data_pages) (clamped to what fits in the view). */
  readonly dataPages: readonly number[];
}

/** A view too short to hold the meta page's fixed fields. */
export class MetaPageViewError extends RangeError {
  constructor(readonly byteLength: number) {
    super(`a meta page view of ${byteLength} bytes is shorter than the ${META_STRUCT_LEN} bytes of its fixed fields`);
    this.name = 'MetaPageViewError';
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Read the meta area through `view`: its first page alone (enough for every
 * field but a long data_pages[]) or the whole meta_page_size bytes.
 */
export function readMetaPage(view: DataView, littleEndian: boolean = LITTLE_ENDIAN): MetaPage {
  if (view.byteLength < META_STRUCT_LEN) throw new MetaPageViewError(view.byteLength);
  const nrDataPages = view.getUint32(META_NR_DATA_PAGES, littleEndian);
  const metaStructLen = view.getUint32(META_META_STRUCT_LEN, littleEndian);
  const fitting = Math.max(0, Math.floor((view.byteLength - metaStructLen) / 4));
  const listed = Math.min(nrDataPages, fitting);
  const dataPages: number[] = [];
  for (let i = 0; i < listed; i++) dataPages.push(view.getUint32(metaStructLen + 4 * i, littleEndian));
  return {
    entries: view.getBigUint64(META_ENTRIES, littleEndian),
    overrun: view.getBigUint64(META_OVERRUN, littleEndian),
    pagesTouched: view.getUint32(META_PAGES_TOUCHED, littleEndian),
    readerPage: view.getUint32(META_READER_PAGE, littleEndian),
    nrDataPages,
    dataPageHead: view.getUint32(META_DATA_PAGE_HEAD, littleEndian),
    metaPageSize: view.getUint32(META_META_PAGE_SIZE, littleEndian),
    metaStructLen,
    readerRead: view.getUint32(META_READER_READ, littleEndian),
    flags: view.getUint32(META_FLAGS, littleEndian),
    readerLostEvents: view.getBigUint64(META_READER_LOST_EVENTS, littleEndian),
    read: view.getBigUint64(META_READ, littleEndian),
    dataPages,
  };
}

/** The consumer's fields of the meta page: which page it owns and how far that page was read. */
export interface ReaderFields {
  readonly readerPage: number;
  readonly readerRead: number;
  readonly readerLostEvents: bigint;
}

/** Only the consumer's fields (no copy of data_pages[]): read around every GET_READER_PAGE. */
export function readReaderFields(view: DataView, littleEndian: boolean = LITTLE_ENDIAN): ReaderFields {
  if (view.byteLength < META_STRUCT_LEN) throw new MetaPageViewError(view.byteLength);
  return {
    readerPage: view.getUint32(META_READER_PAGE, littleEndian),
    readerRead: view.getUint32(META_READER_READ, littleEndian),
    readerLostEvents: view.getBigUint64(META_READER_LOST_EVENTS, littleEndian),
  };
}

/** The page IDs in ring order starting at the head (data_pages rotated by data_page_head). */
export function ringOrderFromHead(meta: MetaPage): number[] {
  const n = meta.dataPages.length;
  if (n === 0) return [];
  const head = meta.dataPageHead % n;
  return [...meta.dataPages.slice(head), ...meta.dataPages.slice(0, head)];
}

/** What the meta page's sizes are checked against. */
export interface PageGeometry {
  /** The kernel's PAGE_SIZE. */
  readonly pageSize: number;
  /** Bytes of event data a ring-buffer page holds (events/header_page: the size of data). */
  readonly pageDataCapacity: number;
}

/**
 * Problems with the meta page's invariants (empty when it is consistent):
 * the reader page and data_pages[] together are exactly the IDs 0..nr_data_pages,
 * each once, and the head indexes data_pages[]; the meta area is whole pages
 * and holds the list; the structure is at least as long as this library knows
 * it; no flag is set; reader_read lies within a page's data.
 */
export function metaInconsistencies(meta: MetaPage, geometry: PageGeometry): string[] {
  const problems: string[] = [];
  const ids = [meta.readerPage, ...meta.dataPages];
  const expected = meta.nrDataPages + 1;
  if (meta.dataPages.length !== meta.nrDataPages) {
    problems.push(`data_pages lists ${meta.dataPages.length} IDs, nr_data_pages is ${meta.nrDataPages}`);
  }
  const seen = new Set<number>();
  for (const id of ids) {
    if (id >= expected) problems.push(`page ID ${id} out of range 0..${expected - 1}`);
    if (seen.has(id)) problems.push(`page ID ${id} listed twice (reader page ${meta.readerPage})`);
    seen.add(id);
  }
  if (meta.nrDataPages > 0 && meta.dataPageHead >= meta.nrDataPages) {
    problems.push(`data_page_head ${meta.dataPageHead} not below nr_data_pages ${meta.nrDataPages}`);
  }
  if (meta.metaPageSize === 0 || meta.metaPageSize % geometry.pageSize !== 0) {
    problems.push(`meta_page_size ${meta.metaPageSize} is not a whole number of ${geometry.pageSize}-byte pages`);
  }
  const listEnd = meta.metaStructLen + 4 * meta.nrDataPages;
  if (meta.metaPageSize < listEnd) {
    problems.push(`meta_page_size ${meta.metaPageSize} is shorter than the list it holds (${listEnd} bytes)`);
  }
  if (meta.metaStructLen < META_STRUCT_LEN) {
    problems.push(`meta_struct_len ${meta.metaStructLen} is shorter than the ${META_STRUCT_LEN} bytes of the known fields`);
  }
  if (meta.flags !== 0) problems.push(`flags is 0x${meta.flags.toString(16)}, not 0`);
  if (meta.readerRead > geometry.pageDataCapacity) {
    problems.push(`reader_read ${meta.readerRead} exceeds the ${geometry.pageDataCapacity} data bytes of a page`);
  }
  return problems;
}
