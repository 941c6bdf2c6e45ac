/**
 * The ELF header reader (harness/rootfs/elf.ts), on files written here: an ELF
 * file is told by its magic, and a loader by a PT_INTERP program header.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasInterpreter, isElf } from '../../harness/rootfs/elf.js';

/** A 64-bit little-endian ELF header followed by program headers of the given types. */
function elf64(programHeaderTypes: readonly number[]): Buffer {
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // ELFCLASS64
  header[5] = 1; // ELFDATA2LSB
  header.writeBigUInt64LE(64n, 0x20); // e_phoff
  header.writeUInt16LE(56, 0x36); // e_phentsize
  header.writeUInt16LE(programHeaderTypes.length, 0x38); // e_phnum
  const table = Buffer.alloc(56 * programHeaderTypes.length);
  programHeaderTypes.forEach((type, i) => table.writeUInt32LE(type, i * 56));
  return Buffer.concat([header, table]);
}

t.test('a dynamic executable, a static one, a 32-bit one, a text file and a short file', async (t) => {
  const dir = t.testdir();
  const files = {
    dynamic: elf64([6 /* PT_PHDR */, 3 /* PT_INTERP */, 1 /* PT_LOAD */]),
    static: elf64([1, 1]),
    elf32: Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1]), Buffer.alloc(58)]),
    text: Buffer.from('#!/bin/sh\necho not an ELF file\n'),
    short: Buffer.from([0x7f, 0x45]),
  };
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
  const path = (name: keyof typeof files): string => join(dir, name);
  t.equal(await isElf(path('dynamic')), true);
  t.equal(await isElf(path('elf32')), true, 'any ELF class is an ELF file');
  t.equal(await isElf(path('text')), false);
  t.equal(await isElf(path('short')), false);
  t.equal(await hasInterpreter(path('dynamic')), true);
  t.equal(await hasInterpreter(path('static')), false);
  t.equal(await hasInterpreter(path('elf32')), null, 'only 64-bit little-endian files are read');
  t.equal(await hasInterpreter(path('text')), null);
});

t.test('the node running this test asks for a loader', async (t) => {
  t.equal(await isElf(process.execPath), true);
  t.equal(await hasInterpreter(process.execPath), true);
});
