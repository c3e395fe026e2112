/**
 * A second copy of the model in a worker thread, so that the wasm backend (one thread per JS thread) can use a second
 * core. It holds no state of its own between requests: each one brings the weights it needs, so the two copies
 * cannot drift. Training sends half of every batch and gets its gradients back; inference sends half of the images.
 * Explanations are the exception: their model never changes, so its weights come once ('weights') and each half batch
 * of SmoothGrad / Integrated Gradients samples ('gradientSum') or of the gradient counterfactual's lanes
 * ('laneGradient') comes alone. Messages are typed in ./protocol.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort } from 'node:worker_threads';
import { initBackend, type BackendChoice } from '../backend/backends';
import '../models/layers/attention';
// Imported Keras models may hold this project's stand-ins for Keras layers (explained models come from anywhere).
import '../io/keras/kerasLayers';
import { importModel } from '../io/modelFormats';
import { computeGradients, logitsModel } from '../training/gradients';
import { predictProbabilities } from '../inference';
import { createModelView, type ModelViewImpl } from '../explain/modelView';
import { gradientSum } from '../explain/methods/common';
import { laneGradient } from '../explain/counterfactuals/gradient';
import { flatten, type ReplicaReply, type ReplicaRequest } from './protocol';

if (!parentPort) throw new Error('replicaWorker must run as a worker thread');
const port = parentPort;

let model: tf.LayersModel | undefined;
/** The training view (logits of an XAI Lens model), built at the first 'gradients': explained models may have none. */
let trainable: tf.LayersModel | undefined;
let trainVars: tf.Variable[];
let allVars: tf.Variable[];
let shape: [number, number, number];
let numClasses: number;
/** The explainers' view of the model (class scores = logits where it has them), built at the first gradientSum. */
let view: ModelViewImpl | undefined;

function reply(msg: ReplicaReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

async function init(msg: Extract<ReplicaRequest, { type: 'init' }>): Promise<void> {
  await initBackend(msg.backend as BackendChoice);
  // The main thread already agreed to load a large model; its weights follow ('weights'), so a file changed since
  // cannot make the two copies differ (a changed shape fails the copy, and the main thread explains alone).
  model = msg.modelPath
    ? (await importModel(msg.modelPath, { allowLarge: true })).model
    : await tf.models.modelFromJSON({ modelTopology: msg.modelTopology } as tf.io.ModelJSON);
  trainVars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  allVars = model.weights.map((v) => v.read() as tf.Variable);
  shape = msg.shape;
  numClasses = msg.numClasses;
}

/** In a tidy: assign() shares the new tensor's data, and the temporary must be released or every call leaks a copy. */
function setWeights(vars: tf.Variable[], flat: Float32Array): void {
  const total = vars.reduce((n, v) => n + v.size, 0);
  if (flat.length !== total) throw new Error(`expected ${total} weight values, got ${flat.length}`);
  tf.tidy(() => {
    let off = 0;
    for (const v of vars) {
      v.assign(tf.tensor(flat.subarray(off, off + v.size), v.shape));
      off += v.size;
    }
  });
}

function gradients(msg: Extract<ReplicaRequest, { type: 'gradients' }>): void {
  trainable ??= logitsModel(model!);
  setWeights(trainVars, msg.weights);
  const { loss, correct, grads } = computeGradients(trainable, trainVars, shape, numClasses, msg.images, msg.labels, msg.n);
  const out = flatten(trainVars.map((v) => grads[v.name]));
  tf.dispose(grads);
  reply({ type: 'gradients', grads: out, loss, correct, numTensors: tf.memory().numTensors }, [out.buffer]);
}

function predict(msg: Extract<ReplicaRequest, { type: 'predict' }>): void {
  setWeights(allVars, msg.weights);
  const probs = predictProbabilities(model!, { images: msg.images, count: msg.n, shape }, msg.batchSize);
  reply({ type: 'probabilities', probs }, [probs.buffer as ArrayBuffer]);
}

function gradientSumOf(msg: Extract<ReplicaRequest, { type: 'gradientSum' }>): void {
  view ??= createModelView(model!);
  const v = view;
  const sum = tf.tidy(() => gradientSum(v, tf.tensor4d(msg.images, [msg.n, ...v.inputShape]), msg.target));
  const out = new Float32Array(sum.dataSync());
  sum.dispose();
  reply({ type: 'gradientSum', sum: out, numTensors: tf.memory().numTensors }, [out.buffer]);
}

function laneGradientOf(msg: Extract<ReplicaRequest, { type: 'laneGradient' }>): void {
  view ??= createModelView(model!);
  const v = view;
  const { g, stats } = tf.tidy(() => {
    const shape4 = [msg.n, ...v.inputShape] as [number, number, number, number];
    const X = tf.tile(tf.tensor4d(msg.original, [1, ...v.inputShape]), [msg.n, 1, 1, 1]);
    const hot = tf.cast(tf.oneHot(tf.tensor1d([msg.cls], 'int32'), v.numClasses), 'float32') as tf.Tensor2D;
    const lam = tf.tensor4d(msg.lambdas, [msg.n, 1, 1, 1]);
    const r = laneGradient(v.scores, { adv: tf.tensor4d(msg.lanes, shape4), X, lam, hot, sign: msg.sign, kappa: msg.kappa });
    return { g: r.g, stats: r.stats };
  });
  const grads = new Float32Array(g.dataSync());
  const st = new Float32Array(stats.dataSync());
  tf.dispose([g, stats]);
  reply({ type: 'laneGradient', grads, stats: st, numTensors: tf.memory().numTensors }, [grads.buffer, st.buffer]);
}

port.on('message', (msg: ReplicaRequest) => {
  void (async () => {
    try {
      if (msg.type === 'init') {
        await init(msg);
        reply({ type: 'ready' });
      } else {
        if (!model) throw new Error(`${msg.type} before init`);
        if (msg.type === 'gradients') gradients(msg);
        else if (msg.type === 'predict') predict(msg);
        else if (msg.type === 'weights') {
          setWeights(allVars, msg.weights);
          reply({ type: 'ready' });
        } else if (msg.type === 'gradientSum') gradientSumOf(msg);
        else laneGradientOf(msg);
      }
    } catch (err) {
      reply({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
