/**
 * The debugger integration's VS Code-free parts: shape/dtype/range interpretation, chunk assembly, and the helpers
 * injected into paused programs, driven exactly as the extension drives them (evaluate an expression, get the
 * debugger's repr/string back) but against a real Python process (numpy, torch, PIL) and this Node process.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  MAX_TRANSFER_BYTES, checkSlice, interpretShape, samplesFromBytes, toPixels, type ImageLayout,
} from '../../src/extension/debug/imageLayout';
import {
  HelperClient, assembleChunks, decodeAnswer, evaluateFailure, decodeChunk, installExpression, languageOfDebugType, unquote, type Described, type Evaluate,
} from '../../src/extension/debug/helperProtocol';
import { readImage, explainLive, liveResultPayload, readTfjsModel } from '../../src/extension/debug/reader';
import { encodePng } from '../../src/engine/image/decode';
import { EngineService } from '../../src/engine/process/service';
import { assertClose, maxAbsDiff, tempDir } from './helpers';

/** Debian's interpreter holds numpy, torch and PIL (python3-numpy, python3-torch, python3-pil); a pyenv shim may not. */
const PYTHON = process.env.XAI_LENS_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/**
 * A Python process that evaluates expressions like debugpy's `clipboard` context: eval in one namespace, answer the
 * repr. One JSON line per answer on stdout, so anything else the helper printed would break the protocol.
 */
class PythonEvaluator {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = '';
  private readonly waiting: ((line: string) => void)[] = [];
  readonly stray: string[] = [];

  constructor(setup: string) {
    const server = [
      'import sys, json',
      'ns = {}',
      `exec(compile(json.loads(sys.stdin.readline()), "<setup>", "exec"), ns)`,
      'sys.__stdout__.write(json.dumps("ready") + "\\n"); sys.__stdout__.flush()',
      'for line in sys.stdin:',
      '    try:',
      '        r = repr(eval(json.loads(line), ns))',
      '    except Exception as e:',
      '        r = "Traceback: " + type(e).__name__ + ": " + str(e)',
      '    sys.__stdout__.write(json.dumps(r) + "\\n"); sys.__stdout__.flush()',
    ].join('\n');
    this.child = spawn(PYTHON, ['-c', server], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.buffer += d;
      let i;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        let parsed: string;
        try {
          parsed = JSON.parse(line) as string;
        } catch {
          this.stray.push(line);
          continue;
        }
        this.waiting.shift()?.(parsed);
      }
    });
    this.child.stdin.write(`${JSON.stringify(setup)}\n`);
  }

  private next(): Promise<string> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  ready(): Promise<string> {
    return this.next();
  }

  readonly evaluate: Evaluate = (expression) => {
    const p = this.next();
    this.child.stdin.write(`${JSON.stringify(expression)}\n`);
    return p;
  };

  close(): void {
    this.child.stdin.end();
  }
}

/** Evaluates in this Node process, as js-debug's clipboard context does in a paused program (strings come back bare). */
function nodeEvaluator(scope: Record<string, unknown>): Evaluate {
  return async (expression) => {
    // Sloppy-mode Function so `with` can put the test's variables in scope, as a paused frame's locals are.
    const f = new Function('scope', `with (scope) { return (${expression}); }`) as (s: object) => unknown;
    return String(f(scope));
  };
}

function layout(shape: number[]): string {
  const l = interpretShape(shape);
  return `${l.layout} ${l.batch} ${l.height}x${l.width}x${l.channels}`;
}

