/**
 * The host decoding benchmark: generated pages of ftrace print events, walked
 * and decoded by the reader library's cursor and by a C decoder
 * (decode_speed.c, built here with the host's gcc), in ns per event.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compileFormat,
  EventCursor,
  parseEventFormat,
  STANDARD_EVENT_HEADER,
  STANDARD_PAGE_HEADER,
  type CompiledFormat,
  type Layouts,
} from '../../../reader/index.js';
import { PRINT_FORMAT_6_1, PRINT_ID } from '../fixtures/formats-6.1.js';

export const PAGE_SIZE = 4096;
export const LAYOUTS: Layouts = { page: STANDARD_PAGE_HEADER, event: STANDARD_EVENT_HEADER, littleEndian: true };
export { PRINT_ID };

/** events/ftrace/print/format of 6.1 on x86_64. */
export const PRINT_FORMAT = parseEventFormat(PRINT_FORMAT_6_1);

/** A small deterministic generator (xorshift32), so every run measures the same pages. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

export interface GeneratedPages {
  readonly bytes: Uint8Array;
  readonly pages: number;
  readonly events: number;
}

/**
 * `pageCount` pages of print events whose text ("rbmb <n> xxx...") is 20 to
 * 150 bytes (so both header kinds occur: type_len words and a length word),
 * a time extend now and then, a discarded event now and then, and (with
 * `pastSafe`) a last page whose stamp is past 2^53 ns.
 */
export function generatePages(pageCount: number, pastSafe = true, seed = 2026): GeneratedPages {
  const next = random(seed);
  const bytes = new Uint8Array(pageCount * PAGE_SIZE);
  const view = new DataView(bytes.buffer);
  const encoder = new TextEncoder();
  let sequence = 0;
  let stamp = 1_000_000_000n;
  for (let page = 0; page < pageCount; page++) {
    const base = page * PAGE_SIZE;
    if (pastSafe && page === pageCount - 1) stamp = (1n << 53n) + 12_345n;
    view.setBigUint64(base, stamp, true);
    let at = base + 16;
    const end = base + PAGE_SIZE;
    for (;;) {
      const text = encoder.encode(`rbmb ${sequence} ${'x'.repeat(Math.floor(next() * 130))}`);
      const payload = 16 + text.length + 1;
      const aligned = Math.ceil(payload / 4) * 4;
      const wordsOnly = aligned <= 28 * 4;
      const extend = next() < 0.02;
      const discard = next() < 0.01;
      const size = (extend ? 8 : 0) + (discard ? 32 : 0) + (wordsOnly ? 4 : 8) + aligned;
      if (at + size > end) break;
      if (extend) {
        const delta = (1n << 28n) + BigInt(Math.floor(next() * 1000));
        view.setUint32(at, Number((delta & 0x7ffffffn) << 5n) | 30, true);
        view.setUint32(at + 4, Number(delta >> 27n), true);
        stamp += delta;
        at += 8;
      }
      if (discard) {
        view.setUint32(at, (1 << 5) | 29, true);
        view.setUint32(at + 4, 28, true);
        stamp += 1n;
        at += 32;
      }
      const delta = 1 + Math.floor(next() * 5000);
      stamp += BigInt(delta);
      view.setUint32(at, ((delta << 5) | (wordsOnly ? aligned / 4 : 0)) >>> 0, true);
      let body = at + 4;
      if (!wordsOnly) {
        view.setUint32(at + 4, aligned + 4, true);
        body += 4;
      }
      view.setUint16(body, PRINT_ID, true);
      view.setUint8(body + 2, Math.floor(next() * 256));
      view.setUint8(body + 3, Math.floor(next() * 8));
      view.setInt32(body + 4, 1000 + Math.floor(next() * 60_000), true);
      view.setBigUint64(body + 8, 0xffff_ffff_8100_0000n + BigInt(Math.floor(next() * 0xffffff)), true);
      bytes.set(text, body + 16);
      at = body + aligned;
      sequence++;
    }
    view.setBigUint64(base + 8, BigInt(at - base - 16), true);
  }
  return { bytes, pages: pageCount, events: sequence };
}

/** One decoder's measurement: `events` per pass, `ns` over `passes` passes. */
export interface SpeedSample {
  readonly events: number;
  readonly passes: number;
  readonly ns: number;
  readonly nsPerEvent: number;
}

