/**
 * The rbmap reader library: read a memory-mapped tracing ring buffer with no copy.
 *
 * Map a CPU's buffer (`RingBufferMapping`), take pages from the writer
 * (`MappedConsumer`, one GET_READER_PAGE per page) and read each event in
 * place through the `EventCursor` (fields by the readers `compileFormat`
 * builds once per format), or as `DecodedEvent` objects built on it, with the
 * formats of the running kernel from `TraceFormats`; print it
 * (`formatEventLine`). See reader/README.md for an example.
 */
export * from './consumer.js';
export * from './cursor.js';
export * from './decoder.js';
export * from './events.js';
export * from './fields.js';
export * from './format.js';
export * from './mapping.js';
export * from './meta.js';
export * from './reader-cursor.js';
export * from './render.js';
export * from './tracefs.js';
export * from './wait.js';
/** The system calls Node.js does not offer (mmap, ioctl, poll, splice, ...), from the rbmap_sys addon. */
export * as sys from './sys.js';
