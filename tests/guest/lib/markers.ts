/**
 * trace_marker events as the guest tests write and check them: numbered markers, a
 * marker writer that stays open, the marker strings of decoded events and of raw pages.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import {
  dataBytesPerPage,
  type DecodedEvent,
  decodePage,
  markerText,
  topLevel,
  type TraceArray,
  tracePath,
} from '../../../reader/index.js';
import { formats } from './ring.js';

/** An open trace_marker: one write(2) per marker, each is one ftrace/print event. */
export class MarkerWriter {
  private fd: number | null;

  constructor(array: TraceArray = topLevel) {
    this.fd = openSync(tracePath(array, 'trace_marker'), 'w');
  }

  write(text: string): void {
    if (this.fd === null) throw new Error('MarkerWriter is closed');
    writeSync(this.fd, text);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Markers "<prefix>-000000" … with fixed width so they sort and have equal size. */
export function numberedMarkers(prefix: string, count: number, first = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(first + i).padStart(6, '0')}`);
}

/** What a 4 KiB data page holds: the page less its 16-byte header. */
const PAGE_PAYLOAD_4K = 4096 - 16;

/**
 * A marker count a test chose as so many 4 KiB pages' worth, scaled to this kernel's
 * page payload: the same number of pages fill with 16 or 64 KiB pages too.
 */
export function pagesWorthOf(countFor4k: number): number {
  return Math.ceil((countFor4k * dataBytesPerPage()) / PAGE_PAYLOAD_4K);
}

/** The marker strings of decoded events (non-marker events are an error). */
export function markersOf(events: readonly DecodedEvent[]): string[] {
  return events.map((event) => {
    const text = markerText(event);
    if (text === null) throw new Error(`unexpected event ${event.name} (type ${event.id}) among markers`);
    return text;
  });
}

/** Decode whole pages as returned by read()/splice() of trace_pipe_raw. */
export function markersOfRawPages(data: Buffer, pageSize: number): string[] {
  const markers: string[] = [];
  const { layouts, lookup } = formats();
  for (let at = 0; at + pageSize <= data.length; at += pageSize) {
    const view = new DataView(data.buffer, data.byteOffset + at, pageSize);
    markers.push(...markersOf(decodePage(view, layouts, lookup).events));
  }
  return markers;
}