function sample(events: number, passes: number, ns: number): SpeedSample {
  return { events, passes, ns, nsPerEvent: ns / (events * passes) };
}

/** Run `pass` until `minMs` have gone by (after one warm-up pass); returns events per pass and the time. */
function timePasses(pass: () => number, minMs: number): SpeedSample {
  const events = pass();
  let passes = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0n;
  const limit = BigInt(minMs) * 1_000_000n;
  while (elapsed < limit) {
    pass();
    passes++;
    elapsed = process.hrtime.bigint() - started;
  }
  return sample(events, passes, Number(elapsed));
}

/** The header walk through the cursor: time stamps, payload offsets and lengths (stamps below 2^53 ns). */
export function walkEvents(cursor: EventCursor, pages: number): number {
  let events = 0;
  let sum = 0;
  for (let page = 0; page < pages; page++) {
    cursor.setPage(page * PAGE_SIZE);
    while (cursor.next()) {
      sum += cursor.timestampNs() + cursor.payloadOffset + cursor.payloadLength;
      events++;
    }
  }
  return sum === -1 ? 0 : events;
}

function integerField(format: CompiledFormat, name: string): (source: EventCursor) => number | bigint {
  const integer = format.byName.get(name)?.integer;
  if (integer === undefined || integer === null) throw new Error(`${format.format.name} has no integer field ${name}`);
  return integer;
}

/**
 * Every field of every print event through its compiled reader, resolved
 * once: the common fields, ip (a kernel address, past 2^53: read as its two
 * 32-bit halves, as a bigint would cost an allocation), and buf's extent up to
 * its NUL (the C decoder's strnlen) or, with `strings`, buf as a JS string.
 */
export function decodeEvents(cursor: EventCursor, pages: number, format: CompiledFormat, strings: boolean): number {
  const flags = integerField(format, 'common_flags');
  const preempt = integerField(format, 'common_preempt_count');
  const pid = integerField(format, 'common_pid');
  const ip = format.byName.get('ip')?.field.offset;
  if (ip === undefined) throw new Error('print has no field ip');
  const buf = format.byName.get('buf');
  if (buf?.textEnd === null || buf?.textEnd === undefined || buf.textStart === null) throw new Error('print has no text field buf');
  const { textStart, textEnd, read } = buf;
  let events = 0;
  let sum = 0;
  for (let page = 0; page < pages; page++) {
    cursor.setPage(page * PAGE_SIZE);
    while (cursor.next()) {
      sum += cursor.timestampNs();
      if (cursor.eventType() !== format.format.id) continue;
      sum += (flags(cursor) as number) + (preempt(cursor) as number) + (pid(cursor) as number) + cursor.u32(ip) + cursor.u32(ip + 4);
      if (strings) sum += (read(cursor) as string).length;
      else sum += textEnd(cursor) - textStart(cursor);
      events++;
    }
  }
  return sum === -1 ? 0 : events;
}

/** One line per event, as decode_speed's dump prints it. */
export function dumpEvents(cursor: EventCursor, pages: number, format: CompiledFormat): string[] {
  const lines: string[] = [];
  const field = (name: string): ReturnType<CompiledFormat['fields'][number]['read']> => format.byName.get(name)!.read(cursor);
  for (let page = 0; page < pages; page++) {
    cursor.setPage(page * PAGE_SIZE);
    while (cursor.next()) {
      const names = ['common_type', 'common_flags', 'common_preempt_count', 'common_pid', 'ip', 'buf'];
      lines.push([cursor.timestampBig(), ...names.map(field)].map(String).join(' '));
    }
  }
  return lines;
}

export interface CDecoder {
  readonly binary: string;
  readonly pagesFile: string;
}

const source = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'tests', 'host', 'decode-speed', 'decode_speed.c');

/** Build decode_speed.c with the host's gcc and write the pages where it reads them. */
export function prepareC(pages: GeneratedPages): CDecoder {
  const dir = mkdtempSync(join(tmpdir(), 'rbmap-decode-speed-'));
  const binary = join(dir, 'decode_speed');
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, source], { stdio: 'pipe' });
  } catch (cause) {
    const detail = cause instanceof Error && 'stderr' in cause ? String((cause as { stderr: unknown }).stderr) : String(cause);
    throw new Error(`building ${source} with gcc failed (install gcc: rbmap doctor --install): ${detail}`, { cause });
  }
  const pagesFile = join(dir, 'pages.bin');
  writeFileSync(pagesFile, pages.bytes);
  return { binary, pagesFile };
}

