import fs from 'node:fs';
import path from 'node:path';
import { packagePath } from '../persistence/packagePath';

/** Every .ts file under a top-level folder, and where each of its imports resolves to (relative imports only). */
function importsUnder(folder: string): Array<{ file: string; target: string }> {
  const found: Array<{ file: string; target: string }> = [];
  for (const entry of fs.readdirSync(packagePath(folder), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    for (const [, specifier] of fs.readFileSync(file, 'utf8').matchAll(/from '(\.[^']*)'|import\('(\.[^']*)'\)|require\('(\.[^']*)'\)/g)) {
      if (specifier === undefined) continue;
      found.push({ file: path.relative(packagePath(), file), target: path.relative(packagePath(), path.resolve(path.dirname(file), specifier)) });
    }
  }
  return found;
}

const pointingInto = (imports: Array<{ file: string; target: string }>, folders: string[]): string[] =>
  imports.filter(({ target }) => folders.some((folder) => target === folder || target.startsWith(`${folder}/`))).map(({ file, target }) => `${file} → ${target}`);

describe('dependencies point down: api → queue → persistence (docs/architecture.md)', () => {
  test('persistence/ imports nothing from queue/ or api/', () => {
    const imports = importsUnder('persistence');
    expect(imports.length).toBeGreaterThan(50);
    expect(pointingInto(imports, ['queue', 'api'])).toEqual([]);
  });

  test('persistence/rows/, what every SQL backend shares, imports no backend', () => {
    const imports = importsUnder('persistence/rows');
    expect(imports.length).toBeGreaterThan(10);
    expect(pointingInto(imports, ['queue', 'api', 'persistence/sqlite', 'persistence/postgres'])).toEqual([]);
  });

  test('queue/ imports nothing from api/, and no backend', () => {
    const imports = importsUnder('queue');
    expect(imports.length).toBeGreaterThan(50);
    expect(pointingInto(imports, ['api', 'persistence/sqlite', 'persistence/postgres', 'persistence/rows'])).toEqual([]);
  });
});
