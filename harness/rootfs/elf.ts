/**
 * What the rootfs needs to know of an ELF file, read from its header: is it
 * one at all, and does it ask for a dynamic loader.
 */
import { open } from 'node:fs/promises';

const ELF_MAGIC = 0x7f454c46;
const PT_INTERP = 3;

/** Up to `length` bytes of `path` from `offset` (fewer at the end of the file). */
async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

export async function isElf(path: string): Promise<boolean> {
  const head = await readAt(path, 0, 4);
  return head.length === 4 && head.readUInt32BE(0) === ELF_MAGIC;
}

/** Does this ELF file ask for a dynamic loader (has PT_INTERP)? null: not a 64-bit little-endian ELF file. */
export async function hasInterpreter(path: string): Promise<boolean | null> {
  const header = await readAt(path, 0, 64);
  if (header.length < 64 || header.readUInt32BE(0) !== ELF_MAGIC || header[4] !== 2 || header[5] !== 1) return null;
  const phoff = Number(header.readBigUInt64LE(0x20));
  const phentsize = header.readUInt16LE(0x36);
  const phnum = header.readUInt16LE(0x38);
  const table = await readAt(path, phoff, phentsize * phnum);
  for (let i = 0; (i + 1) * phentsize <= table.length; i++) {
    if (table.readUInt32LE(i * phentsize) === PT_INTERP) return true;
  }
  return false;
}