export function runC(decoder: CDecoder, mode: 'walk' | 'full', passes: number): SpeedSample & { checksum: string } {
  const out = execFileSync(decoder.binary, [decoder.pagesFile, String(PAGE_SIZE), mode, String(passes)], { encoding: 'utf8' });
  const result = JSON.parse(out) as { events: number; passes: number; ns: number; checksum: string };
  return { ...sample(result.events, result.passes, result.ns), checksum: result.checksum };
}

export function dumpC(decoder: CDecoder): string[] {
  return execFileSync(decoder.binary, [decoder.pagesFile, String(PAGE_SIZE), 'dump', '1'], { encoding: 'utf8', maxBuffer: 1 << 28 })
    .split('\n')
    .filter((line) => line !== '');
}

export interface SpeedRow {
  readonly ts: SpeedSample;
  readonly c: SpeedSample;
}

export interface SpeedTable {
  readonly walk: SpeedRow;
  /** Every field; the text's extent found, not decoded (what the C decoder does). */
  readonly full: SpeedRow;
  /** Every field, the text decoded into a JS string (against the same C figure). */
  readonly fullStrings: SpeedRow;
}

/** The sample with the least ns per event: on a shared machine, the closest to what the code costs. */
function fastest(samples: readonly SpeedSample[]): SpeedSample {
  return samples.reduce((best, sample) => (sample.nsPerEvent < best.nsPerEvent ? sample : best));
}

/**
 * Measure both decoders, every way, over the same pages: `rounds` rounds,
 * each decoder `minMs` per way and round, the TypeScript and C runs
 * interleaved so that a busy moment of the machine hits both; the fastest
 * round of each.
 */
export function measureSpeed(pages: GeneratedPages, decoder: CDecoder, rounds = 5, minMs = 100): SpeedTable {
  const cursor = new EventCursor(new DataView(pages.bytes.buffer), LAYOUTS);
  const print = compileFormat(PRINT_FORMAT, true);
  const passesFor = (nsPerEvent: number): number => Math.max(1, Math.ceil((minMs * 1e6) / (nsPerEvent * pages.events)));
  const samples = { tsWalk: [] as SpeedSample[], tsFull: [] as SpeedSample[], tsStrings: [] as SpeedSample[], cWalk: [] as SpeedSample[], cFull: [] as SpeedSample[] };
  for (let round = 0; round < rounds; round++) {
    samples.tsWalk.push(timePasses(() => walkEvents(cursor, pages.pages), minMs));
    samples.cWalk.push(runC(decoder, 'walk', passesFor(samples.tsWalk.at(-1)!.nsPerEvent)));
    samples.tsFull.push(timePasses(() => decodeEvents(cursor, pages.pages, print, false), minMs));
    samples.cFull.push(runC(decoder, 'full', passesFor(samples.tsFull.at(-1)!.nsPerEvent)));
    samples.tsStrings.push(timePasses(() => decodeEvents(cursor, pages.pages, print, true), minMs));
  }
  const cFull = fastest(samples.cFull);
  return {
    walk: { ts: fastest(samples.tsWalk), c: fastest(samples.cWalk) },
    full: { ts: fastest(samples.tsFull), c: cFull },
    fullStrings: { ts: fastest(samples.tsStrings), c: cFull },
  };
}

export function formatSpeedTable(table: SpeedTable): string {
  const row = (what: string, { ts, c }: SpeedRow): string =>
    `${what.padEnd(26)} ${ts.nsPerEvent.toFixed(1).padStart(8)} ${c.nsPerEvent.toFixed(1).padStart(8)} ${(ts.nsPerEvent / c.nsPerEvent).toFixed(2).padStart(7)}×`;
  return [
    `${'ns/event'.padEnd(26)} ${'TS'.padStart(8)} ${'C'.padStart(8)} ${'TS / C'.padStart(8)}`,
    row('header walk', table.walk),
    row('full decode', table.full),
    row('full decode, text as string', table.fullStrings),
  ].join('\n');
}
