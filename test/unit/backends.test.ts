import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendChoice } from '../../src/engine/backend/backends';

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

  it('never falls back to cpu silently: choosing it carries a loud warning', async () => {
    const info = await initBackend('cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.match(info.warning ?? '', /WARNING: .*"cpu" backend.*1000x slower/);
    await initBackend('wasm');
  });
});
