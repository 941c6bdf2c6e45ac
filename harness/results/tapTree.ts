/** The line grammar and tree builder TAP 13/14 and KTAP share; nodeTap.ts reads the tree the Node.js way, ktap.ts the KUnit way. */

export type TestStatus = 'pass' | 'fail' | 'skip' | 'todo';

/** One leaf test, as every consumer (report, JUnit) sees it. */
export interface TestResult {
  /** Path from the outermost named level to the test, joined with ' > '. */
  name: string;
  status: TestStatus;
  durationMs?: number;
  diagnostic?: string;
  suite: string;
}

/** Leaf results plus everything wrong with the stream itself (each one fails the run). */
export interface ParsedResults {
  results: TestResult[];
  problems: string[];
}

export interface Directive {
  kind: 'skip' | 'todo';
  reason: string;
}

export type TapToken =
  | { kind: 'version'; depth: number; version: number }
  | { kind: 'plan'; depth: number; count: number; reason: string }
  | { kind: 'test'; depth: number; ok: boolean; number: number | null; description: string; directive: Directive | null }
  | { kind: 'subtest'; depth: number; name: string }
  | { kind: 'bailout'; depth: number; reason: string }
  | { kind: 'yaml-start'; depth: number }
  | { kind: 'comment'; depth: number; text: string }
  | { kind: 'blank'; depth: number }
  | { kind: 'other'; depth: number; text: string };

/** Subtests are indented by four spaces per level (TAP 14, KTAP, Node's reporter). */
const indentPerLevel = 4;

