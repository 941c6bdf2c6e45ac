/**
 * Progress of a long stage (kernel build, tree unpack, apt-get): on a terminal one live
 * line rewritten in place; elsewhere (CI logs) a plain line every `plainEveryMs`.
 * Both carry the stage's label, its latest status and the elapsed time.
 */

/** Where progress goes: process.stderr, or a test's recorder. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  sink?: ProgressSink;
  /** Without a terminal: one line this often (default 15 s). */
  plainEveryMs?: number;
  /** On a terminal: redraw this often at most (default 250 ms). */
  redrawEveryMs?: number;
  now?: () => number;
}

export function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}

export class ProgressLine {
  private status = '';
  private readonly started: number;
  private lastDrawn = 0;
  private drawnOnTerminal = false;
  private readonly timer: NodeJS.Timeout;
  private readonly sink: ProgressSink;
  private readonly now: () => number;
  private readonly redrawEveryMs: number;

  constructor(private readonly label: string, options: ProgressOptions = {}) {
    this.sink = options.sink ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.redrawEveryMs = options.redrawEveryMs ?? 250;
    this.started = this.now();
    const plainEveryMs = options.plainEveryMs ?? 15_000;
    // The terminal line's clock ticks each second; a plain line comes every plainEveryMs.
    this.timer = setInterval(() => (this.onTerminal ? this.draw() : this.printPlain()), this.onTerminal ? 1000 : plainEveryMs);
    this.timer.unref();
  }

  private get onTerminal(): boolean {
    return this.sink.isTTY === true;
  }

  private text(): string {
    const elapsed = formatElapsed(this.now() - this.started);
    return `${this.label}: ${this.status === '' ? 'working' : this.status} (${elapsed})`;
  }

  private draw(): void {
    // A terminal of unknown size (a pty nobody sized reports 0 columns) gets 100.
    const columns = this.sink.columns !== undefined && this.sink.columns > 0 ? this.sink.columns : 100;
    const width = Math.max(20, columns - 1);
    const text = this.text();
    this.sink.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.drawnOnTerminal = true;
    this.lastDrawn = this.now();
  }

  private printPlain(): void {
    this.sink.write(`${this.text()}\n`);
  }

  /** The stage's latest status ("1234 objects, kernel/trace"). */
  update(status: string): void {
    this.status = status;
    if (this.onTerminal && this.now() - this.lastDrawn >= this.redrawEveryMs) this.draw();
  }

  /** Stop; a terminal's live line is erased (the caller logs the outcome). */
  end(): void {
    clearInterval(this.timer);
    if (this.drawnOnTerminal) this.sink.write('\r\x1b[K');
  }
}
