/**
 * Field readers compiled once per event format: each field of a format gets a
 * function specialised for its storage, size and sign, reading in place from
 * the payload of the event an EventCursor stands on (or any PayloadSource).
 * Strings are decoded only when their field is read.
 *
 * 64-bit values come out as numbers while exact (|v| < 2^53) and as bigints
 * beyond: never rounded.
 */
import type { EventFormat, FieldFormat } from './format.js';

/** Where an event's payload lies (an EventCursor is one). */
export interface PayloadSource {
  readonly view: DataView;
  /** The same bytes as `view`, for string decoding. */
  readonly text: Buffer;
  readonly payloadOffset: number;
  readonly payloadLength: number;
}

export type FieldValue = number | bigint | string | readonly number[] | readonly (number | bigint)[];

export type FieldReader = (source: PayloadSource) => FieldValue;

export interface CompiledField {
  readonly field: FieldFormat;
  /** The field's value: strings decoded, arrays as arrays. */
  readonly read: FieldReader;
  /** An integer scalar (1, 2, 4 or 8 bytes): its value with no allocation below 2^53; null for other fields. */
  readonly integer: ((source: PayloadSource) => number | bigint) | null;
  /**
   * A string field (a char array, __data_loc char[]): where its text starts
   * and ends (the first NUL, or its end) as view offsets, without decoding it;
   * null for other fields. Decode with text() or source.text.toString('utf8', start, end) when needed.
   */
  readonly textStart: ((source: PayloadSource) => number) | null;
  readonly textEnd: ((source: PayloadSource) => number) | null;
}

export interface CompiledFormat {
  readonly format: EventFormat;
  /** Common fields first, then the event's own, in format order. */
  readonly fields: readonly CompiledField[];
  readonly byName: ReadonlyMap<string, CompiledField>;
}

/** A record shorter than a field of its format says. */
export class FieldBoundsError extends Error {
  constructor(
    readonly field: string,
    readonly payloadLength: number,
  ) {
    super(`field ${field} lies past the end of a ${payloadLength}-byte record`);
    this.name = 'FieldBoundsError';
  }
}

function outOfBounds(field: FieldFormat, source: PayloadSource): never {
  throw new FieldBoundsError(field.name, source.payloadLength);
}

const SAFE_HIGH = 0x1f_ffff;
const TWO_32 = 0x1_0000_0000;

/** An unsigned 64-bit integer at `at`: a number while exact, else a bigint. */
export function readU64(view: DataView, at: number, littleEndian: boolean): number | bigint {
  const low = view.getUint32(littleEndian ? at : at + 4, littleEndian);
  const high = view.getUint32(littleEndian ? at + 4 : at, littleEndian);
  return high <= SAFE_HIGH ? high * TWO_32 + low : view.getBigUint64(at, littleEndian);
}

/** A signed 64-bit integer at `at`: a number while exact, else a bigint. */
export function readI64(view: DataView, at: number, littleEndian: boolean): number | bigint {
  const low = view.getUint32(littleEndian ? at : at + 4, littleEndian);
  const high = view.getInt32(littleEndian ? at + 4 : at, littleEndian);
  // Rounding is monotonic: a true value beyond ±(2^53 - 1) never rounds into the safe range.
  const value = high * TWO_32 + low;
  return Number.isSafeInteger(value) ? value : view.getBigInt64(at, littleEndian);
}

type ElementReader = (view: DataView, at: number) => number | bigint;

function elementReader(size: number, signed: boolean, littleEndian: boolean): ElementReader | null {
  switch (size) {
    case 1:
      return signed ? (view, at) => view.getInt8(at) : (view, at) => view.getUint8(at);
    case 2:
      return signed ? (view, at) => view.getInt16(at, littleEndian) : (view, at) => view.getUint16(at, littleEndian);
    case 4:
      return signed ? (view, at) => view.getInt32(at, littleEndian) : (view, at) => view.getUint32(at, littleEndian);
    case 8:
      return signed ? (view, at) => readI64(view, at, littleEndian) : (view, at) => readU64(view, at, littleEndian);
    default:
      return null;
  }
}

/** Text longer than this goes to memchr() (Buffer#indexOf); shorter text is looked at four bytes a step. */
const SHORT_TEXT = 16;

