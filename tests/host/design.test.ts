/**
 * docs/design.md states the ABI in this project's words; the facts that code also states
 * must agree with it: the structure in the series' uapi header, the ioctl numbers of the
 * reader library, the offset of every meta-page field (counted from the field sizes of
 * the structure shown, not from prose) and the size of the meta area.
 */
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { projectPaths, projectRoot } from '../../harness/common/paths.js';
import {
  dataPagesListedByOneMetaPage,
  META_DATA_PAGE_HEAD,
  META_ENTRIES,
  META_FLAGS,
  META_META_PAGE_SIZE,
  META_META_STRUCT_LEN,
  META_NR_DATA_PAGES,
  META_OVERRUN,
  META_PAGES_TOUCHED,
  META_READ,
  META_READER_LOST_EVENTS,
  META_READER_PAGE,
  META_READER_READ,
  META_STRUCT_LEN,
  metaAreaSize,
  TRACE_MMAP_IOCTL_GET_READER_PAGE,
  TRACE_MMAP_IOCTL_UPDATE_META_PAGE,
} from '../../reader/index.js';

/** _IO(type, nr) of <asm-generic/ioctl.h>: no direction, no size. */
function ioNumber(type: string, nr: number): number {
  return (type.charCodeAt(0) << 8) | nr;
}

function structBlock(text: string): string {
  const match = /struct ring_buffer_meta_page \{\n([\s\S]*?)\n\s*\+?\};/.exec(text);
  if (match?.[1] === undefined) throw new Error('no struct ring_buffer_meta_page');
  return match[1].split('\n').map((line) => line.replace(/^\+/, '').trim().replace(/\s+/g, ' ')).join('\n');
}

/** The patch of the series that adds include/uapi/linux/trace_mmap.h. */
async function seriesHeader(): Promise<string | undefined> {
  const patches = (await readdir(projectPaths.patches)).filter((name) => name.endsWith('.patch')).sort();
  const texts = await Promise.all(patches.map((name) => readFile(join(projectPaths.patches, name), 'utf8')));
  return texts.find((text) => text.includes('+++ b/include/uapi/linux/trace_mmap.h'));
}

t.test('design.md shows the structure and ioctls of the series header', async (t) => {
  const design = await readFile(join(projectRoot, 'docs', 'design.md'), 'utf8');
  const header = await seriesHeader();
  t.ok(header !== undefined, 'a patch of the series adds include/uapi/linux/trace_mmap.h');
  if (header === undefined) return;
  t.equal(structBlock(design), structBlock(header), 'the same fields in the same order');
  for (const [name, nr] of [['GET_READER_PAGE', 1], ['UPDATE_META_PAGE', 2]] as const) {
    const define = new RegExp(`#define TRACE_MMAP_IOCTL_${name}\\s+_IO\\('T', 0x${nr}\\)`);
    t.match(header, define, `the header defines ${name} as _IO('T', ${nr})`);
    t.match(design, define, `design.md says the same for ${name}`);
  }
  t.equal(TRACE_MMAP_IOCTL_GET_READER_PAGE, ioNumber('T', 1), 'the reader library uses the same number');
  t.equal(TRACE_MMAP_IOCTL_UPDATE_META_PAGE, ioNumber('T', 2));
});

/** Where meta.ts reads each field of struct ring_buffer_meta_page. */
const READER_OFFSETS: Readonly<Record<string, number>> = {
  entries: META_ENTRIES,
  overrun: META_OVERRUN,
  pages_touched: META_PAGES_TOUCHED,
  reader_page: META_READER_PAGE,
  nr_data_pages: META_NR_DATA_PAGES,
  data_page_head: META_DATA_PAGE_HEAD,
  meta_page_size: META_META_PAGE_SIZE,
  meta_struct_len: META_META_STRUCT_LEN,
  reader_read: META_READER_READ,
  flags: META_FLAGS,
  reader_lost_events: META_READER_LOST_EVENTS,
  read: META_READ,
  data_pages: META_STRUCT_LEN,
};

const TYPE_SIZES: Readonly<Record<string, number>> = { __u8: 1, __u16: 2, __u32: 4, __u64: 8 };

/** Each field's offset, laid out as the C compiler does (natural alignment), from a struct block's declarations. */
function fieldOffsets(block: string): Map<string, number> {
  const offsets = new Map<string, number>();
  let offset = 0;
  for (const line of block.split('\n')) {
    const field = /^(__u\d+) (\w+)(\[\])?;/.exec(line);
    if (field === null) continue;
    const size = TYPE_SIZES[field[1]!];
    if (size === undefined) throw new Error(`unknown field type in: ${line}`);
    offset = Math.ceil(offset / size) * size;
    offsets.set(field[2]!, offset);
    if (field[3] === undefined) offset += size;
  }
  return offsets;
}

t.test('the structure of design.md and of the series header puts each field where the reader library reads it', async (t) => {
  const design = await readFile(join(projectRoot, 'docs', 'design.md'), 'utf8');
  const header = await seriesHeader();
  const sources: Array<[string, string]> = [['docs/design.md', design]];
  if (header !== undefined) sources.push(['the series header', header]);
  for (const [name, text] of sources) {
    const offsets = fieldOffsets(structBlock(text));
    t.same([...offsets.keys()], Object.keys(READER_OFFSETS), `${name}: the fields the reader knows, in order`);
    for (const [field, offset] of Object.entries(READER_OFFSETS)) {
      t.equal(offsets.get(field), offset, `${name}: ${field} at byte ${offset}`);
    }
  }
  t.equal(metaAreaSize(dataPagesListedByOneMetaPage(4096), 4096), 4096, 'a list of (PAGE_SIZE - 64) / 4 pages still fits one meta page');
  t.equal(dataPagesListedByOneMetaPage(4096), 1008);
  t.equal(metaAreaSize(dataPagesListedByOneMetaPage(4096) + 1, 4096), 8192, 'one page more takes a second one');
});
