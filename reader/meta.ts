/**
 * The meta page of a mapped trace_pipe_raw (DESIGN.md §3):
 *
 *   struct ring_buffer_meta_page {
 *           __u64   entries;          @0
 *           __u64   overrun;          @8
 *           __u32   pages_touched;    @16
 *           __u32   reader_page;      @20  ID of the page the reader owns
 *           __u32   nr_data_pages;    @24  pages in the ring (no reader)
 *           __u32   data_page_head;   @28  index in data_pages[] of the head
 *           __u32   data_pages[];     @32  page IDs, in ring order
 *   };
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
/** offsetof(struct ring_buffer_meta_page, data_pages). */
export const META_DATA_PAGES = 32;

/** How many page IDs one meta page can list: (page size - 32) / 4 (1016 for 4 KiB pages). */
export function metaPageCapacity(pageSize: number): number {
  return Math.floor((pageSize - META_DATA_PAGES) / 4);
}

export interface MetaPage {
  readonly entries: bigint;
  readonly overrun: bigint;
  readonly pagesTouched: number;
  readonly readerPage: number;
  readonly nrDataPages: number;
  readonly dataPageHead: number;
  /** data_pages[0 .. nr_data_pages) (clamped to what fits in the page). */
  readonly dataPages: readonly number[];
}

const LITTLE_ENDIAN = endianness() === 'LE';

export function readMetaPage(view: DataView, littleEndian: boolean = LITTLE_ENDIAN): MetaPage {
  const nrDataPages = view.getUint32(META_NR_DATA_PAGES, littleEndian);
  const listed = Math.min(nrDataPages, Math.floor((view.byteLength - META_DATA_PAGES) / 4));
  const dataPages: number[] = [];
  for (let i = 0; i < listed; i++) dataPages.push(view.getUint32(META_DATA_PAGES + 4 * i, littleEndian));
  return {
    entries: view.getBigUint64(META_ENTRIES, littleEndian),
    overrun: view.getBigUint64(META_OVERRUN, littleEndian),
    pagesTouched: view.getUint32(META_PAGES_TOUCHED, littleEndian),
    readerPage: view.getUint32(META_READER_PAGE, littleEndian),
    nrDataPages,
    dataPageHead: view.getUint32(META_DATA_PAGE_HEAD, littleEndian),
    dataPages,
  };
}

/** The page IDs in ring order starting at the head (data_pages rotated by data_page_head). */
export function ringOrderFromHead(meta: MetaPage): number[] {
  const n = meta.dataPages.length;
  if (n === 0) return [];
  const head = meta.dataPageHead % n;
  return [...meta.dataPages.slice(head), ...meta.dataPages.slice(0, head)];
}

/**
 * Problems with the meta page's invariants (empty when it is consistent):
 * the reader page and data_pages[] together are exactly the IDs 0..nr_data_pages,
 * each once, and the head indexes data_pages[].
 */
export function metaInconsistencies(meta: MetaPage): string[] {
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
  return problems;
}
