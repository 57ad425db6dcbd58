import fs from 'node:fs';
import path from 'node:path';

let root: string | undefined;

/**
 * Resolves a file shipped with the package (openapi.yaml, migrations).
 * Code runs both from source (tests) and from dist/ (npm start), one level
 * apart, so the root is found by walking up to package.json.
 */
export function packagePath(...segments: string[]): string {
  if (root === undefined) {
    let dir = __dirname;
    while (!fs.existsSync(path.join(dir, 'package.json'))) {
      const parent = path.dirname(dir);
      if (parent === dir) throw new Error(`package.json not found above ${__dirname}`);
      dir = parent;
    }
    root = dir;
  }
  return path.join(root, ...segments);
}
