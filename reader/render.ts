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

function formatValue(value: FieldValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (typeof value === 'number') return String(value);
  return `[${(value as ReadonlyArray<number | bigint>).map((item) => (typeof item === 'bigint' ? `0x${item.toString(16)}` : String(item))).join(',')}]`;
}

/** The fields of the event that are not common_*, as name=value. */
export function formatFields(event: DecodedEvent): string {
  const marker = markerText(event);
  if (marker !== null) return marker;
  const parts: string[] = [];
  for (const [name, value] of event.fields) {
    if (name.startsWith('common_')) continue;
    parts.push(`${name}=${formatValue(value)}`);
  }
  return parts.join(' ');
}

export function formatEventLine(event: DecodedEvent, cpu: number, comm: string | undefined): string {
  const who = `${comm ?? '<...>'}-${event.pid}`;
  return `${who.padStart(16)} [${String(cpu).padStart(3, '0')}] ${formatTimestamp(event.timestamp).padStart(13)}: ${event.name}: ${formatFields(event)}`;
}