describe('debugger: image shapes, dtypes and ranges', () => {
  it('reads HW, HWC, CHW, NHW, NHWC and NCHW, channels last when both fit', () => {
    assert.equal(layout([28, 28]), 'HW 1 28x28x1');
    assert.equal(layout([224, 224, 3]), 'HWC 1 224x224x3');
    assert.equal(layout([3, 224, 224]), 'CHW 1 224x224x3');
    assert.equal(layout([16, 28, 28]), 'NHW 16 28x28x1');
    assert.equal(layout([8, 32, 32, 4]), 'NHWC 8 32x32x4');
    assert.equal(layout([8, 1, 28, 28]), 'NCHW 8 28x28x1');
    assert.equal(layout([4, 4, 4]), 'HWC 1 4x4x4');
    assert.equal(layout([4, 4, 3]), 'HWC 1 4x4x3');
  });

  it('names the shape of a value that cannot be an image', () => {
    assert.throws(() => interpretShape([3, 5000]), { name: 'NotAnImageError', message: 'shape [3, 5000] is not an image (a 3×5000 grid is too thin for a picture)' });
    assert.throws(() => interpretShape([10]), { message: 'shape [10] is not an image (1 dimension)' });
    assert.throws(() => interpretShape([2, 3, 4, 5, 6]), { message: 'shape [2, 3, 4, 5, 6] is not an image (5 dimensions)' });
    assert.throws(() => interpretShape([8, 7, 28, 28]), { message: 'shape [8, 7, 28, 28] is not an image (expected NHWC or NCHW with 1, 3 or 4 channels)' });
    assert.throws(() => interpretShape([0, 28]), { message: 'shape [0, 28] is not an image (it is empty)' });
  });

  it('refuses one image above 64 MiB and checks the batch index', () => {
    const big: ImageLayout = { layout: 'HWC', batch: 1, height: 5000, width: 5000, channels: 3 };
    assert.throws(() => checkSlice(big, 'float32'), { message: 'one 5000×5000×3 float32 image is 286.1 MiB, above the 64.0 MiB the debugger transfer allows' });
    assert.equal(checkSlice(big, 'uint8', 0, 100 * 1024 * 1024), null);
    const batch = interpretShape([256, 3, 224, 224]);
    assert.ok(256 * 224 * 224 * 3 * 4 > MAX_TRANSFER_BYTES, 'this batch is above the limit as a whole: it is sliced, not refused');
    assert.equal(checkSlice(batch, 'float32', 5), 5);
    assert.throws(() => checkSlice(batch, 'float32', 256), { message: 'batch index 256 is outside the batch of 256' });
  });

  it('maps uint8, [0,1], [-1,1], [0,255] floats, bools and standardised values to [0,1]', () => {
    const l = interpretShape([4, 4]);
    const ramp = (f: (i: number) => number) => Float32Array.from({ length: 16 }, (_, i) => f(i));
    const u8 = toPixels(Uint8Array.from({ length: 16 }, (_, i) => i * 17), l, 'uint8', 'uint8');
    assert.equal(u8.range, '[0,255]');
    assertClose(u8.image.data, Array.from({ length: 16 }, (_, i) => (i * 17) / 255));
    assert.equal(toPixels(ramp((i) => i / 15), l, 'float32', 'float32').range, '[0,1]');
    const pm = toPixels(ramp((i) => i / 7.5 - 1), l, 'float32', 'float32');
    assert.equal(pm.range, '[-1,1]');
    assertClose(pm.image.data, Array.from({ length: 16 }, (_, i) => i / 15), 1e-6);
    const f255 = toPixels(ramp((i) => i * 10), l, 'float32', 'float32');
    assert.equal(f255.range, '[0,255]');
    assert.equal(f255.image.data[15], 150 / 255);
    const std = toPixels(ramp((i) => (i - 7.5) / 1.3), l, 'float32', 'float64');
    assert.equal(std.range, 'min-max');
    assertClose(std.image.data, Array.from({ length: 16 }, (_, i) => i / 15), 1e-6);
    const mask = toPixels(Uint8Array.from({ length: 16 }, (_, i) => i % 2), l, 'uint8', 'bool');
    assert.equal(mask.range, 'bool');
    assert.deepEqual(mask.image.data.slice(0, 4), [0, 1, 0, 1]);
    assert.throws(() => toPixels(ramp((i) => (i === 3 ? NaN : i)), l, 'float32', 'float32'), { message: 'the image holds a non-finite value (NaN) at sample 3' });
  });

  it('transposes CHW to HWC', () => {
    const l = interpretShape([3, 4, 5]);
    const chw = Float32Array.from({ length: 60 }, (_, i) => i / 59);
    const p = toPixels(chw, l, 'float32', 'float32');
    // Pixel (y=2, x=3), channel 1 sits at (1*4 + 2)*5 + 3 in CHW.
    assert.equal(p.raw[(2 * 5 + 3) * 3 + 1], chw[(1 * 4 + 2) * 5 + 3]);
  });

  it('assembles chunks, decodes quoted answers and turns helper errors into one line', () => {
    assert.deepEqual(Array.from(assembleChunks([Uint8Array.of(1, 2), Uint8Array.of(3)], 3)), [1, 2, 3]);
    assert.throws(() => assembleChunks([Uint8Array.of(1)], 2), { message: 'the transfer delivered 1 bytes instead of 2' });
    const b64 = Buffer.from(JSON.stringify({ kind: 'array', shape: [2, 2], dtype: 'uint8' })).toString('base64');
    assert.deepEqual(decodeAnswer(`'${b64}'`), { kind: 'array', shape: [2, 2], dtype: 'uint8' });
    assert.deepEqual(decodeAnswer(b64), { kind: 'array', shape: [2, 2], dtype: 'uint8' });
    assert.throws(() => decodeAnswer(Buffer.from('{"error":"boom"}').toString('base64')), { name: 'HelperError', message: 'boom' });
    assert.throws(() => decodeChunk("Traceback (most recent call last):\n  NameError: name 'x' is not defined"), { message: 'Traceback (most recent call last):' });
    assert.equal(unquote('"abc"'), 'abc');
    assert.deepEqual(Array.from(samplesFromBytes(new Uint8Array(Float32Array.of(1.5, -2).buffer), 'float32')), [1.5, -2]);
    assert.equal(languageOfDebugType('debugpy'), 'python');
    assert.equal(languageOfDebugType('pwa-node'), 'javascript');
    assert.equal(languageOfDebugType('cppdbg'), undefined);
    assert.equal(evaluateFailure('mock', "Unrecognized request 'evaluate'\n  at …"), "the mock debugger cannot evaluate expressions (Unrecognized request 'evaluate')");
    assert.equal(evaluateFailure('debugpy', "NameError: name 'y' is not defined"), "NameError: name 'y' is not defined");
  });
});

