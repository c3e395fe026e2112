/**
 * Long methods give way between their batches. The methods run synchronously on the CPU backends, so a cancel or a
 * newer request (the panel re-targeted, another image right-clicked) can only arrive when the event loop turns;
 * without that, a request waits for a whole LIME, counterfactual or sample loop of an older one (seconds at
 * 224×224×3). The engine process passes its request-priority turn as `pause` (process/newestFirst.ts): it turns the
 * event loop and resolves once no newer request is running.
 */
import { XaiLensError } from '../errors';

/** Resolves when the request may go on; the caller checks its AbortSignal afterwards. */
export type Pause = () => Promise<void>;

/** How long a method runs before it gives way: a newer request waits about this long at most. */
export const GIVE_WAY_EVERY_MS = 50;

/**
 * A method's `tick`, awaited between batches: it calls `pause` when `everyMs` have passed since the last one (a
 * pause costs about a millisecond: a timer tick and two immediates), then throws 'cancelled' if `signal` aborted.
 */
export function pacer(pause: Pause | undefined, signal: AbortSignal | undefined, everyMs = GIVE_WAY_EVERY_MS): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (pause && performance.now() - last >= everyMs) {
      await pause();
      last = performance.now();
    }
    if (signal?.aborted) throw new XaiLensError('cancelled');
  };
}
