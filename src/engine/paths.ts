/** Where the package's own files are, whether running from a bundle in dist/, a test bundle in out/, or sources. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'xai-lens') return (root = dir);
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the xai-lens package root above ${__dirname}`);
    dir = up;
  }
}

export const DEFAULT_MODEL_NAME = 'cbam-mobilenetv2-mnist';

export function defaultModelDir(): string {
  return join(packageRoot(), 'media', 'models', DEFAULT_MODEL_NAME);
}
