import t from 'tap';
import { architectures } from '../../vm/index.js';
import { buildDirFor } from '../../harness/build/kernel.js';

const x86 = architectures['x86_64']!;

t.test('a tree the cache holds builds inside itself, two levels down, so every version has the same relative paths', async (t) => {
  t.equal(buildDirFor('/c', x86, 'default', '/c/trees/debian-6.1-abc'), '/c/trees/debian-6.1-abc/.rbmap-build/x86_64-default');
  t.equal(buildDirFor('/c', x86, 'debug', '/c/trees/ext-123'), '/c/trees/ext-123/.rbmap-build/x86_64-debug');
});

t.test('any other tree builds in the cache, keyed by its path', async (t) => {
  t.match(buildDirFor('/c', x86, 'default', '/home/me/linux'), /^\/c\/build\/x86_64-default-[0-9a-f]{8}$/);
  t.not(buildDirFor('/c', x86, 'default', '/home/me/linux'), buildDirFor('/c', x86, 'default', '/home/me/linux2'));
  t.match(buildDirFor('/c', x86, 'default', '/c/trees'), /^\/c\/build\//, 'not the trees folder itself');
  t.match(buildDirFor('/c', x86, 'default', '/c/trees/a/b'), /^\/c\/build\//, 'not a folder inside a tree');
  t.match(buildDirFor('/c', x86, 'default', '/c/treesX/a'), /^\/c\/build\//);
});
