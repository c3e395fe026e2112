/**
 * How `train` and `finetune` report a run: one Keras-style line per epoch on stderr (and a live progress line on a
 * terminal), or with --json one JSON event per line on stdout (the schema is in docs/training.md). Ctrl-C stops after
 * the current batch and keeps the last complete epoch; a second Ctrl-C quits at once.
 */
import type { TrainEvent } from '../training/trainer';
import type { EpochRecord } from '../modelCard';
import type { Io } from './common';

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/**
 * `Epoch 3/5 - 12s - loss: 0.1234 - accuracy: 0.9612 - val_loss: 0.2345 - val_accuracy: 0.9500 - lr: 1.0e-3 - ETA 24s`
 * (ETA: the remaining epochs at this run's mean epoch time; left out after the last epoch).
 */
export function kerasEpochLine(r: EpochRecord, epochs: number, etaSeconds: number | undefined): string {
  const parts = [
    `Epoch ${r.epoch}/${epochs}`, formatSeconds(r.seconds), `loss: ${r.trainLoss.toFixed(4)}`, `accuracy: ${r.trainAccuracy.toFixed(4)}`,
    `val_loss: ${r.valLoss.toFixed(4)}`, `val_accuracy: ${r.valAccuracy.toFixed(4)}`, `lr: ${r.learningRate.toExponential(1)}`,
  ];
  if (etaSeconds !== undefined && r.epoch < epochs) parts.push(`ETA ${formatSeconds(etaSeconds)}`);
  return parts.join(' - ');
}

/** Reports one run's events as lines; returns a function per event. */
export function eventPrinter(io: Io, json: boolean): (ev: TrainEvent) => void {
  let lastLine = 0;
  let epochs = 0;
  let epochSeconds = 0;
  let epochCount = 0;
  return (ev) => {
    if (json) {
      io.out(JSON.stringify(ev.type === 'done' ? { type: 'done', cancelled: ev.cancelled, card: ev.card } : ev));
    }
    const tty = io.isTty && !json;
    let line: string | undefined;
    switch (ev.type) {
      case 'start':
        epochs = ev.epochs;
        line = `training ${ev.trainCount} images (validation ${ev.validationCount}), ${ev.params} params, ${(ev.macsPerImage / 1e6).toFixed(2)} M MACs/image, epochs ${ev.startEpoch}..${ev.epochs}`;
        for (const n of ev.notes ?? []) line += `\nnote: ${n}`;
        break;
      case 'progress': {
        const p = `Epoch ${ev.epoch}/${ev.epochs} ${ev.batch}/${ev.batches} - loss: ${ev.loss.toFixed(4)} - accuracy: ${ev.accuracy.toFixed(4)} - ${ev.imagesPerSecond.toFixed(1)} img/s - ETA ${formatSeconds(ev.etaSeconds)}`;
        // Progress is frequent: overwrite one line on a terminal, otherwise log every 15 s.
        if (tty) process.stderr.write(`\r${p}\x1b[K`);
        else if (performance.now() - lastLine > 15000) {
          io.err(p);
          lastLine = performance.now();
        }
        return;
      }
      case 'epoch':
        epochSeconds += ev.record.seconds;
        epochCount++;
        line = kerasEpochLine(ev.record, epochs, (epochSeconds / epochCount) * (epochs - ev.record.epoch)) + (ev.frozen ? ' (head only)' : '');
        break;
      case 'learning-rate':
        line = `learning rate ${ev.from.toExponential(2)} -> ${ev.to.toExponential(2)} (validation loss plateaued)`;
        break;
      case 'checkpoint':
        return; // one per epoch; the epoch line says enough
      case 'early-stop':
        line = `early stopping after epoch ${ev.epoch}`;
        break;
      case 'done': {
        const m = ev.card.metrics;
        const test = m.testAccuracy !== undefined ? `test accuracy ${(m.testAccuracy * 100).toFixed(2)}%, test loss ${m.testLoss?.toFixed(4)}` : 'no test split';
        line = ev.cancelled ? `cancelled; the last complete epoch is kept (${test})` : `done: ${test}, ${formatSeconds(ev.card.training.seconds)}`;
        break;
      }
    }
    if (tty) process.stderr.write('\r\x1b[K');
    if (line) io.err(line);
  };
}

/** An AbortSignal that Ctrl-C sets (a second Ctrl-C exits at once), and the function that removes the handler. */
export function abortOnSigint(io: Io): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    io.err('cancelling after this batch; the last complete epoch stays saved (Ctrl-C again to quit now)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/** Prints a run's events; returns the exit code (130 when cancelled). */
export async function reportRun(events: AsyncIterable<TrainEvent>, io: Io, json: boolean): Promise<{ code: number; cancelled: boolean; epochs: number }> {
  const print = eventPrinter(io, json);
  let cancelled = false;
  let epochs = 0;
  for await (const ev of events) {
    print(ev);
    if (ev.type === 'done') {
      cancelled = ev.cancelled;
      epochs = ev.card.training.epochs;
    }
  }
  return { code: cancelled ? 130 : 0, cancelled, epochs };
}
