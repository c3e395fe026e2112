// esbuild plugin for AssemblyScript kernels (used by esbuild.mjs).
import asc from 'assemblyscript/asc';
import { existsSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';

// `import bytes from './x.wasm'` where x.ts is an AssemblyScript file next to it: compiled here with SIMD, embedded in
// the bundle as a Uint8Array (a few KB), so every bundle (CLI, engine process, worker, tests) carries its own copy and
// nothing is loaded from disk at run time. The module imports the wasm backend's memory, so it must hold no static
// data (data segments would be written over TensorFlow.js' heap when it is instantiated): refused here if it does.
export const assemblyScriptPlugin = {
  name: 'assemblyscript',
  setup(build) {
    build.onResolve({ filter: /\.wasm$/ }, (a) => {
      const source = join(a.resolveDir, a.path).replace(/\.wasm$/, '.ts');
      return existsSync(source) ? { path: source, namespace: 'assemblyscript' } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'assemblyscript' }, async (a) => {
      const outputs = {};
      const { error, stderr } = await asc.main(
        [a.path, '--outFile', 'out.wasm', '--textFile', 'out.wat', '--optimizeLevel', '3', '--shrinkLevel', '0',
          '--noAssert', '--runtime', 'stub', '--importMemory', '--enable', 'simd', '--use', 'abort='],
        { writeFile: (name, contents) => { outputs[basename(name)] = contents; } },
      );
      if (error) return { errors: [{ text: `AssemblyScript: ${error.message}\n${stderr.toString()}` }] };
      if (/\(data\b/.test(outputs['out.wat'])) return { errors: [{ text: `${a.path}: the module has static data` }] };
      return { contents: outputs['out.wasm'], loader: 'binary', watchFiles: [a.path], resolveDir: dirname(a.path) };
    });
  },
};
