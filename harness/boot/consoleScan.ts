import { readFileSync } from 'node:fs';

export type FindingKind =
  | 'kasan'
  | 'lockdep'
  | 'oops'
  | 'bug'
  | 'warning'
  | 'panic'
  | 'general-protection-fault'
  | 'unable-to-handle'
  | 'hung-task'
  | 'rcu-stall';

export interface ConsoleFinding {
  kind: FindingKind;
  /** 1-based line of the first line of the splat that matched. */
  line: number;
  /** From a few lines before the hit to `---[ end trace ... ]---` (or a bounded number of lines). */
  excerpt: string;
}

/** Most specific first: the first pattern that matches a line decides its kind. */
const patterns: readonly { kind: FindingKind; pattern: RegExp }[] = [
  { kind: 'kasan', pattern: /\bBUG: KASAN: / },
  { kind: 'lockdep', pattern: /WARNING: (possible circular locking dependency detected|inconsistent lock state|possible recursive locking detected|suspicious RCU usage|bad unlock balance detected|held lock freed)/ },
  { kind: 'panic', pattern: /Kernel panic - not syncing/ },
  { kind: 'general-protection-fault', pattern: /\bgeneral protection fault\b/ },
  { kind: 'unable-to-handle', pattern: /\bUnable to handle kernel\b/ },
  { kind: 'bug', pattern: /\bBUG: |\bkernel BUG at / },
  { kind: 'oops', pattern: /\bOops(?: - [\w ]+)?: [0-9a-f]+ \[#\d+\]|\binvalid opcode: [0-9a-f]+ \[#\d+\]/ },
  { kind: 'warning', pattern: /\bWARNING: CPU: \d+ PID: \d+ at / },
  { kind: 'hung-task', pattern: /\bINFO: task .+ blocked for more than \d+ seconds/ },
  { kind: 'rcu-stall', pattern: /\brcu: INFO: \w+ (self-)?detected stalls?/ },
];

/** Opens a splat whose real headline follows on the next lines. */
const cutHere = /-{6,}\[ cut here \]-{6,}/;
const endOfSplat = /---\[ end (trace [0-9a-f]+|Kernel panic - not syncing.*) \]---/;
const linesBefore = 3;
const maxSplatLines = 40;
/** An oops with registers, call trace and module list fits well within this. */
const endSearchLines = 150;

function kindOf(line: string): FindingKind | null {
  for (const { kind, pattern } of patterns) if (pattern.test(line)) return kind;
  return null;
}

/**
 * Finds kernel trouble in a console log. One finding per splat: hits inside a splat
 * already reported (up to its end-trace line) are part of it. A panic after an
 * oops's end-trace line is a finding of its own.
 */
export function scanConsole(text: string): ConsoleFinding[] {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  const findings: ConsoleFinding[] = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index] ?? '';
    let kind = kindOf(line);
    let headline = index;
    if (kind === null && cutHere.test(line)) {
      // The kind comes from the headline after the marker (a WARN or BUG); default to warning.
      kind = 'warning';
      for (let ahead = index + 1; ahead < Math.min(lines.length, index + 4); ahead += 1) {
        const next = kindOf(lines[ahead] ?? '');
        if (next !== null) {
          kind = next;
          headline = ahead;
          break;
        }
      }
    }
    if (kind === null) {
      index += 1;
      continue;
    }
    const start = Math.max(0, index - linesBefore);
    let end = Math.min(lines.length - 1, headline + maxSplatLines);
    for (let scan = headline; scan < Math.min(lines.length, headline + endSearchLines); scan += 1) {
      if (endOfSplat.test(lines[scan] ?? '')) {
        end = scan;
        break;
      }
    }
    findings.push({ kind, line: headline + 1, excerpt: lines.slice(start, end + 1).join('\n') });
    index = end + 1;
  }
  return findings;
}

export function scanConsoleFile(path: string): ConsoleFinding[] {
  return scanConsole(readFileSync(path, 'utf8'));
}
