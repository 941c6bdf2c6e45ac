/**
 * Child process: try to reach a page that does not exist in a mapping of
 * cpuN's trace_pipe_raw, and read a byte of it. The expected end is death by
 * SIGBUS; anything else is reported on stdout and in the exit code.
 *
 *   node touch-beyond.js <mode> <cpu> [<off>]
 *     length   map the meta area + all pages + 1 extra page, touch the extra page
 *     every    the same, but first touch every page ID at meta_page_size + id * PAGE_SIZE
 *              (prints `touched <count> pages`)
 *     offset   map one page at the byte offset just past the last page ID, touch it
 *     at <off> map one page at byte offset <off> (decimal, up to 2^64 - 1), touch it
 *     mremap   map the meta area + all pages, mremap it one page larger, touch the new page
 *
 * Exit codes: 0 = the byte was read (no SIGBUS: a failure), 3 = the kernel refused
 * the mapping/mremap (prints `refused <code>`), 4 = setup failed.
 */
import { openTracePipeRaw, RingBufferMapping, sys } from '../../../reader/index.js';

const mode = process.argv[2];
const cpu = Number(process.argv[3] ?? '0');
const { PROT_READ, MAP_SHARED, MREMAP_MAYMOVE } = sys.constants;

function refused(error: unknown): never {
  const code = sys.isSysError(error) ? error.code : String(error);
  process.stdout.write(`refused ${code}\n`);
  process.exit(3);
}

function readByte(addr: bigint): never {
  const value = sys.touch(addr);
  process.stdout.write(`read ${value}\n`);
  process.exit(0);
}

let ring: RingBufferMapping;
try {
  ring = RingBufferMapping.open({ cpu });
} catch (error) {
  process.stdout.write(`setup failed: ${String(error)}\n`);
  process.exit(4);
}
const pageSize = ring.pageSize;
/** The meta area and every page ID: where the first page that does not exist starts. */
const validLength = ring.pageOffset(ring.pageIdCount - 1) + pageSize;
process.stdout.write(`valid ${validLength / pageSize} pages (meta area ${ring.metaPageSize} bytes, ${ring.pageIdCount} page IDs)\n`);

if (mode === 'length' || mode === 'every') {
  const fd = openTracePipeRaw({ cpu });
  let mapping: sys.Mapping;
  try {
    mapping = sys.mmap(fd, validLength + pageSize, PROT_READ, MAP_SHARED, 0);
  } catch (error) {
    refused(error);
  }
  if (mode === 'every') {
    for (let id = 0; id < ring.pageIdCount; id++) sys.touch(mapping.addr + BigInt(ring.pageOffset(id)));
    process.stdout.write(`touched ${ring.pageIdCount} pages\n`);
  }
  // The last valid page must still be readable before the extra one is touched.
  sys.touch(mapping.addr + BigInt(validLength - pageSize));
  process.stdout.write('touching\n');
  readByte(mapping.addr + BigInt(validLength));
} else if (mode === 'offset' || mode === 'at') {
  const fd = openTracePipeRaw({ cpu });
  const offset = mode === 'offset' ? BigInt(validLength) : BigInt(process.argv[4] ?? 'missing offset');
  let addr: bigint;
  try {
    addr = sys.mmapRaw(0n, BigInt(pageSize), PROT_READ, MAP_SHARED, fd, offset);
  } catch (error) {
    refused(error);
  }
  process.stdout.write('touching\n');
  readByte(addr);
} else if (mode === 'mremap') {
  const { addr, length } = ring.mapping;
  let moved: bigint;
  try {
    moved = sys.mremap(addr, length, length + pageSize, MREMAP_MAYMOVE);
  } catch (error) {
    refused(error);
  }
  process.stdout.write('touching\n');
  readByte(moved + BigInt(length));
} else {
  process.stdout.write(`unknown mode ${String(mode)}\n`);
  process.exit(4);
}
