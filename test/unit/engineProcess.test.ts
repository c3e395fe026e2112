/**
 * The real engine process (dist/engine-process.js, built by `npm run build`) driven through the extension's
 * EngineClient: typed requests, progress, cancellation, user errors, and restart after a crash.
 */
import * as assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineClient, EngineError } from '../../src/extension/engineClient';
import { defaultModelDir, packageRoot } from '../../src/engine/paths';
import { ENGINE_ERROR, type ProgressParams } from '../../src/shared/protocol';
import { tempDir } from './helpers';

describe('engine process', function () {
  this.timeout(120_000);
  const script = join(packageRoot(), 'dist', 'engine-process.js');
  const digit = join(packageRoot(), 'media', 'samples', 'digit-7.png');
  const tmp = tempDir();
  const crashes: string[] = [];
  let client: EngineClient;

  before(function () {
    assert.ok(existsSync(script), `${script} is missing: run "npm run build" first`);
    client = new EngineClient({ script, backend: () => 'auto', onCrash: (d) => crashes.push(d) });
  });
  after(async () => {
    await client.stop();
    tmp.cleanup();
  });

  it('starts lazily, initialises a backend, and keeps the model warm', async () => {
    assert.equal(client.running, false);
    const info = await client.start();
    assert.ok(['wasm', 'tensorflow'].includes(info.backend), info.backend);
    assert.notEqual(info.pid, process.pid);
    const first = await client.request('engine/loadModel', { dir: defaultModelDir() });
    assert.equal(first.architecture, 'cbam-mobilenetv2');
    assert.equal(first.defaultLayer, 'top_cbam');
    assert.ok(first.layers.length > 10);
  });

  it('explains an image with every requested method and reports progress', async () => {
    const progress: ProgressParams[] = [];
    const partials: string[] = [];
    const r = await client.request(
      'engine/explain',
      { modelDir: defaultModelDir(), imagePath: digit, methods: ['gradcam', 'scorecam', 'lime'], counterfactual: 'none', methodOptions: { lime: { samples: 100 } } },
      { onProgress: (p) => progress.push(p), onPartial: (p) => partials.push(p.methods.map((m) => `${m.method}${m.metrics ? '+metrics' : ''}`).join(' ')) },
    );
    assert.deepEqual(
      partials,
      ['gradcam', 'gradcam+metrics', 'gradcam+metrics scorecam+metrics', 'gradcam+metrics scorecam+metrics lime+metrics'],
      'the first map at once, then a partial result after each method with its metrics',
    );
    assert.equal(r.prediction.label, 7);
    assert.equal(r.target, 7);
    assert.deepEqual(r.methods.map((m) => m.method), ['gradcam', 'scorecam', 'lime']);
    for (const m of r.methods) {
      assert.equal(m.data.length, 28 * 28);
      assert.ok(m.metrics && m.metrics.deletionAuc >= 0);
    }
    assert.equal(r.input.data.length, 784);
    assert.deepEqual(progress.map((p) => p.done), [0, 1, 2, 3]);
    assert.ok(progress.every((p) => p.total === 3));
  });

  it('returns a counterfactual that changes the class', async () => {
    const r = await client.request('engine/explain', { modelDir: defaultModelDir(), imagePath: digit, methods: ['gradcam'], counterfactual: 'growing-spheres' });
    assert.ok(r.counterfactual?.found);
    assert.notEqual(r.counterfactual!.label, 7);
    assert.equal(r.counterfactual!.image.data.length, 784);
  });

  it('reports a bad image as a user error naming the file', async () => {
    const bad = join(tmp.dir, 'bad.png');
    writeFileSync(bad, 'not a png');
    await assert.rejects(
      client.request('engine/explain', { modelDir: defaultModelDir(), imagePath: bad, methods: ['gradcam'], counterfactual: 'none' }),
      (e: unknown) => e instanceof EngineError && e.code === ENGINE_ERROR.userError && e.message.startsWith(`${bad}: `),
    );
  });

  it('cancels a running request', async () => {
    let cancel: () => void = () => undefined;
    const token = {
      isCancellationRequested: false,
      onCancellationRequested(listener: () => void) {
        cancel = () => {
          token.isCancellationRequested = true;
          listener();
        };
        return { dispose() {} };
      },
    };
    const pending = client.request(
      'engine/explain',
      { modelDir: defaultModelDir(), imagePath: digit, methods: ['gradcam', 'smoothgrad', 'lime', 'ig', 'scorecam'], counterfactual: 'gradient' },
      { token, onProgress: (p) => p.done === 1 && cancel() },
    );
    await assert.rejects(pending, (e: unknown) => e instanceof EngineError && e.cancelled);
    // The engine is still there and answers.
    const r = await client.request('engine/explain', { modelDir: defaultModelDir(), imagePath: digit, methods: ['gradcam'], counterfactual: 'none' });
    assert.equal(r.prediction.label, 7);
  });

  it('restarts after the process is killed, and the next request works', async () => {
    const pid = client.pid!;
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(client.running, false);
    assert.equal(crashes.length, 1);
    assert.match(crashes[0], /SIGKILL/);
    const r = await client.request('engine/explain', { modelDir: defaultModelDir(), imagePath: digit, methods: ['gradcam'], counterfactual: 'none' });
    assert.equal(r.prediction.label, 7);
    assert.notEqual(client.pid, pid);
  });
});
