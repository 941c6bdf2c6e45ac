/**
 * The formats of one kernel, read from an `events/` directory: tracefs's
 * /sys/kernel/tracing/events in the guest, or a recorded copy on the host.
 * Event formats are parsed on demand; a type id not seen yet is looked for in the
 * ftrace system first, then in every system.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { parseEventFormat, parseHeaderEvent, parseHeaderPage, type EventFormat } from './format.js';
import type { FormatLookup, Layouts } from './decoder.js';
import { TRACEFS_ROOT } from './tracefs.js';

export const TRACEFS_EVENTS = join(TRACEFS_ROOT, 'events');

/** The events of the tracers themselves (print, function, ...): most pages hold only these. */
const TRACER_SYSTEM = 'ftrace';

export class TraceFormats {
  readonly layouts: Layouts;
  private readonly byId = new Map<number, EventFormat>();
  private readonly byName = new Map<string, EventFormat>();
  private indexed = false;
  private readonly indexedSystems = new Set<string>();

  constructor(
    readonly eventsDir: string = TRACEFS_EVENTS,
    littleEndian: boolean = endianness() === 'LE',
  ) {
    this.layouts = {
      page: parseHeaderPage(readFileSync(join(eventsDir, 'header_page'), 'utf8')),
      event: parseHeaderEvent(readFileSync(join(eventsDir, 'header_event'), 'utf8')),
      littleEndian,
    };
  }

  /** The format of `<system>/<event>`, or null when the kernel has no such event. */
  event(system: string, name: string): EventFormat | null {
    const key = `${system}/${name}`;
    const known = this.byName.get(key);
    if (known !== undefined) return known;
    const path = join(this.eventsDir, system, name, 'format');
    if (!existsSync(path)) return null;
    const format = parseEventFormat(readFileSync(path, 'utf8'));
    this.byName.set(key, format);
    this.byId.set(format.id, format);
    return format;
  }

  /**
   * The format with this type id (common_type), or null. Looked for in the
   * tracers' own events (the ftrace system: print, function, ...) before every
   * event is indexed: reading all of events/ costs seconds on a slow guest.
   */
  byType(id: number): EventFormat | null {
    const known = this.byId.get(id);
    if (known !== undefined) return known;
    if (!this.indexedSystems.has(TRACER_SYSTEM)) {
      this.indexSystem(TRACER_SYSTEM);
      const own = this.byId.get(id);
      if (own !== undefined) return own;
    }
    if (!this.indexed) {
      this.indexAll();
      return this.byId.get(id) ?? null;
    }
    return null;
  }

  /** A FormatLookup bound to this registry (for decodeRecord / decodePage). */
  readonly lookup: FormatLookup = (id) => this.byType(id);

  private indexAll(): void {
    this.indexed = true;
    for (const system of readdirSync(this.eventsDir, { withFileTypes: true })) {
      if (system.isDirectory()) this.indexSystem(system.name);
    }
  }

  private indexSystem(system: string): void {
    if (this.indexedSystems.has(system)) return;
    this.indexedSystems.add(system);
    let entries;
    try {
      entries = readdirSync(join(this.eventsDir, system), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || this.byName.has(`${system}/${entry.name}`)) continue;
      try {
        this.event(system, entry.name);
      } catch {
        // An unparsable format only makes that one event type undecodable.
      }
    }
  }
}
