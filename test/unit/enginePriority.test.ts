/**
 * Request priority: the newest explanation runs first and an older one's remaining methods wait (NewestFirst on its
 * own, then through the real engine process), and a cancelled request's remaining work is dropped.
 */
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineClient, EngineError, type Cancellation } from '../../src/extension/engineClient';
import { NewestFirst } from '../../src/engine/process/newestFirst';
import { pacer } from '../../src/engine/explain/pacing';
import { defaultModelDir, packageRoot } from '../../src/engine/paths';

function cancellable(): { token: Cancellation; cancel(): void } {
  const listeners: (() => void)[] = [];
  const token = {
    isCancellationRequested: false,
    onCancellationRequested(listener: () => void) {
      listeners.push(listener);
      return { dispose() {} };
    },
  };
  return {
    token,
    cancel() {
      token.isCancellationRequested = true;
      listeners.forEach((l) => l());
    },
  };
}

describe('NewestFirst', () => {
  it('holds an older request at its next turn while a newer one is active, then lets it continue', async () => {
    const q = new NewestFirst();
    const log: string[] = [];
    const older = q.begin();
    await older.turn();
    log.push('older step 1');
    const newer = q.begin();
    const olderNext = older.turn().then(() => log.push('older step 2'));
    await newer.turn();
    log.push('newer step 1');
    await new Promise((r) => setImmediate(r));
    log.push('newer done');
    newer.done();
    await olderNext;
    older.done();
    assert.deepEqual(log, ['older step 1', 'newer step 1', 'newer done', 'older step 2']);
    assert.equal(q.size, 0);
  });

  it('releases a waiting request when its signal aborts, and the newest of several waiting requests goes first', async () => {
    const q = new NewestFirst();
    const a = q.begin();
    const b = q.begin();
    const c = q.begin();
    const order: string[] = [];
    const controller = new AbortController();
    const aTurn = a.turn(controller.signal).then(() => order.push(controller.signal.aborted ? 'a aborted' : 'a'));
    const bTurn = b.turn().then(() => order.push('b'));
    controller.abort();
    await aTurn;
    assert.deepEqual(order, ['a aborted'], 'the aborted request is released at once, b still waits for c');
    a.done();
    c.done();
    await bTurn;
    b.done();
    assert.deepEqual(order, ['a aborted', 'b']);
  });
});

describe('pacer', () => {
  it('pauses once the interval has passed, not on every tick, and throws once the signal aborts', async () => {
    let pauses = 0;
    const pause = async () => {
      pauses++;
    };
    const never = pacer(pause, undefined, 60_000);
    for (let i = 0; i < 5; i++) await never();
    assert.equal(pauses, 0, 'within the interval no tick pauses');
    const always = pacer(pause, undefined, 0);
    for (let i = 0; i < 3; i++) await always();
    assert.equal(pauses, 3);
    const controller = new AbortController();
    const tick = pacer(async () => controller.abort(), controller.signal, 0);
    await assert.rejects(tick(), /cancelled/, 'an abort that arrives during the pause is seen at once');
  });
});

