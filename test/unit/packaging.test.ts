/**
 * `npm run package` (scripts/package.mjs): the universal wasm-only .vsix and one per platform, read back as zips. Each
 * platform package carries that platform's ONNX Runtime and no other's, within 40 MiB; the universal one carries none.
 * On linux-x64 the unpacked package is run, outside this repository, and must reach ONNX Runtime from what it ships.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { packageRoot } from '../../src/engine/paths';
import { tempDir } from './helpers';

const TARGETS: Record<string, string> = {
  'linux-x64': 'linux/x64', 'linux-arm64': 'linux/arm64', 'darwin-arm64': 'darwin/arm64', 'win32-x64': 'win32/x64',
};

/** The names in a zip, and the text of the few files asked for. */
function readZip(file: string, texts: string[] = []): { names: string[]; text: Record<string, string> } {
  const names: string[] = [];
  const found = unzipSync(readFileSync(file), {
    filter: (f) => {
      names.push(f.name);
      return texts.includes(f.name);
    },
  });
  return { names, text: Object.fromEntries(Object.entries(found).map(([k, v]) => [k, strFromU8(v)])) };
}

describe('packaging', function () {
  this.timeout(600_000);
  const tmp = tempDir();
  const root = packageRoot();
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  let rows: { target: string; file: string; bytes: number }[];
  after(() => tmp.cleanup());

  before(function () {
    const out = join(tmp.dir, 'vsix');
    // The bundles as built for the tests (`npm test` builds dist first); the production build only minifies them.
    const skip = existsSync(join(root, 'dist', 'extension.js')) ? ['--skip-build'] : [];
    const stdout = execFileSync(process.execPath, ['scripts/package.mjs', '--out', out, ...skip], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    rows = JSON.parse(stdout.trim().split('\n').pop()!) as typeof rows;
  });

  it('builds the universal package and one per platform, each platform package within 40 MiB', () => {
    assert.deepEqual(rows.map((r) => r.target), ['universal', ...Object.keys(TARGETS)]);
    for (const r of rows) {
      assert.equal(r.file.endsWith(r.target === 'universal' ? `xai-lens-${version}.vsix` : `xai-lens-${r.target}-${version}.vsix`), true, r.file);
      if (r.target !== 'universal') assert.ok(r.bytes <= 40 * 2 ** 20, `${r.target}: ${r.bytes} bytes`);
    }
  });

  it('the universal package: bundles, wasm binaries, the default model and samples; no sources, maps or native binaries', () => {
    const { names } = readZip(rows[0].file);
    for (const f of ['dist/extension.js', 'dist/engine-process.js', 'dist/cli.js', 'dist/replica-worker.js', 'dist/tfjs-backend-wasm-simd.wasm',
      'media/models/cbam-mobilenetv2-mnist/model.json', 'media/models/cbam-mobilenetv2-mnist/model-card.json', 'package.json', 'docs/images/panel.png']) {
      assert.ok(names.includes(`extension/${f}`), f);
    }
    assert.ok(names.some((n) => n.startsWith('extension/dist/webview/')));
    assert.deepEqual(names.filter((n) => /\/src\/|\.map$|\.ts$|node_modules|\.node$/.test(n)), []);
  });

  for (const [target, bin] of Object.entries(TARGETS)) {
    it(`${target}: that platform's ONNX Runtime and no other's, and the manifest names the target`, () => {
      const { names, text } = readZip(rows.find((r) => r.target === target)!.file, ['extension.vsixmanifest']);
      const ort = 'extension/dist/node_modules/onnxruntime-node/';
      assert.ok(names.includes(`${ort}bin/napi-v6/${bin}/onnxruntime_binding.node`));
      assert.ok(names.includes(`${ort}dist/binding.js`));
      assert.ok(names.includes('extension/dist/node_modules/onnxruntime-common/dist/cjs/index.js'));
      assert.deepEqual(names.filter((n) => n.includes('/bin/napi-v6/') && !n.includes(`/bin/napi-v6/${bin}/`)), []);
      assert.match(text['extension.vsixmanifest'], new RegExp(`TargetPlatform="${target}"`));
      // The rest is the universal package.
      assert.deepEqual(names.filter((n) => !n.includes('/node_modules/')).sort(), readZip(rows[0].file).names.sort());
    });
  }

  it('linux-x64, unpacked outside the repository: predict reaches ONNX Runtime through what the package ships', function () {
    if (`${process.platform}-${process.arch}` !== 'linux-x64') this.skip();
    const dir = join(tmp.dir, 'unpacked');
    const zip = unzipSync(readFileSync(rows.find((r) => r.target === 'linux-x64')!.file));
    for (const [name, bytes] of Object.entries(zip)) {
      if (!name.startsWith('extension/') || name.endsWith('/')) continue;
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
    }
    const run = (env: NodeJS.ProcessEnv) => JSON.parse(execFileSync(process.execPath, ['dist/cli.js', 'predict', 'media/samples/digit-7.png', '--json'], {
      cwd: join(dir, 'extension'), encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    }).trim().split('\n').pop()!) as { label: number; backend: string };
    assert.deepEqual(run({}), { ...run({}), label: 7, backend: 'onnxruntime-cpu' });
    assert.equal(run({ XAI_LENS_NATIVE: 'off' }).backend, 'wasm');
  });
});