describe('debugger: the Python helper in a real interpreter (numpy, torch, PIL)', function () {
  this.timeout(120_000);
  let py: PythonEvaluator;
  let client: HelperClient;
  const tmp = tempDir('xai-lens-debug-');
  const png = join(tmp.dir, 'img.png');

  before(async function () {
    const probe = spawnSync(PYTHON, ['-c', 'import numpy, torch, PIL'], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `${PYTHON} needs numpy, torch and PIL (Debian: python3-numpy python3-torch python3-pil): ${probe.stderr.split('\n').slice(-2).join(' ')}`);
    writeFileSync(png, encodePng({ width: 5, height: 4, channels: 3, data: Float32Array.from({ length: 60 }, (_, i) => ((i % 11) * 20) / 255) }));
    py = new PythonEvaluator(
      [
        'import numpy as np, torch, PIL.Image',
        'torch.manual_seed(0)',
        'hwc = (np.arange(28 * 28 * 3) % 251 / 250).astype(np.float32).reshape(28, 28, 3)',
        'batch = torch.arange(4 * 3 * 8 * 8, dtype=torch.float32).reshape(4, 3, 8, 8) / 100 - 5',
        'mask = np.arange(64).reshape(8, 8) % 3 == 0',
        'pil = PIL.Image.fromarray((np.arange(6 * 7 * 3) % 256).astype(np.uint8).reshape(6, 7, 3))',
        `path = ${JSON.stringify(png)}`,
        'png_bytes = open(path, "rb").read()',
        'table = np.zeros((3, 5000), np.float32)',
        'words = ["a", "b"]',
        'class Net(torch.nn.Module):',
        '    def __init__(self):',
        '        super().__init__()',
        '        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.ReLU())',
        '        self.head = torch.nn.Linear(6, 5)',
        '    def forward(self, x):',
        '        return self.head(self.features(x).mean(dim=(2, 3)))',
        'net = Net().train()',
        'x = torch.rand(3, 16, 16)',
        // Grad-CAM the textbook way, independent of the helper: backward hooks and .backward() on a copy of the model.
        'def reference_gradcam(model, inp, layer):',
        '    import copy',
        '    m = copy.deepcopy(model).eval()',
        '    store = {}',
        '    mod = dict(m.named_modules())[layer]',
        '    mod.register_forward_hook(lambda _m, _i, o: store.__setitem__("a", o))',
        '    mod.register_full_backward_hook(lambda _m, gi, go: store.__setitem__("g", go[0]))',
        '    out = m(inp[None])',
        '    out[0, out[0].argmax()].backward()',
        '    w = store["g"].mean(dim=(2, 3), keepdim=True)',
        '    cam = torch.relu((w * store["a"]).sum(dim=1, keepdim=True))',
        '    up = torch.nn.functional.interpolate(cam, size=inp.shape[1:], mode="bilinear", align_corners=False)',
        '    return up.flatten().tolist()',
      ].join('\n'),
    );
    assert.equal(await py.ready(), 'ready');
    client = new HelperClient('python', py.evaluate);
  });

  after(() => {
    py?.close();
    tmp.cleanup();
  });

  it('describes numpy, torch, PIL, bytes and paths, and names what is not an image', async () => {
    assert.deepEqual(await client.describe('hwc'), { kind: 'array', shape: [28, 28, 3], dtype: 'float32' });
    assert.deepEqual(await client.describe('batch'), { kind: 'array', shape: [4, 3, 8, 8], dtype: 'float32' });
    assert.deepEqual(await client.describe('mask'), { kind: 'array', shape: [8, 8], dtype: 'bool' });
    assert.deepEqual(await client.describe('pil'), { kind: 'array', shape: [6, 7, 3], dtype: 'uint8' });
    assert.deepEqual(await client.describe('png_bytes'), { kind: 'encoded', format: 'png', byteLength: Number(await py.evaluate('len(png_bytes)')) });
    assert.equal(((await client.describe('path')) as Described & { kind: 'encoded' }).format, 'png');
    assert.deepEqual(await client.describe('net'), { kind: 'model', framework: 'torch', className: 'Net' });
    await assert.rejects(client.describe('words'), { name: 'HelperError', message: 'a value of type list is not an image (numpy.ndarray, torch.Tensor, PIL.Image, PNG/JPEG bytes or an image path)' });
    await assert.rejects(client.describe('"/nope.png"'), { message: "the string '/nope.png' is not the path of an image file in the debuggee" });
    await assert.rejects(readImage(client, 'table'), { name: 'NotAnImageError', message: 'shape [3, 5000] is not an image (a 3×5000 grid is too thin for a picture)' });
  });

  it('reads the bytes the debuggee holds, in several chunks, slicing a batch, and leaves only the helper module', async () => {
    const img = await readImage(client, 'hwc');
    const expected = Float32Array.from({ length: 28 * 28 * 3 }, (_, i) => (i % 251) / 250);
    assert.equal(maxAbsDiff(img.pixels.raw, expected), 0);
    assert.equal(img.pixels.range, '[0,1]');
    // Small chunks: the first inline, nine more through chunk(i).
    const { meta, bytes } = await client.transfer<{ byteLength: number; chunks: number; dtype: string }>('prepare', ['(hwc)', 'None', '1000']);
    assert.equal(meta.chunks, Math.ceil((28 * 28 * 3 * 4) / 1000));
    assert.equal(maxAbsDiff(new Float32Array(bytes.buffer), expected), 0);
    const second = await readImage(client, 'batch', { batchIndex: 2 });
    assert.equal(second.layout.layout, 'NCHW');
    const chw = Float32Array.from({ length: 3 * 64 }, (_, i) => (2 * 192 + i) / 100 - 5);
    assert.ok(Math.abs(second.pixels.raw[1] - chw[64]) < 1e-6, 'HWC pixel 0 channel 1 is CHW [1, 0, 0]');
    assert.equal(second.pixels.range, 'min-max');
    const pil = await readImage(client, 'pil');
    assert.deepEqual(Array.from(pil.pixels.raw.slice(0, 4)), [0, 1, 2, 3]);
    const fromPath = await readImage(client, 'path');
    assert.deepEqual([fromPath.pixels.image.width, fromPath.pixels.image.height], [5, 4]);
    assertClose(fromPath.pixels.image.data.slice(0, 11), Array.from({ length: 11 }, (_, i) => (i * 20) / 255), 1e-6);
    // One helper object in the debuggee, holding no bytes after the transfers.
    assert.equal(await py.evaluate("sorted(k for k in __import__('sys').modules if 'xai' in k)"), "['_xai_lens_helper']");
    assert.equal(await py.evaluate("len(__import__('sys').modules['_xai_lens_helper']._state)"), '0');
    assert.deepEqual(py.stray, [], 'nothing printed');
  });

  it('explains with the live torch model: Grad-CAM equals a textbook computation, IG is complete, the model is left as it was', async () => {
    const r = await explainLive(client, 'net', 'x', { layer: 'features.2', methods: ['gradcam', 'gradients', 'smoothgrad', 'ig'], samples: 8, steps: 64 });
    const reference = JSON.parse((await py.evaluate("__import__('json').dumps(reference_gradcam(net, x, 'features.2'))")).slice(1, -1)) as number[];
    const cam = r.maps.find((m) => m.method === 'gradcam')!;
    assert.equal(cam.data.length, 256);
    assert.ok(maxAbsDiff(cam.data, reference) < 1e-5, `Grad-CAM differs by ${maxAbsDiff(cam.data, reference)}`);
    assert.deepEqual(r.meta.layers.map((l) => l.name), ['features.0', 'features.2']);
    assert.deepEqual(r.meta.layers[1].shape, [8, 8, 6]);
    const ig = r.maps.find((m) => m.method === 'ig')!;
    const sum = ig.data.reduce((a, b) => a + b, 0);
    // f(x) − f(0) in eval mode, then back to train mode as the program had it.
    const diff = Number(await py.evaluate(`(lambda m: (m.eval(), float((m(x[None]) - m(torch.zeros(1, 3, 16, 16)))[0, ${r.meta.target}]), m.train())[1])(net)`));
    assert.ok(diff !== 0 && Math.abs(sum - diff) < 1e-4 + 0.02 * Math.abs(diff), `IG sums to ${sum}, score difference ${diff}`);
    assert.equal(await py.evaluate('net.training'), 'True');
    assert.equal(await py.evaluate('all(p.grad is None for p in net.parameters())'), 'True');
    const payload = liveResultPayload(r, 'x', 'net');
    assert.equal(payload.model.name, 'Net (live)');
    assert.deepEqual(payload.methods.map((m) => m.method), ['gradcam', 'gradients', 'smoothgrad', 'ig']);
    assert.equal(payload.input.data.length, 16 * 16 * 3);
    assert.equal(payload.prediction.label, r.meta.label);
    await assert.rejects(explainLive(client, 'net', 'x', { layer: 'head' }), { message: 'head is not a convolution layer of the model (features.0, features.2)' });
    assert.deepEqual(py.stray, [], 'nothing printed');
  });

  it('reinstalls the helper when the program lost it', async () => {
    await py.evaluate("__import__('sys').modules.pop('_xai_lens_helper') and 0");
    assert.deepEqual(await client.describe('mask'), { kind: 'array', shape: [8, 8], dtype: 'bool' });
  });
});