describe('engine process: newest request first', function () {
  this.timeout(180_000);
  const script = join(packageRoot(), 'dist', 'engine-process.js');
  const digit = join(packageRoot(), 'media', 'samples', 'digit-7.png');
  const other = join(packageRoot(), 'media', 'samples', 'digit-2.png');
  const slow = {
    modelDir: defaultModelDir(), imagePath: digit, methods: ['gradcam', 'lime', 'smoothgrad', 'ig', 'scorecam', 'gradients'] as const,
    counterfactual: 'none' as const, methodOptions: { lime: { samples: 600 }, smoothgrad: { samples: 30 }, ig: { steps: 30 } },
  };
  let client: EngineClient;

  before(async function () {
    assert.ok(existsSync(script), `${script} is missing: run "npm run build" first`);
    client = new EngineClient({ script, backend: () => 'auto' });
    await client.request('engine/loadModel', { dir: defaultModelDir() });
  });
  after(async () => {
    await client.stop();
  });

  it('a newer request overtakes the remaining methods of an older one, which then finishes', async () => {
    const events: string[] = [];
    let olderDone = 0;
    let newer: Promise<unknown> | undefined;
    let doneWhenNewerSent = -1;
    const older = client.request('engine/explain', { ...slow, methods: [...slow.methods] }, {
      onProgress: (p) => {
        olderDone = p.done;
        events.push(`older ${p.done}`);
        if (p.done === 1 && !newer) {
          doneWhenNewerSent = p.done;
          newer = client
            .request('engine/explain', { modelDir: defaultModelDir(), imagePath: other, methods: ['gradcam', 'gradients'], counterfactual: 'none' })
            .then((r) => {
              events.push(`newer result ${r.prediction.label} while older at ${olderDone}`);
              return r;
            });
        }
      },
    });
    const r = await older;
    assert.ok(newer, 'the newer request was sent');
    await newer;
    assert.deepEqual(r.methods.map((m) => m.method).sort(), [...slow.methods].sort(), 'the older request still completes every method');
    const at = events.findIndex((e) => e.startsWith('newer result'));
    const olderAtNewerResult = Number(/at (\d+)$/.exec(events[at])![1]);
    // At most the one method the older request was already running when the newer one arrived.
    assert.ok(olderAtNewerResult <= doneWhenNewerSent + 1, `older request ran ahead: ${events.join(', ')}`);
    assert.ok(at < events.length - 1, `the older request resumed after the newer finished: ${events.join(', ')}`);
  });

  it('a newer request gets in during an older one\'s long method, and cancelling that method stops it mid-way', async () => {
    const { token, cancel } = cancellable();
    const order: string[] = [];
    let newer: Promise<unknown> | undefined;
    const older = client.request('engine/explain', {
      ...slow, methods: ['lime'], methodOptions: { lime: { samples: 20_000, batch: 200 } },
    }, {
      token,
      onProgress: (p) => {
        if (p.done > 0) order.push(`older step ${p.done}`);
        // The older request is predicting; 0.3 s later it is inside LIME's 100 batches (several seconds in all).
        if (p.done === 0 && !newer) {
          newer = new Promise((r) => setTimeout(r, 300))
            .then(() => client.request('engine/explain', { modelDir: defaultModelDir(), imagePath: other, methods: ['gradcam'], counterfactual: 'none' }))
            .then(() => {
              order.push('newer result');
              cancel();
            });
        }
      },
    });
    await assert.rejects(
      older.finally(() => order.push('older cancelled')),
      (e: unknown) => e instanceof EngineError && e.cancelled,
    );
    await newer;
    assert.deepEqual(order, ['newer result', 'older cancelled'], 'the newer request finished while the older one was inside LIME');
  });

  it('a cancelled request waiting behind a newer one stops at once, its remaining methods never run', async () => {
    const { token, cancel } = cancellable();
    const order: string[] = [];
    let olderSteps = 0;
    let newer: Promise<unknown> | undefined;
    const older = client.request('engine/explain', { ...slow, methods: [...slow.methods] }, {
      token,
      onProgress: (p) => {
        olderSteps = p.done;
        if (p.done === 1 && !newer) {
          newer = client
            .request('engine/explain', { ...slow, imagePath: other, methods: ['lime', 'smoothgrad', 'ig'] }, {
              // Cancel the older request once the newer one is under way (it is then held between its methods).
              onProgress: (q) => q.done === 1 && cancel(),
            })
            .then(() => order.push('newer result'));
        }
      },
    });
    await assert.rejects(
      older.finally(() => order.push('older cancelled')),
      (e: unknown) => e instanceof EngineError && e.cancelled,
    );
    await newer;
    assert.deepEqual(order, ['older cancelled', 'newer result'], 'the cancelled request ended before the newer one finished');
    assert.ok(olderSteps <= 2, `the cancelled request ran ${olderSteps} of ${slow.methods.length} methods`);
  });
});