/** Where the bytes from `start` stop: at the first NUL, or at `end`. */
export function textEndOf(source: Pick<PayloadSource, 'view' | 'text'>, start: number, end: number): number {
  const view = source.view;
  let at = start;
  const wordsEnd = Math.min(end, start + SHORT_TEXT);
  while (at + 4 <= wordsEnd) {
    const word = view.getUint32(at, true);
    // Non-zero when a byte of the word is 0 (the bytes' order does not matter).
    if (((word - 0x01010101) & ~word & 0x80808080) !== 0) break;
    at += 4;
  }
  if (at + 4 <= wordsEnd || end <= wordsEnd) {
    // A word with a zero byte, or the whole text was short: the rest byte by byte.
    while (at < end && view.getUint8(at) !== 0) at++;
    return at;
  }
  // memchr() may run past `end` (to the next zero byte of the buffer): what it finds there is `end`.
  const nul = source.text.indexOf(0, at);
  return nul < 0 || nul > end ? end : nul;
}

/** Bytes from `start` up to the first NUL (or `end`), as UTF-8. */
export function cString(source: Pick<PayloadSource, 'view' | 'text'>, start: number, end: number): string {
  return source.text.toString('utf8', start, textEndOf(source, start, end));
}

/** Where a field's bytes lie in the view, for the event a source stands on. */
interface Extent {
  start(source: PayloadSource): number;
  /** Bytes of the field (checked against the record). */
  length(source: PayloadSource): number;
}

function extentOf(field: FieldFormat, littleEndian: boolean): Extent {
  const offset = field.offset;
  switch (field.storage) {
    case 'scalar':
    case 'array': {
      if (field.storage === 'array' && field.arrayLength === null) {
        // A flexible array runs to the end of the record.
        return {
          start: (source) => source.payloadOffset + offset,
          length: (source) => (offset > source.payloadLength ? outOfBounds(field, source) : source.payloadLength - offset),
        };
      }
      const end = offset + field.size;
      return {
        start: (source) => source.payloadOffset + offset,
        length: (source) => (end > source.payloadLength ? outOfBounds(field, source) : field.size),
      };
    }
    case 'data_loc':
    case 'rel_loc': {
      const base = field.storage === 'rel_loc' ? offset + 4 : 0;
      const loc = (source: PayloadSource): number => {
        if (offset + 4 > source.payloadLength) outOfBounds(field, source);
        const word = source.view.getUint32(source.payloadOffset + offset, littleEndian);
        if (base + (word & 0xffff) + (word >>> 16) > source.payloadLength) outOfBounds(field, source);
        return word;
      };
      return {
        start: (source) => source.payloadOffset + base + (loc(source) & 0xffff),
        length: (source) => loc(source) >>> 16,
      };
    }
  }
}

/** Reads `length` bytes at `at` as the field's elements: a string, numbers, or raw bytes. */
type ElementsReader = (source: PayloadSource, at: number, length: number) => FieldValue;

function elementsReader(field: FieldFormat, littleEndian: boolean): ElementsReader {
  if (field.isChar) return (source, at, length) => cString(source, at, at + length);
  const size = field.elementSize;
  const read = elementReader(size, field.signed, littleEndian);
  if (read === null) return (source, at, length) => Array.from(source.text.subarray(at, at + length));
  return (source, at, length) => {
    const values: (number | bigint)[] = [];
    for (let i = 0; i + size <= length; i += size) values.push(read(source.view, at + i));
    return values;
  };
}

function compileField(field: FieldFormat, littleEndian: boolean): CompiledField {
  const extent = extentOf(field, littleEndian);
  const scalar = field.storage === 'scalar' ? elementReader(field.size, field.signed, littleEndian) : null;
  const offset = field.offset;
  const end = offset + field.size;
  const integer =
    scalar === null
      ? null
      : (source: PayloadSource): number | bigint => (end > source.payloadLength ? outOfBounds(field, source) : scalar(source.view, source.payloadOffset + offset));
  const elements = elementsReader(field.storage === 'scalar' ? { ...field, elementSize: 1, isChar: false } : field, littleEndian);
  const read: FieldReader = integer ?? ((source) => elements(source, extent.start(source), extent.length(source)));
  if (!field.isChar || field.storage === 'scalar') return { field, read, integer, textStart: null, textEnd: null };
  return {
    field,
    read,
    integer,
    textStart: extent.start,
    textEnd: (source) => {
      const start = extent.start(source);
      return textEndOf(source, start, start + extent.length(source));
    },
  };
}

export function compileFormat(format: EventFormat, littleEndian: boolean): CompiledFormat {
  const fields = [...format.commonFields, ...format.fields].map((field) => compileField(field, littleEndian));
  return { format, fields, byName: new Map(fields.map((compiled) => [compiled.field.name, compiled])) };
}