/** Classifies one line (no terminator). YAML block bodies are the tree builder's business. */
export function tokenizeTapLine(rawLine: string): TapToken {
  const line = rawLine.replace(/\r$/, '').replace(/\t/g, '        ');
  const body = line.trimStart();
  const indent = line.length - body.length;
  const depth = Math.floor(indent / indentPerLevel);
  if (body === '') return { kind: 'blank', depth };

  let match = /^(?:TAP|KTAP) version (\d+)\s*$/i.exec(body);
  if (match !== null) return { kind: 'version', depth, version: Number(match[1]) };

  match = /^1\.\.(\d+)\s*(?:#\s*(.*))?$/.exec(body);
  if (match !== null) return { kind: 'plan', depth, count: Number(match[1]), reason: (match[2] ?? '').trim() };

  match = /^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$/.exec(body);
  if (match !== null) {
    const { description, directive } = splitDirective(match[3] ?? '');
    return {
      kind: 'test',
      depth,
      ok: match[1] === 'ok',
      number: match[2] === undefined ? null : Number(match[2]),
      description,
      directive,
    };
  }

  match = /^#\s*Subtest:\s*(.*)$/.exec(body);
  if (match !== null) return { kind: 'subtest', depth, name: unescapeTap((match[1] ?? '').trim()) };

  match = /^Bail out!\s*(.*)$/i.exec(body);
  if (match !== null) return { kind: 'bailout', depth, reason: (match[1] ?? '').trim() };

  if (/^---\s*$/.test(body)) return { kind: 'yaml-start', depth };
  if (body.startsWith('#')) return { kind: 'comment', depth, text: body.replace(/^#\s?/, '') };
  return { kind: 'other', depth, text: body };
}

/** Splits `name # SKIP reason` at the first unescaped '#' that starts a SKIP/TODO directive. */
function splitDirective(rest: string): { description: string; directive: Directive | null } {
  for (let index = 0; index < rest.length; index += 1) {
    const char = rest[index];
    if (char === '\\') {
      index += 1;
      continue;
    }
    if (char !== '#') continue;
    const match = /^#\s*(skip\S*|todo\S*)\s*(.*)$/i.exec(rest.slice(index));
    if (match === null) continue;
    const kind = (match[1] ?? '').toLowerCase().startsWith('skip') ? 'skip' : 'todo';
    return { description: unescapeTap(rest.slice(0, index).trim()), directive: { kind, reason: (match[2] ?? '').trim() } };
  }
  return { description: unescapeTap(rest.trim()), directive: null };
}

const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v' };

function unescapeTap(text: string): string {
  return text.replace(/\\(.)/g, (_all, char: string) => escapes[char] ?? char);
}

/** A test point with what the stream said about it. */
export interface TapNode {
  name: string;
  ok: boolean;
  number: number | null;
  directive: Directive | null;
  /** Lines of the YAML diagnostic block, de-indented. */
  yaml: string[];
  /** Comment and unrecognised lines that came before the test point at its level. */
  notes: string[];
  children: TapNode[];
  /** The block `children` came from (its plan, `# Subtest:` name and depth), or null for a leaf. */
  subtestBlock: TapBlock | null;
  /** 1-based line of the test point. */
  line: number;
}

/** A level of nesting: the top of the stream, or the subtests of one test point. */
export interface TapBlock {
  depth: number;
  /** From `# Subtest: name`, when the stream gave one. */
  subtestName: string | null;
  plan: { count: number; reason: string; line: number } | null;
  tests: TapNode[];
  /** The block never got its closing test point (stream cut short). */
  unterminated: boolean;
}

export interface TapTree {
  /** One per TAP document (a `TAP version` line at depth 0 after content starts another). */
  documents: TapBlock[];
  /** Structural problems found while building (bail out, truncation). */
  problems: string[];
}

interface OpenBlock extends TapBlock {
  pendingNotes: string[];
  pendingSubtest: string | null;
}

function openBlock(depth: number, subtestName: string | null): OpenBlock {
  return { depth, subtestName, plan: null, tests: [], unterminated: false, pendingNotes: [], pendingSubtest: null };
}

function closeBlock(block: OpenBlock): TapBlock {
  return { depth: block.depth, subtestName: block.subtestName, plan: block.plan, tests: block.tests, unterminated: block.unterminated };
}

/** Builds a TapTree line by line (see buildTapTree). */
class TapTreeBuilder {
  readonly documents: TapBlock[] = [];
  readonly problems: string[] = [];
  private stack: OpenBlock[] = [openBlock(0, null)];
  /** The block that just closed at depth d+1 waits here for its test point at depth d. */
  private readonly finishedChildren = new Map<number, TapBlock>();
  private sawContent = false;
  private yaml: { node: TapNode; indent: number } | null = null;
  private lastNode: TapNode | null = null;

  private top(): OpenBlock {
    return this.stack[this.stack.length - 1] as OpenBlock;
  }

  /** Closes blocks deeper than `depth`; the one just below `depth` is kept for its parent. */
  private unwindTo(depth: number): void {
    while (this.stack.length > 1 && this.top().depth > depth) {
      const block = this.stack.pop() as OpenBlock;
      const stale = this.finishedChildren.get(block.depth);
      if (stale !== undefined) {
        this.finishedChildren.delete(block.depth);
        attachOrphans(block, { ...stale, unterminated: true });
      }
      if (block.depth === depth + 1) this.finishedChildren.set(depth, closeBlock(block));
      else {
        block.unterminated = true;
        attachOrphans(this.top(), closeBlock(block));
      }
    }
  }

  private ensureDepth(depth: number): void {
    this.unwindTo(depth);
    while (this.top().depth < depth) {
      const parent = this.top();
      const name = parent.pendingSubtest;
      parent.pendingSubtest = null;
      this.stack.push(openBlock(parent.depth + 1, name));
    }
  }

  private finishDocument(): void {
    this.unwindTo(0);
    const root = this.stack[0] as OpenBlock;
    const orphan = this.finishedChildren.get(0);
    if (orphan !== undefined) {
      orphan.unterminated = true;
      attachOrphans(root, orphan);
      this.finishedChildren.delete(0);
    }
    this.documents.push(closeBlock(root));
    this.stack = [openBlock(0, null)];
  }

  private addTest(token: Extract<TapToken, { kind: 'test' }>, lineNumber: number): void {
    this.ensureDepth(token.depth);
    const block = this.top();
    const subtestBlock = this.finishedChildren.get(token.depth) ?? null;
    this.finishedChildren.delete(token.depth);
    const node: TapNode = {
      name: token.description,
      ok: token.ok,
      number: token.number,
      directive: token.directive,
      yaml: [],
      notes: block.pendingNotes,
      children: subtestBlock?.tests ?? [],
      subtestBlock,
      line: lineNumber,
    };
    block.pendingNotes = [];
    block.pendingSubtest = null;
    block.tests.push(node);
    this.lastNode = node;
  }

  private addNote(depth: number, raw: string): void {
    let target = this.top();
    for (const block of this.stack) if (block.depth <= depth) target = block;
    const line = raw.replace(/\t/g, '        ');
    target.pendingNotes.push(line.slice(Math.min(line.length - line.trimStart().length, target.depth * indentPerLevel)));
  }

  /** One line (1-based `lineNumber`); false after a bail out: the rest of the stream is ignored. */
  feed(raw: string, lineNumber: number): boolean {
    if (this.yaml !== null) {
      const indent = raw.length - raw.trimStart().length;
      if (raw.trim() === '...' && indent <= this.yaml.indent) this.yaml = null;
      else this.yaml.node.yaml.push(raw.slice(Math.min(indent, this.yaml.indent)));
      return true;
    }
    const token = tokenizeTapLine(raw);
    const contentBefore = this.sawContent;
    if (token.kind === 'version' || token.kind === 'subtest' || token.kind === 'plan' || token.kind === 'test') this.sawContent = true;
    switch (token.kind) {
      case 'version':
        if (token.depth === 0 && contentBefore) this.finishDocument();
        else this.ensureDepth(token.depth);
        break;
      case 'subtest': {
        // Node writes `# Subtest:` at the parent's depth, KUnit inside the block; both name the block below.
        this.ensureDepth(token.depth);
        const block = this.top();
        if (block.tests.length === 0 && block.subtestName === null && token.depth > 0) block.subtestName = token.name;
        else block.pendingSubtest = token.name;
        break;
      }
      case 'plan': {
        this.ensureDepth(token.depth);
        const block = this.top();
        if (block.plan !== null) this.problems.push(`line ${lineNumber}: second plan 1..${token.count} in one block`);
        block.plan = { count: token.count, reason: token.reason, line: lineNumber };
        break;
      }
      case 'test':
        this.addTest(token, lineNumber);
        break;
      case 'yaml-start':
        // A YAML block belongs to the test point on the line just before it.
        if (this.lastNode !== null && this.lastNode.line === lineNumber - 1) this.yaml = { node: this.lastNode, indent: raw.length - raw.trimStart().length };
        break;
      case 'bailout':
        this.problems.push(`line ${lineNumber}: Bail out!${token.reason === '' ? '' : ` ${token.reason}`}`);
        return false;
      case 'comment':
      case 'other':
        this.addNote(token.depth, raw);
        break;
      case 'blank':
        break;
    }
    return true;
  }

  finish(): TapTree {
    if (this.yaml !== null) this.problems.push(`the stream ends inside the YAML block of "${this.yaml.node.name}"`);
    if (this.stack.length > 1 || this.finishedChildren.size > 0) this.problems.push('the stream ends inside a subtest (truncated output)');
    this.finishDocument();
    const { documents } = this;
    return { documents: documents.filter((doc) => doc.tests.length > 0 || doc.plan !== null || documents.length === 1), problems: this.problems };
  }
}

/**
 * Builds the nesting tree of a TAP or KTAP stream. A test point's subtests are the
 * block indented one level deeper just before it. Comments and unrecognised lines
 * never change the structure; they become notes of the next test point.
 */
export function buildTapTree(text: string): TapTree {
  const builder = new TapTreeBuilder();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    if (!builder.feed((lines[index] ?? '').replace(/\r$/, ''), index + 1)) break;
  }
  return builder.finish();
}

/** A cut-short block's tests still count: they hang under a synthetic, failing parent. */
function attachOrphans(parent: OpenBlock, orphan: TapBlock): void {
  if (orphan.tests.length === 0 && orphan.subtestName === null) return;
  const node: TapNode = {
    name: orphan.subtestName ?? '(unnamed subtest)',
    ok: false,
    number: null,
    directive: null,
    yaml: ['error: the stream ended before this subtest finished'],
    notes: [],
    children: orphan.tests,
    subtestBlock: { ...orphan, unterminated: true },
    line: 0,
  };
  parent.tests.push(node);
}

/** Checks one block's plan against its test points. */
export function planProblems(block: TapBlock, where: string, planRequired: boolean): string[] {
  const problems: string[] = [];
  if (block.unterminated) problems.push(`${where}: truncated, the subtest never finished`);
  if (block.plan === null) {
    if (planRequired && !block.unterminated) problems.push(`${where}: no plan line (1..N)`);
    return problems;
  }
  if (block.plan.count !== block.tests.length) {
    problems.push(`${where}: plan says 1..${block.plan.count} but ${block.tests.length} test(s) reported`);
  }
  return problems;
}


/** Recursively checks every subtest block's plan. */
export function nestedPlanProblems(nodes: readonly TapNode[], path: readonly string[], planRequiredAt: (depth: number) => boolean): string[] {
  const problems: string[] = [];
  for (const node of nodes) {
    const block = node.subtestBlock;
    const name = [...path, node.name];
    if (block !== null) problems.push(...planProblems(block, `"${name.join(' > ')}"`, planRequiredAt(block.depth)));
    problems.push(...nestedPlanProblems(node.children, name, planRequiredAt));
  }
  return problems;
}

export function statusOf(node: TapNode): TestStatus {
  if (node.directive?.kind === 'todo') return 'todo';
  if (node.directive?.kind === 'skip') return 'skip';
  return node.ok ? 'pass' : 'fail';
}

/** How a dialect reads a test point's YAML: where its duration is, which lines are worth showing. */
export interface TapDialect {
  durationOf?(node: TapNode): number | undefined;
  /** The YAML lines of a diagnostic (all of them when the dialect does not say). */
  diagnosticYaml?(node: TapNode): readonly string[];
}

/** The directive's reason, the notes and the YAML of a test point as one text. */
function diagnosticOf(node: TapNode, yaml: readonly string[]): string | undefined {
  const parts = [...node.notes, ...yaml];
  if (node.directive !== null && node.directive.reason !== '') parts.unshift(`${node.directive.kind.toUpperCase()}: ${node.directive.reason}`);
  const text = parts.join('\n').trim();
  return text === '' ? undefined : text;
}

/**
 * Turns a tree into leaf results. A parent that failed while none of its leaves did
 * (a hook, a crashed file, a cut-short subtest) becomes a failing result of its own.
 */
export function flattenTree(nodes: readonly TapNode[], path: readonly string[], suite: string, out: TestResult[], dialect: TapDialect = {}): void {
  for (const node of nodes) {
    const name = [...path, node.name];
    if (node.children.length === 0) {
      out.push(resultOf(node, name, suite, dialect));
      continue;
    }
    const before = out.length;
    flattenTree(node.children, name, suite, out, dialect);
    const childFailed = out.slice(before).some((result) => result.status === 'fail');
    if (statusOf(node) === 'fail' && !childFailed) out.push(resultOf(node, name, suite, dialect));
  }
}

function resultOf(node: TapNode, name: readonly string[], suite: string, dialect: TapDialect): TestResult {
  const result: TestResult = { name: name.join(' > '), status: statusOf(node), suite };
  const durationMs = dialect.durationOf?.(node);
  if (durationMs !== undefined) result.durationMs = durationMs;
  const diagnostic = result.status === 'pass' ? undefined : diagnosticOf(node, dialect.diagnosticYaml?.(node) ?? node.yaml);
  if (diagnostic !== undefined) result.diagnostic = diagnostic;
  return result;
}
