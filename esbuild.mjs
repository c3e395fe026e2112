// Builds every bundle of the project: extension host, engine CLI/process, benchmarks, webview, and (with --tests)
// the unit tests, or (with --integration) the integration tests. Node bundles keep npm packages external:
// TensorFlow.js locates its .wasm binaries relative to its own files, and the optional native backends must be
// resolved at run time.
import * as esbuild from 'esbuild';
import sveltePlugin from 'esbuild-svelte';
import { readdirSync, existsSync, mkdirSync, copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assemblyScriptPlugin } from './scripts/esbuild-assemblyscript.mjs';

// The webview panels are declared once, in src/shared/panels.ts (TypeScript): load that list through esbuild.
async function panelDescriptors() {
  const out = await esbuild.build({ entryPoints: ['src/shared/panels.ts'], bundle: true, write: false, format: 'esm', platform: 'neutral', logLevel: 'warning' });
  return (await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`)).PANEL_LIST;
}

const args = new Set(process.argv.slice(2));
const watch = args.has('--watch');
const production = args.has('--production');
// --filter=NAME bundles only the test files whose name contains NAME (handy while one part is being written).
const filter = process.argv.slice(2).find((a) => a.startsWith('--filter='))?.slice('--filter='.length);

const nodeCommon = {
  plugins: [assemblyScriptPlugin],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  packages: 'external',
  logLevel: 'warning',
  // The debugger helper injected into Python programs (src/extension/debug/xai_lens_helper.py) is bundled as text.
  loader: { '.py': 'text' },
};

const builds = [
  // Extension host and engine process are self-contained bundles (a .vsix ships no node_modules). The engine keeps
  // only the optional native TensorFlow bindings external: they are resolved at run time where installed.
  { ...nodeCommon, packages: undefined, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist', external: ['vscode'] },
  {
    ...nodeCommon,
    packages: undefined,
    // replica-worker: the engine's second thread (src/engine/parallel/replica.ts), loaded from the folder of the bundle
    // that starts it.
    entryPoints: { 'engine-process': 'src/engine/process/server.ts', 'replica-worker': 'src/engine/parallel/replicaWorker.ts' },
    outdir: 'dist',
    // onnxruntime-node ships a native binary per platform: resolved at run time, absent from the wasm-only package.
    external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'onnxruntime-node', 'onnxruntime-common'],
  },
  // The CLI ships in the .vsix too (the training task runs it), so it is self-contained like the engine process.
  {
    ...nodeCommon, packages: undefined, entryPoints: { cli: 'src/engine/cli.ts' }, outdir: 'dist',
    external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'onnxruntime-node', 'onnxruntime-common'],
  },
  {
    ...nodeCommon,
    entryPoints: {
      'bench-train': 'scripts/bench-train.ts', 'bench-explain': 'scripts/bench-explain.ts', manifest: 'scripts/manifest.ts',
      'bench-record': 'scripts/bench-record.ts', 'benchmarks-doc': 'scripts/benchmarks-doc.ts', 'bench-zoo': 'scripts/bench-zoo.ts',
      'bench-debug-transfer': 'scripts/bench-debug-transfer.ts', 'bench-priority': 'scripts/bench-priority.ts',
    },
    outdir: 'dist',
  },
  // Webviews, one bundle per panel in src/shared/panels.ts: dist/webview/<id>.js (ESM, loaded with <script
  // type="module" nonce>) and dist/webview/<id>.css (all component styles, external so the page links it under
  // style-src ${webview.cspSource}; injected <style> elements would need the CSP nonce).
  {
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    // debugStrip: the debug panel's history strip (src/extension/debug/debugPanel.ts), loaded next to the explain panel's bundle.
    entryPoints: { ...Object.fromEntries((await panelDescriptors()).map((p) => [p.id, p.entry])), debugStrip: 'webview-ui/src/debugStrip.ts' },
    outdir: 'dist/webview',
    plugins: [sveltePlugin({ compilerOptions: { css: 'external' } })],
    logLevel: 'warning',
  },
];

if (args.has('--tests')) {
  const tests = [];
  for (const dir of ['test/unit']) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.ts') && (!filter || f.includes(filter))) tests.push(join(dir, f));
  }
  builds.length = 0;
  builds.push({ ...nodeCommon, sourcemap: true, entryPoints: tests, outdir: 'out', outbase: '.' });
  builds.push({ ...nodeCommon, sourcemap: true, entryPoints: { 'replica-worker': 'src/engine/parallel/replicaWorker.ts' }, outdir: 'out/test/unit' });
}

// The wasm backend loads its binaries from the folder of the script that bundles it.
function copyWasmBinaries() {
  const from = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
  mkdirSync('dist', { recursive: true });
  for (const f of readdirSync(from)) if (f.endsWith('.wasm')) copyFileSync(join(from, f), join('dist', f));
}
if (!args.has('--tests') && !args.has('--integration')) copyWasmBinaries();

// --integration bundles the integration tests (test/integration/**/*.ts, mocha inside a real VS Code extension host)
// to out/test/integration/*.js. `vscode` is provided by the host and mocha is loaded from node_modules at run time.
// index.ts (the suite's entry point) is always included; --filter= narrows the *.test.ts files.
if (args.has('--integration')) {
  const dir = 'test/integration';
  const entries = existsSync(dir)
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
        .filter((f) => !f.endsWith('.test.ts') || !filter || f.includes(filter))
        .map((f) => join(dir, f))
    : [];
  // The test index runs every *.test.js it finds: start from an empty folder so deleted tests do not linger.
  rmSync('out/test/integration', { recursive: true, force: true });
  builds.length = 0;
  builds.push({ ...nodeCommon, sourcemap: true, entryPoints: entries, outdir: 'out', outbase: '.', external: ['vscode', 'mocha'] });
}

// The webview folder holds only this build's bundles: a renamed panel's old files would otherwise be packaged.
if (builds.some((b) => b.outdir === 'dist/webview')) rmSync('dist/webview', { recursive: true, force: true });

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
