/**
 * The second thread of explanations: a Replica (replica.ts) of one loaded model that computes input gradients for the
 * methods that split their samples (explain/methods/twoThreads.ts: SmoothGrad, Integrated Gradients) and for the
 * gradient counterfactual's λ lanes (explain/counterfactuals/gradient.ts).
 *
 * Unlike training's replica it receives the weights once, when it starts: an explained model never changes, and a
 * model loaded again under the same key gets a new replica. Starting returns at once; the worker builds the model on
 * the other core while this thread goes on (Grad-CAM first), and until it is loaded the explainers compute alone.
 */
import type * as tf from '@tensorflow/tfjs';
import { XaiLensError } from '../errors';
import type { GradientPeer, LaneRequest } from '../explain/types';
import { flatten, type ReplicaReply, type ReplicaRequest } from './protocol';
import { Replica } from './replica';

export class ExplainReplica implements GradientPeer {
  /** Half batches (or lane halves) the worker computed: how tests see that the split really happened. */
  served = 0;
  /** The worker's live tensors after its last half (a leak shows as growth). */
  workerTensors = 0;
  /** Settles when the worker is loaded, or could not be (`failure` then says why): never rejects. */
  readonly ready: Promise<void>;
  private replica: Replica | undefined;
  private loaded = false;
  private busy = false;
  private closed = false;
  private failure: Error | undefined;

  /** `modelPath`: the file or folder the model was imported from, when it was (Replica.start says why). */
  constructor(model: tf.LayersModel, backend: string, modelPath?: string) {
    const shape = model.inputs[0].shape.slice(1) as [number, number, number];
    const out = model.outputs[0].shape;
    // Topology and weights are read now, synchronously: the model may be disposed before the worker is ready. A model
    // this cannot copy (e.g. weights of mixed dtypes) is explained on one thread, never failed for it.
    let weights: Float32Array<ArrayBuffer>;
    try {
      weights = flatten(model.weights.map((v) => v.read()));
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.ready = Promise.resolve();
      return;
    }
    this.ready = this.load(Replica.start(model, backend, shape, out[out.length - 1] as number, modelPath), weights);
  }

  private async load(starting: Promise<Replica>, weights: Float32Array<ArrayBuffer>): Promise<void> {
    try {
      const replica = await starting;
      this.replica = replica;
      if (this.closed) {
        await replica.close();
        return;
      }
      await replica.request({ type: 'weights', weights }, [weights.buffer]);
      this.loaded = true;
    } catch (err) {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
    }
  }

  /** Why the thread cannot help (it failed to start, or failed since), if it cannot. */
  get error(): Error | undefined {
    return this.failure;
  }

  available(): boolean {
    return this.loaded && !this.busy && !this.closed && !this.failure;
  }

  async gradientSum(images: Float32Array, n: number, target: number): Promise<Float32Array> {
    const r = await this.ask({ type: 'gradientSum', images, n, target }, [images.buffer]);
    if (r.type !== 'gradientSum') throw new XaiLensError(`second engine thread answered "${r.type}" to gradientSum`);
    return r.sum;
  }

  async laneGradient(req: LaneRequest): Promise<{ grads: Float32Array; stats: Float32Array }> {
    const r = await this.ask({ type: 'laneGradient', ...req }, [req.lanes.buffer, req.lambdas.buffer, req.original.buffer]);
    if (r.type !== 'laneGradient') throw new XaiLensError(`second engine thread answered "${r.type}" to laneGradient`);
    return r;
  }

  private async ask(msg: ReplicaRequest, transfer: ArrayBufferLike[]): Promise<ReplicaReply> {
    if (!this.available()) throw new XaiLensError('the second engine thread is not available');
    this.busy = true;
    try {
      const r = await this.replica!.request(msg, transfer);
      this.served++;
      if ('numTensors' in r) this.workerTensors = r.numTensors;
      return r;
    } catch (err) {
      // A thread that failed once (it stopped, or cannot run this model) would fail again: the caller computes alone.
      this.failure ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.replica?.close();
  }
}
