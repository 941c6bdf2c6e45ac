import type { TestResult } from './tapTree.js';

/**
 * Text safe for XML 1.0 content and attribute values: markup characters escaped,
 * characters XML 1.0 cannot carry at all (C0 controls other than tab/LF/CR, lone
 * surrogates, U+FFFE/U+FFFF) written visibly as `\xNN` / `\uNNNN`.
 */
export function escapeXml(text: string): string {
  let out = '';
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    const char = text[index] as string;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += char + (text[index + 1] as string);
        index += 1;
      } else {
        out += `\\u${code.toString(16).toUpperCase()}`;
      }
      continue;
    }
    if (code >= 0xdc00 && code <= 0xdfff) {
      out += `\\u${code.toString(16).toUpperCase()}`;
      continue;
    }
    switch (char) {
      case '&': out += '&amp;'; break;
      case '<': out += '&lt;'; break;
      case '>': out += '&gt;'; break;
      case '"': out += '&quot;'; break;
      case "'": out += '&apos;'; break;
      case '\t': out += '&#9;'; break;
      case '\n': out += '&#10;'; break;
      case '\r': out += '&#13;'; break;
      default:
        if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
        else if (code === 0xfffe || code === 0xffff) out += `\\u${code.toString(16).toUpperCase()}`;
        else out += char;
    }
  }
  return out;
}

/** Element text: like escapeXml, but newlines and tabs stay as they are (readable in CI viewers). */
function escapeText(text: string): string {
  return escapeXml(text).replaceAll('&#10;', '\n').replaceAll('&#9;', '\t').replaceAll('&#13;', '');
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

/** JUnit XML: one <testsuite> per result suite (in order of first appearance). */
export function toJUnitXml(results: readonly TestResult[], options: { name?: string; timestamp?: Date } = {}): string {
  const suites = new Map<string, TestResult[]>();
  for (const result of results) {
    const list = suites.get(result.suite) ?? [];
    list.push(result);
    suites.set(result.suite, list);
  }
  const count = (list: readonly TestResult[], ...statuses: TestResult['status'][]): number =>
    list.filter((result) => statuses.includes(result.status)).length;
  const totalMs = (list: readonly TestResult[]): number => list.reduce((sum, result) => sum + (result.durationMs ?? 0), 0);

  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  lines.push(
    `<testsuites name="${escapeXml(options.name ?? 'rbmap')}" tests="${results.length}" failures="${count(results, 'fail')}" ` +
      `errors="0" skipped="${count(results, 'skip', 'todo')}" time="${seconds(totalMs(results))}">`,
  );
  const timestamp = (options.timestamp ?? new Date()).toISOString().replace(/\.\d+Z$/, '');
  for (const [suite, list] of suites) {
    lines.push(
      `  <testsuite name="${escapeXml(suite)}" tests="${list.length}" failures="${count(list, 'fail')}" errors="0" ` +
        `skipped="${count(list, 'skip', 'todo')}" time="${seconds(totalMs(list))}" timestamp="${timestamp}">`,
    );
    for (const result of list) {
      const open = `    <testcase classname="${escapeXml(suite)}" name="${escapeXml(result.name)}" time="${seconds(result.durationMs)}"`;
      const diagnostic = result.diagnostic ?? '';
      const firstLine = diagnostic.split('\n').find((line) => line.trim() !== '') ?? '';
      switch (result.status) {
        case 'pass':
          lines.push(`${open}/>`);
          break;
        case 'fail':
          lines.push(`${open}>`);
          lines.push(`      <failure message="${escapeXml(firstLine || 'failed')}" type="failure">${escapeText(diagnostic)}</failure>`);
          lines.push('    </testcase>');
          break;
        case 'skip':
        case 'todo':
          lines.push(`${open}>`);
          lines.push(`      <skipped message="${escapeXml(result.status === 'todo' ? `TODO ${firstLine}`.trim() : firstLine)}"/>`);
          lines.push('    </testcase>');
          break;
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
