/**
 * The rbmap reader library: read a memory-mapped tracing ring buffer with no copy.
 *
 * Map a CPU's buffer (`RingBufferMapping`), take pages from the writer
 * (`MappedConsumer`, one GET_READER_PAGE per page), decode each event in place
 * (`decodeRecord`, with the formats of the running kernel from `TraceFormats`)
 * and print it (`formatEventLine`). See reader/README.md for an example.
 */
export * from './consumer.js';
export * from './decoder.js';
export * from './events.js';
export * from './format.js';
export * from './mapping.js';
export * from './meta.js';
export * from './reader-cursor.js';
export * from './render.js';
export * from './tracefs.js';
/** The system calls Node.js does not offer (mmap, ioctl, poll, splice, ...), from the rbmap_sys addon. */
export * as sys from './sys.js';
