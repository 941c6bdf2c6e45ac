/**
 * A node:test reporter: Node's own TAP, framed per test file as the host expects
 * (../contract.ts): the suite line naming the file, then that file's TAP document.
 *
 * run-files.ts runs every file in one process as a top-level suite named after the
 * file; this reporter turns each such suite back into a document of its own (its
 * events one level up, through Node's tap reporter), streamed as the tests finish.
 */
import { tap } from 'node:test/reporters';
import type { TestEvent } from 'node:test/reporters';
import { suiteLine } from '../contract.js';

type NestedEvent = Extract<TestEvent, { data: { nesting: number } }>;

function hasNesting(event: TestEvent): event is NestedEvent {
  return typeof (event.data as { nesting?: unknown } | undefined)?.nesting === 'number';
}

/** One file's events, fed to Node's tap reporter while the file runs. */
class FileDocument {
  private readonly pending: TestEvent[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private readonly output: string[] = [];
  private readonly pump: Promise<void>;
  /** The file's plan, held back until the file ends: a failing after-hook adds a test before it. */
  plan: NestedEvent | null = null;

  constructor() {
    this.pump = (async () => {
      for await (const chunk of tap(this.events())) this.output.push(chunk);
    })();
  }

  private async *events(): AsyncGenerator<TestEvent, void> {
    for (;;) {
      const next = this.pending.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  push(event: TestEvent): void {
    this.pending.push(event);
    this.poke();
  }

  /** What the tap reporter has written so far (after letting it run). */
  async take(): Promise<string[]> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.output.splice(0);
  }

  async finish(): Promise<string[]> {
    this.ended = true;
    this.poke();
    await this.pump;
    return this.output.splice(0);
  }
}

export default async function* tapPerFile(source: AsyncIterable<TestEvent>): AsyncGenerator<string, void> {
  let file: FileDocument | null = null;
  for await (const event of source) {
    if (!hasNesting(event)) continue;
    const { nesting } = event.data;
    if (nesting > 0) {
      if (file === null) continue;
      const lifted = { ...event, data: { ...event.data, nesting: nesting - 1 } } as NestedEvent;
      if (event.type === 'test:plan' && nesting === 1) {
        file.plan = lifted;
        continue;
      }
      file.push(lifted);
      yield* await file.take();
      continue;
    }
    if (event.type === 'test:start') {
      file = new FileDocument();
      yield suiteLine(event.data.name);
      yield* await file.take();
    } else if ((event.type === 'test:pass' || event.type === 'test:fail') && file !== null) {
      const planned = file.plan?.type === 'test:plan' ? file.plan.data.count : 0;
      const ownFailure = event.type === 'test:fail' && (event.data.details.error as { failureType?: string }).failureType !== 'subtestsFailed';
      if (ownFailure) {
        // The file failed on its own (it did not load, or an after-hook of it threw):
        // one more failing point, named after the file, says why.
        file.push({ ...event, data: { ...event.data, testNumber: planned + 1 } });
        file.push({ type: 'test:plan', data: { nesting: 0, count: planned + 1, column: 1, file: undefined, line: 1 } } as TestEvent);
      } else if (file.plan !== null) {
        file.push(file.plan);
      }
      yield* await file.finish();
      file = null;
    } else if (event.type === 'test:diagnostic' && file === null) {
      // The run's totals ("tests 104", "pass 101", ...), after the last file.
      yield `# ${event.data.message}\n`;
    }
  }
}
