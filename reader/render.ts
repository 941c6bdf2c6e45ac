/**
 * Text rendering of decoded events, in the spirit of the trace file:
 *   comm-pid [cpu] seconds.micros: event: fields
 */
import { markerText, type DecodedEvent, type FieldValue } from './decoder.js';

/** Seconds with six decimals, rounded to the microsecond like ns2usecs(). */
export function formatTimestamp(nanoseconds: bigint): string {
  const micros = (nanoseconds + 500n) / 1000n;
  const seconds = micros / 1_000_000n;
  const rest = micros % 1_000_000n;
  return `${seconds}.${rest.toString().padStart(6, '0')}`;
}

/** 64-bit values (addresses, mostly) in hex, as bigints or as numbers; the rest in decimal. */
function formatValue(value: FieldValue, wide: boolean): string {
  const item = (v: number | bigint): string => (wide || typeof v === 'bigint' ? `0x${v.toString(16)}` : String(v));
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint') return item(value);
  return `[${(value as ReadonlyArray<number | bigint>).map(item).join(',')}]`;
}

/** The fields of the event that are not common_*, as name=value. */
export function formatFields(event: DecodedEvent): string {
  const marker = markerText(event);
  if (marker !== null) return marker;
  const wide = new Set(event.format?.fields.filter((field) => field.elementSize === 8 && !field.isChar).map((field) => field.name));
  const parts: string[] = [];
  for (const [name, value] of event.fields) {
    if (name.startsWith('common_')) continue;
    parts.push(`${name}=${formatValue(value, wide.has(name))}`);
  }
  return parts.join(' ');
}

export function formatEventLine(event: DecodedEvent, cpu: number, comm: string | undefined): string {
  const who = `${comm ?? '<...>'}-${event.pid}`;
  return `${who.padStart(16)} [${String(cpu).padStart(3, '0')}] ${formatTimestamp(event.timestamp).padStart(13)}: ${event.name}: ${formatFields(event)}`;
}
