/**
 * docs/design.md states the ABI in this project's words; the facts that code also states
 * must agree with it: the structure in the series' uapi header, the ioctl numbers of the
 * reader library, the meta-page layout and capacity.
 */
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { projectPaths, projectRoot } from '../../harness/src/paths.js';
import {
  META_DATA_PAGES,
  metaPageCapacity,
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

t.test('design.md shows the structure and ioctls of the series header', async (t) => {
  const design = await readFile(join(projectRoot, 'docs', 'design.md'), 'utf8');
  const patches = (await readdir(projectPaths.patches)).filter((name) => name.endsWith('.patch')).sort();
  const texts = await Promise.all(patches.map((name) => readFile(join(projectPaths.patches, name), 'utf8')));
  const header = texts.find((text) => text.includes('+++ b/include/uapi/linux/trace_mmap.h'));
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

t.test('design.md states the meta-page capacity the reader library computes', async (t) => {
  const design = await readFile(join(projectRoot, 'docs', 'design.md'), 'utf8');
  const stated = /`\(PAGE_SIZE - (\d+)\) \/ 4` = (\d+) with 4 KiB pages/.exec(design);
  t.ok(stated !== null, 'design.md gives the formula');
  t.equal(Number(stated?.[1]), META_DATA_PAGES, 'data_pages starts where the reader reads it');
  t.equal(Number(stated?.[2]), metaPageCapacity(4096), 'the same number of pages');
  t.match(design, `${metaPageCapacity(65536)} with 64 KiB`, 'and for 64 KiB pages');
  t.equal(META_DATA_PAGES, 8 + 8 + 4 * 4, 'two __u64 and four __u32 before data_pages');
});
