/** Comments that name a file name one that exists: a renamed or removed file leaves no pointer to nothing. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const ROOTS = ['src', 'dev', 'scripts', 'bench'];
/** A path in a comment: relative (./, ../) or from the repository's root, ending in a file type we keep. */
const POINTER =
  /(?<![\w@/.-])((?:\.\.?\/|(?:src|docs|test|dev|scripts|bench|deploy)\/)[\w./-]*\.(?:ts|md|js|json|ya?ml))\b/g;

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

function pointers(file: string): string[] {
  const comments = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('*') || l.startsWith('/*') || l.startsWith('//'));
  return comments.flatMap((l) => [...l.matchAll(POINTER)].map((m) => m[1]!));
}

test('every file a source comment points to exists', () => {
  const checked: string[] = [];
  const missing: string[] = [];
  for (const file of ROOTS.flatMap(sources)) {
    for (const pointer of pointers(file)) {
      const target = pointer.startsWith('.') ? normalize(join(dirname(file), pointer)) : pointer;
      checked.push(target);
      if (!existsSync(target)) missing.push(`${file}: ${pointer}`);
    }
  }
  expect(missing).toEqual([]);
  // It reads the comments at all: the frozen batch workflow names the live one and the rate lease.
  expect(checked).toEqual(
    expect.arrayContaining(['src/workflows/provision-batch.ts', 'src/activities/cyclr/rate-lease.ts']),
  );
});
