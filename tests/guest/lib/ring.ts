/**
 * tracefs and ring-buffer fixtures of the guest tests: the running kernel's formats, a
 * small cpu0 ring, reading trace_pipe_raw and trace_pipe until empty, mapping snapshots.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import {
  hasCode,
  kbForRingPages,
  resetBuffer,
  type RingBufferMapping,
  setBufferSizeKb,
  sys,
  topLevel,
  TraceFormats,
} from '../../../reader/index.js';

let sharedFormats: TraceFormats | null = null;

/** header_page/header_event/event formats of the running kernel (read once per file). */
export function formats(): TraceFormats {
  sharedFormats ??= new TraceFormats();
  return sharedFormats;
}

/** Pins this process to CPU 0 and gives cpu0 of the top-level buffer an empty ring of `pages` pages. */
export function smallCpu0Ring(pages: number): void {
  sys.setAffinity(0);
  setBufferSizeKb(topLevel, kbForRingPages(pages), 0);
  resetBuffer(topLevel);
}

/**
 * read() a non-blocking trace_pipe_raw fd page by page until EAGAIN or end of
 * file; returns everything read (whole pages).
 */
export function readAllPages(fd: number, maxPages = 4096): Buffer {
  const pageSize = sys.pageSize();
  const chunks: Buffer[] = [];
  for (let i = 0; i < maxPages; i++) {
    const page = Buffer.alloc(pageSize);
    let bytes: number;
    try {
      bytes = readSync(fd, page, 0, pageSize, null);
    } catch (error) {
      if (hasCode(error, 'EAGAIN')) break;
      throw error;
    }
    if (bytes === 0) break;
    chunks.push(page.subarray(0, bytes));
  }
  return Buffer.concat(chunks);
}

/** Open `path` non-blocking and read text until EAGAIN or end of file (e.g. a trace_pipe). */
export function readTextUntilEmpty(path: string): string {
  const fd = openSync(path, sys.constants.O_RDONLY | sys.constants.O_NONBLOCK);
  const chunks: Buffer[] = [];
  try {
    for (;;) {
      const chunk = Buffer.alloc(65536);
      let bytes: number;
      try {
        bytes = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        if (hasCode(error, 'EAGAIN')) break;
        throw error;
      }
      if (bytes === 0) break;
      chunks.push(chunk.subarray(0, bytes));
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Bytes of a view, copied (for before/after comparisons). */
export function copyOf(view: DataView): Buffer {
  return Buffer.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

/** UPDATE_META_PAGE, then every byte of the mapping (meta + pages): to prove nothing moved. */
export function refreshedMappingBytes(ring: RingBufferMapping): Buffer {
  ring.updateMeta();
  return copyOf(new DataView(ring.mapping.buffer));
}
