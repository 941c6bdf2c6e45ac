import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';

export function sha256(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(p);
    h.update('\0');
  }
  return h.digest('hex');
}

/** Cheap identity of a large file we do not want to read: path, size, mtime. */
export async function fileStamp(path: string): Promise<string> {
  const s = await stat(path);
  return `${path}:${s.size}:${Math.floor(s.mtimeMs)}`;
}