describe('debugger: the JavaScript helper (tf.Tensor, TypedArrays, nested arrays, ImageData, Buffer, paths, LayersModel)', function () {
  this.timeout(60_000);
  const tmp = tempDir('xai-lens-debug-js-');
  after(() => {
    delete (globalThis as Record<string, unknown>).__xaiLensHelper;
    tmp.cleanup();
  });

  it('reads each kind of value, byte for byte', async () => {
    await tf.setBackend('cpu');
    const png = encodePng({ width: 6, height: 5, channels: 3, data: Float32Array.from({ length: 90 }, (_, i) => ((i % 7) * 30) / 255) });
    const path = join(tmp.dir, 'a.png');
    writeFileSync(path, png);
    const values = Float32Array.from({ length: 2 * 10 * 12 * 3 }, (_, i) => Math.sin(i));
    const scope = {
      t: tf.tensor4d(values, [2, 10, 12, 3]),
      flat: Float32Array.from({ length: 784 }, (_, i) => i / 783),
      nested: Array.from({ length: 6 }, (_, y) => Array.from({ length: 5 }, (_, x) => [x / 4, y / 5, 0])),
      imageData: { width: 4, height: 4, data: Uint8ClampedArray.from({ length: 64 }, (_, i) => i * 4) },
      buf: Buffer.from(png),
      path,
      obj: { a: 1 },
      ragged: [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3], [1, 2, 3, 4]],
    };
    const client = new HelperClient('javascript', nodeEvaluator(scope));
    const t = await readImage(client, 't', { batchIndex: 1 });
    assert.equal(t.layout.layout, 'NHWC');
    assert.equal(maxAbsDiff(t.pixels.raw, values.slice(360)), 0);
    assert.equal(t.pixels.range, '[-1,1]');
    const flat = await readImage(client, 'flat');
    assert.deepEqual([flat.layout.layout, flat.layout.height], ['HW', 28]);
    assert.equal(maxAbsDiff(flat.pixels.raw, scope.flat), 0);
    const nested = await readImage(client, 'nested');
    assert.deepEqual([nested.layout.height, nested.layout.width, nested.layout.channels], [6, 5, 3]);
    assert.equal(nested.pixels.raw[(2 * 5 + 3) * 3 + 1], Math.fround(2 / 5));
    const id = await readImage(client, 'imageData');
    assert.deepEqual(Array.from(id.pixels.raw.slice(0, 5)), [0, 4, 8, 12, 16]);
    assert.equal(id.pixels.range, '[0,255]');
    const b = await readImage(client, 'buf');
    assert.deepEqual([b.pixels.image.width, b.pixels.image.height, b.pixels.image.channels], [6, 5, 3]);
    assertClose(b.pixels.image.data.slice(0, 7), [0, 1, 2, 3, 4, 5, 6].map((i) => (i * 30) / 255), 1e-6);
    assert.deepEqual((await readImage(client, 'path')).pixels.image.data, b.pixels.image.data);
    await assert.rejects(client.describe('obj'), { message: 'a value of type Object is not an image (tf.Tensor, TypedArray, nested array, ImageData, PNG/JPEG Buffer or an image path)' });
    await assert.rejects(readImage(client, 'ragged'), { message: 'the nested array is ragged at depth 1 (expected 4 items)' });
    assert.throws(() => decodeAnswer((globalThis as unknown as Record<string, { chunk(i: number): string }>).__xaiLensHelper.chunk(0)), { name: 'HelperError', message: 'no transfer in progress' }, 'released after reading');
    scope.t.dispose();
  });

  it('serialises a tf.LayersModel (topology + weights) that the engine loads and predicts with identically', async () => {
    await tf.setBackend('cpu');
    const input = tf.input({ shape: [12, 12, 3] });
    let h = tf.layers.conv2d({ name: 'c1', filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ name: 'c2', filters: 5, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const xs = Float32Array.from({ length: 12 * 12 * 3 }, (_, i) => ((i * 37) % 100) / 100);
    const scope = { model, x: tf.tensor3d(xs, [12, 12, 3]) };
    const client = new HelperClient('javascript', nodeEvaluator(scope));
    assert.deepEqual(await client.describe('model'), { kind: 'model', framework: 'tfjs', className: 'Model' });
    const artifacts = await readTfjsModel(client, 'model', 'debug:model');
    const service = new EngineService();
    await service.initialize({ backend: 'cpu' });
    const info = await service.loadModelArtifacts(artifacts);
    assert.deepEqual(info.inputShape, [12, 12, 3]);
    assert.deepEqual(info.layers.map((l) => l.name), ['c1', 'c2']);
    const img = await readImage(client, 'x');
    const r = await service.explain({
      modelDir: 'debug:model', imagePath: 'x', methods: ['gradcam'], counterfactual: 'none', rawInput: true,
      image: { width: 12, height: 12, channels: 3, data: Array.from(img.pixels.raw) },
    });
    const expected = (model.predict(tf.tensor4d(xs, [1, 12, 12, 3])) as tf.Tensor).dataSync();
    // The engine reports model.predict's outputs (this model ends in a dense layer, so they are its logits).
    assertClose(r.prediction.probabilities, expected, 1e-5);
    assert.equal(r.prediction.label, Array.from(expected).indexOf(Math.max(...expected)));
    service.dispose();
  });

  it('the install expression is one expression in both languages', () => {
    assert.ok(!installExpression('python').includes('\n'));
    assert.ok(installExpression('javascript').startsWith('(globalThis.__xaiLensHelper = '));
  });
});

