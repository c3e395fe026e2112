import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice, tryRequire } from '../../src/engine/backend/backends';
import { NATIVE_MODULES_ENV } from '../../src/shared/nativeBackend';
import { float32View } from '../../src/engine/backend/tensorView';

/** Loadable, not just present: npm may leave a native package whose binary failed to download. */
function installed(pkg: string): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(pkg);
    return true;
  } catch {
    return false;
  }
}

describe('backends', () => {
  it('parses backend choices and names the valid ones otherwise', () => {
    assert.equal(parseBackendChoice(undefined), 'auto');
    assert.equal(parseBackendChoice('WASM'), 'wasm');
    assert.throws(() => parseBackendChoice('webgpu'), /unknown backend "webgpu"; expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu/);
  });

  it('auto picks the native TensorFlow backend where installed, wasm otherwise, and registers the training kernels', async () => {
    const info = await initBackend('auto');
    const expected = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu') ? 'tensorflow' : 'wasm';
    assert.equal(info.name, expected);
    assert.equal(tf.getBackend(), expected);
    assert.equal(info.warning, undefined);
    if (expected === 'wasm') {
      for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum']) {
        assert.ok(tf.getKernel(k, 'wasm'), `${k} registered`);
      }
    }
  });

  it('explains how to get a native backend that is not installed', async function () {
    if (installed('@tensorflow/tfjs-node')) this.skip();
    await assert.rejects(initBackend('tensorflow'), /@tensorflow\/tfjs-node is not installed.*npm install @tensorflow\/tfjs-node/);
  });

  it('float32View reads a tensor\'s values in place on wasm and cpu, and copies elsewhere', async () => {
    for (const name of ['wasm', 'cpu']) {
      await tf.setBackend(name);
      const whole = tf.range(0, 24, 1, 'float32');
      const part = tf.slice(tf.reshape(whole, [4, 6]), [1, 2], [2, 3]); // an op's output, not at the heap's start
      const v = float32View(part);
      assert.deepEqual(Array.from(v), [8, 9, 10, 14, 15, 16], name);
      const heap = name === 'wasm' ? (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer : undefined;
      if (heap) assert.equal(v.buffer, heap, 'a view on the wasm heap');
      else assert.equal(v, float32View(part), 'the cpu backend\'s own array');
      tf.tidy(() => assert.throws(() => float32View(tf.scalar(1, 'int32')), /float32View: tensor is int32/));
      tf.dispose([whole, part]);
    }
    await initBackend('wasm');
  });

  it('never falls back to cpu silently: choosing it carries a loud warning', async () => {
    const info = await initBackend('cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.match(info.warning ?? '', /WARNING: .*"cpu" backend.*1000x slower/);
    await initBackend('wasm');
  });

  describe('native packages in XAI_LENS_NATIVE_MODULES (where Install Native Backend puts them)', () => {
    let modules: string;
    const saved = process.env[NATIVE_MODULES_ENV];
    /** A package whose index.js records that it was loaded (names no real package, so nothing else resolves it). */
    const fake = (name: string, body: string) => {
      mkdirSync(join(modules, name), { recursive: true });
      writeFileSync(join(modules, name, 'package.json'), JSON.stringify({ name, main: 'index.js' }));
      writeFileSync(join(modules, name, 'index.js'), body);
    };
    const loaded = () => (globalThis as { xaiLensFakeNativeLoaded?: string[] }).xaiLensFakeNativeLoaded ?? [];

    beforeEach(() => {
      modules = mkdtempSync(join(tmpdir(), 'xai-native-modules-'));
    });
    afterEach(() => {
      if (saved === undefined) delete process.env[NATIVE_MODULES_ENV];
      else process.env[NATIVE_MODULES_ENV] = saved;
      rmSync(modules, { recursive: true, force: true });
    });

    it('loads a package that plain require does not find from the folder the variable names', () => {
      fake('@xai-lens-test/fake-native', "(globalThis.xaiLensFakeNativeLoaded ??= []).push(__filename);");
      assert.match(tryRequire('@xai-lens-test/fake-native', undefined) ?? '', /^Cannot find module '@xai-lens-test\/fake-native'/);
      process.env[NATIVE_MODULES_ENV] = modules;
      assert.equal(tryRequire('@xai-lens-test/fake-native'), undefined);
      assert.deepEqual(loaded(), [join(modules, '@xai-lens-test', 'fake-native', 'index.js')]);
    });

    it('returns one line when the package is in neither place', () => {
      process.env[NATIVE_MODULES_ENV] = modules;
      const reason = tryRequire('@xai-lens-test/absent') ?? '';
      assert.match(reason, /^Cannot find module '@xai-lens-test\/absent'/);
      assert.ok(!reason.includes('\n'), reason);
    });

    it('reports why a copy that is there does not load (a missing binding), not that the other copy is missing', () => {
      fake('@xai-lens-test/broken-native', "require('./lib/napi-v8/tfjs_binding.node');");
      const reason = tryRequire('@xai-lens-test/broken-native', modules) ?? '';
      assert.match(reason, /^Cannot find module '\.\/lib\/napi-v8\/tfjs_binding\.node'$/);
    });
  });
});
