/** Assertions of the guest tests beyond node:assert. */
import assert from 'node:assert/strict';

/** Assert that `action` throws an error whose `code` is `code` (an errno name). */
export function assertErrno(action: () => unknown, code: string, message?: string): void {
  let thrown: unknown = null;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  if (thrown === null) assert.fail(`${message ?? 'call'}: expected ${code}, but it succeeded`);
  const actual = thrown instanceof Error ? (thrown as Error & { code?: unknown }).code : undefined;
  assert.equal(actual, code, `${message ?? 'call'}: expected ${code}, got ${String(actual)} (${thrown instanceof Error ? thrown.message : String(thrown)})`);
}
