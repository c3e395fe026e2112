/**
 * Request priority in the engine process: the newest request runs first. Every explanation registers when it
 * arrives and waits at `turn()` before each of its steps (each attribution method, the counterfactual) while any newer
 * request is still active; when the newer ones finish or are cancelled, the older one continues where it stopped. The
 * long steps await the same turn between their batches (explain/pacing.ts); a step without such pauses runs to its
 * end (steps run synchronously on the CPU backends).
 */
export interface Turn {
  /** Resolves when no newer request is active (at once when none is), or when `signal` aborts (the caller checks it). */
  turn(signal?: AbortSignal): Promise<void>;
  /** The request ended (result, error or cancel): older requests may continue. */
  done(): void;
}

/**
 * Lets a request that is already in the IPC pipe register before a turn is decided: the pipe is read in the event
 * loop's poll phase and vscode-jsonrpc dispatches what it read with setImmediate, so one timer tick then two
 * immediates put that dispatch ahead of us.
 */
async function letRequestsArrive(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

export class NewestFirst {
  private seq = 0;
  private readonly active = new Set<number>();
  private readonly waiting = new Map<number, () => void>();

  /** Registers a new request; it outranks every request registered before it. */
  begin(): Turn {
    const id = ++this.seq;
    this.active.add(id);
    return {
      turn: async (signal) => {
        await letRequestsArrive();
        if (!this.newerThan(id) || signal?.aborted) return;
        return new Promise<void>((resolve) => {
          const wake = () => {
            signal?.removeEventListener('abort', wake);
            this.waiting.delete(id);
            resolve();
          };
          this.waiting.set(id, wake);
          signal?.addEventListener('abort', wake, { once: true });
        });
      },
      done: () => {
        this.active.delete(id);
        this.waiting.get(id)?.();
        this.wake();
      },
    };
  }

  /** How many requests are registered and not done. */
  get size(): number {
    return this.active.size;
  }

  private newerThan(id: number): boolean {
    for (const other of this.active) if (other > id) return true;
    return false;
  }

  private wake(): void {
    for (const [id, wake] of [...this.waiting]) if (!this.newerThan(id)) wake();
  }
}
