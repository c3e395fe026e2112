import { join } from 'node:path';
import { loadDataset, splitTrainVal, subset } from '../data/datasets';
import { ARCHITECTURES, getArchitecture } from '../models/zoo';
import { train, type LearningRateSchedule, type TrainEvent } from '../training/trainer';
import { secondThreadPays } from '../parallel/replica';
import { getPreset } from '../training/presets';
import { XaiLensError } from '../errors';
import { startBackend, type Io } from './common';
import { numberFlag, optionsFromFlags, requireFlag, stringFlag } from './flags';

type Values = Record<string, string | boolean | undefined>;

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

function describe(ev: TrainEvent): string | undefined {
  switch (ev.type) {
    case 'start':
      return `training ${ev.trainCount} images (validation ${ev.validationCount}), ${ev.params} params, ${(ev.macsPerImage / 1e6).toFixed(2)} M MACs/image, epochs ${ev.startEpoch}..${ev.epochs}`;
    case 'progress':
      return `epoch ${ev.epoch}/${ev.epochs} batch ${ev.batch}/${ev.batches} loss ${ev.loss.toFixed(4)} acc ${(ev.accuracy * 100).toFixed(2)}% ${ev.imagesPerSecond.toFixed(1)} img/s ETA ${formatSeconds(ev.etaSeconds)}`;
    case 'epoch': {
      const r = ev.record;
      return `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)} acc ${(r.trainAccuracy * 100).toFixed(2)}% | val loss ${r.valLoss.toFixed(4)} acc ${(r.valAccuracy * 100).toFixed(2)}% | lr ${r.learningRate.toExponential(2)} | ${r.imagesPerSecond.toFixed(1)} img/s | ${formatSeconds(r.seconds)}${ev.improved ? ' *' : ''}`;
    }
    case 'learning-rate':
      return `learning rate ${ev.from.toExponential(2)} -> ${ev.to.toExponential(2)} (validation loss plateaued)`;
    case 'checkpoint':
      return `checkpoint saved: ${ev.dir} (epoch ${ev.epoch})`;
    case 'early-stop':
      return `early stopping after epoch ${ev.epoch}`;
    case 'done': {
      const m = ev.card.metrics;
      const test = m.testAccuracy !== undefined ? `test accuracy ${(m.testAccuracy * 100).toFixed(2)}%, test loss ${m.testLoss?.toFixed(4)}` : 'no test split';
      return ev.cancelled ? `cancelled; the last complete epoch is kept (${test})` : `done: ${test}, ${formatSeconds(ev.card.training.seconds)}`;
    }
  }
}

export async function trainCommand(values: Values, _positionals: string[], io: Io): Promise<number> {
  const usage = 'train --model <name> --data <mnist|fashion-mnist|folder>';
  const preset = getPreset(stringFlag(values, 'preset'));
  const arch = getArchitecture(requireFlag(values, 'model', usage));
  const spec = requireFlag(values, 'data', usage);
  const epochs = numberFlag(values, 'epochs', preset.epochs, { integer: true, min: 1 });
  const batchSize = numberFlag(values, 'batch-size', preset.batchSize, { integer: true, min: 1, max: 4096 });
  const learningRate = numberFlag(values, 'lr', preset.learningRate, { min: 0 });
  // The preset's architecture options where this architecture has them, then the flags given.
  const modelOptions = {
    ...Object.fromEntries(Object.entries(preset.modelOptions).filter(([k]) => k in arch.options)),
    ...optionsFromFlags(values, arch.options, ARCHITECTURES.map((a) => a.options), arch.id),
  };
  const seed = numberFlag(values, 'seed', 1, { integer: true });
  const valFraction = numberFlag(values, 'val-fraction', preset.valFraction, { min: 0.001, max: 0.9 });
  const outDir = stringFlag(values, 'out') ?? join('runs', `${arch.id}-${spec.replace(/[^a-z0-9]+/gi, '_')}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  if (values.resume && !stringFlag(values, 'out')) throw new XaiLensError('--resume needs --out <run folder>');

  const schedule = stringFlag(values, 'schedule') ?? preset.schedule;
  if (schedule !== 'plateau' && schedule !== 'one-cycle') throw new XaiLensError(`--schedule must be plateau or one-cycle, got "${schedule}"`);
  const threadsFlag = stringFlag(values, 'threads') ?? 'auto';
  if (!['1', '2', 'auto'].includes(threadsFlag)) throw new XaiLensError(`--threads must be 1, 2 or auto, got "${threadsFlag}"`);

  const backend = await startBackend(stringFlag(values, 'backend'), io);
  const threads = threadsFlag === 'auto' ? (secondThreadPays(backend.name) ? 2 : 1) : Number(threadsFlag);
  if (threads === 2) io.err('threads: 2 (half of every batch in a worker thread)');
  const full = await loadDataset(spec, 'train', [28, 28, 1]);
  let { train: trainDs, val: validation } = splitTrainVal(full, valFraction, seed);
  const limit = numberFlag(values, 'limit', trainDs.count, { integer: true, min: 1 });
  if (limit < trainDs.count) trainDs = subset(trainDs, Array.from({ length: limit }, (_, i) => i));
  if (limit < validation.count) validation = subset(validation, Array.from({ length: Math.max(1, Math.round(limit * valFraction)) }, (_, i) => i));
  let test;
  try {
    test = await loadDataset(spec, 'test', full.shape);
  } catch {
    test = undefined; // a folder without a test/ subfolder: the card reports validation metrics only
  }

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    io.err('cancelling after this batch; the last complete epoch stays saved (Ctrl-C again to quit now)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  let cancelled = false;
  let lastLine = 0;
  try {
    for await (const ev of train({
      architecture: arch.id, dataSpec: spec, train: trainDs, validation, test, outDir, epochs, batchSize, learningRate, modelOptions, seed,
      augmentation: values['no-augment'] ? false : preset.augmentation, plateau: preset.plateau,
      schedule: schedule as LearningRateSchedule, warmupEpochs: preset.warmupEpochs, threads,
      earlyStoppingPatience: preset.earlyStoppingPatience, resume: Boolean(values.resume), backend: backend.description,
      resumeLearningRate: values.resume && values.lr !== undefined ? learningRate : undefined,
      signal: controller.signal,
    })) {
      if (values.json) {
        io.out(JSON.stringify(ev.type === 'done' ? { type: 'done', cancelled: ev.cancelled, card: ev.card } : ev));
      }
      const line = describe(ev);
      if (ev.type === 'progress') {
        // Progress is frequent: overwrite one line on a terminal, otherwise log every 15 s.
        if (io.isTty && !values.json) process.stderr.write(`\r${line}\x1b[K`);
        else if (performance.now() - lastLine > 15000) {
          io.err(line!);
          lastLine = performance.now();
        }
        continue;
      }
      if (io.isTty && !values.json) process.stderr.write('\r\x1b[K');
      if (line) io.err(line);
      if (ev.type === 'done') cancelled = ev.cancelled;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  return cancelled ? 130 : 0;
}
