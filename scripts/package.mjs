// `npm run package [-- --targets linux-x64,win32-x64] [--out build]`: the production bundles, then one .vsix per
// platform that carries that platform's ONNX Runtime binary, and a universal wasm-only .vsix.
//
// The bundles keep onnxruntime-node external (it is a native binary per platform), and Node resolves
// `require('onnxruntime-node/...')` from dist/ through dist/node_modules first. So a platform package is the universal
// one plus dist/node_modules/{onnxruntime-node (its JS and one platform's bin), onnxruntime-common}; nothing in the
// code differs between packages. The copies are staged into dist/node_modules for one vsce run and removed after it.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** vsce target → onnxruntime-node's bin folder (and the files of it a package needs). */
export const TARGETS = {
  'linux-x64': { bin: 'linux/x64' },
  'linux-arm64': { bin: 'linux/arm64' },
  // The binding links @rpath/libonnxruntime.1.dylib; the versioned file beside it is an identical copy.
  'darwin-arm64': { bin: 'darwin/arm64', skip: /^libonnxruntime\.\d+\.\d+\.\d+\.dylib$/ },
  // DirectML.dll and the shader compiler are the DirectML execution provider's, used where a GPU is present.
  'win32-x64': { bin: 'win32/x64' },
};

/** A platform package's limit (the issue's budget for the .vsix download). */
export const MAX_PLATFORM_BYTES = 40 * 1024 * 1024;

const ORT = 'node_modules/onnxruntime-node';
const ORT_COMMON = 'node_modules/onnxruntime-common';
const STAGE = 'dist/node_modules';

function stageOrt(target) {
  const { bin, skip } = TARGETS[target];
  rmSync(STAGE, { recursive: true, force: true });
  const ort = join(STAGE, 'onnxruntime-node');
  mkdirSync(join(ort, 'bin/napi-v6', bin), { recursive: true });
  cpSync(join(ORT, 'package.json'), join(ort, 'package.json'));
  cpSync(join(ORT, 'dist'), join(ort, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') });
  const from = join(ORT, 'bin/napi-v6', bin);
  for (const f of readdirSync(from)) if (!skip?.test(f)) cpSync(join(from, f), join(ort, 'bin/napi-v6', bin, f));
  const common = join(STAGE, 'onnxruntime-common');
  mkdirSync(common, { recursive: true });
  cpSync(join(ORT_COMMON, 'package.json'), join(common, 'package.json'));
  cpSync(join(ORT_COMMON, 'dist/cjs'), join(common, 'dist/cjs'), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') });
}

function vsce(args) {
  execFileSync(process.execPath, ['node_modules/@vscode/vsce/vsce', 'package', '--no-dependencies', '--allow-missing-repository',
    // The README's screenshot ships in the package and is shown from there (no repository URL to rewrite links to).
    '--no-rewrite-relative-links', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
}

function main() {
  const { values } = parseArgs({ options: { targets: { type: 'string' }, out: { type: 'string', default: 'build' }, 'skip-build': { type: 'boolean' } } });
  const targets = values.targets ? values.targets.split(',') : Object.keys(TARGETS);
  for (const t of targets) if (!(t in TARGETS)) throw new Error(`unknown target "${t}"; targets: ${Object.keys(TARGETS).join(', ')}`);
  if (!existsSync(join(ORT, 'bin'))) throw new Error(`${ORT}/bin is missing: run npm ci first`);
  if (!values['skip-build']) execFileSync(process.execPath, ['esbuild.mjs', '--production'], { stdio: 'inherit' });
  const { name, version } = JSON.parse(readFileSync('package.json', 'utf8'));
  mkdirSync(values.out, { recursive: true });
  const built = [];
  rmSync(STAGE, { recursive: true, force: true });
  const universal = join(values.out, `${name}-${version}.vsix`);
  vsce(['--out', universal]);
  built.push({ target: 'universal', file: universal });
  try {
    for (const t of targets) {
      stageOrt(t);
      const file = join(values.out, `${name}-${t}-${version}.vsix`);
      vsce(['--target', t, '--out', file]);
      built.push({ target: t, file });
    }
  } finally {
    rmSync(STAGE, { recursive: true, force: true });
  }
  const rows = built.map((b) => ({ ...b, bytes: statSync(b.file).size }));
  const over = rows.filter((r) => r.target !== 'universal' && r.bytes > MAX_PLATFORM_BYTES);
  process.stdout.write(JSON.stringify(rows) + '\n');
  if (over.length) throw new Error(`over ${MAX_PLATFORM_BYTES / 2 ** 20} MiB: ${over.map((r) => `${r.file} (${(r.bytes / 2 ** 20).toFixed(1)} MiB)`).join(', ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`package: ${e.message}\n`);
    process.exitCode = 1;
  }
}
