import { join } from 'node:path';
import { loadDataset, splitTrainVal, subset } from '../data/datasets';
import { ARCHITECTURES, getArchitecture } from '../models/zoo';
import { train, type LearningRateSchedule } from '../training/trainer';
import { stageFolder } from '../io/stagedFolder';
import { abortOnSigint, reportRun } from './trainOutput';
import { secondThreadPays } from '../parallel/replica';
import { getPreset, presetModelOptions } from '../training/presets';
import { XaiLensError } from '../errors';
import { startBackend, type Io } from './common';
import { numberFlag, optionsFromFlags, requireFlag, stringFlag } from './flags';

type Values = Record<string, string | boolean | undefined>;

export async function trainCommand(values: Values, _positionals: string[], io: Io): Promise<number> {
  const usage = 'train --model <name> --data <mnist|fashion-mnist|folder>';
  const preset = getPreset(stringFlag(values, 'preset'));
  const arch = getArchitecture(requireFlag(values, 'model', usage));
  const spec = requireFlag(values, 'data', usage);
  const epochs = numberFlag(values, 'epochs', preset.epochs, { integer: true, min: 1 });
  const batchSize = numberFlag(values, 'batch-size', preset.batchSize, { integer: true, min: 1, max: 4096 });
  const learningRate = numberFlag(values, 'lr', preset.learningRate, { min: 0 });
  // The preset's architecture options, then the flags given.
  const modelOptions = {
    ...presetModelOptions(preset, arch),
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
  const dataOpts = { onWarning: (m: string) => io.err(m), onNote: (m: string) => io.err(m) };
  const full = await loadDataset(spec, 'train', [28, 28, 1], dataOpts);
  let { train: trainDs, val: validation } = splitTrainVal(full, valFraction, seed);
  const limit = numberFlag(values, 'limit', trainDs.count, { integer: true, min: 1 });
  if (limit < trainDs.count) trainDs = subset(trainDs, Array.from({ length: limit }, (_, i) => i));
  if (limit < validation.count) validation = subset(validation, Array.from({ length: Math.max(1, Math.round(limit * valFraction)) }, (_, i) => i));
  let test;
  try {
    test = await loadDataset(spec, 'test', full.shape, dataOpts);
  } catch {
    test = undefined; // a folder without a test/ subfolder: the card reports validation metrics only
  }

  // A good model already in --out is replaced only by a complete one (a resume continues in place).
  if (values.augment && values['no-augment']) throw new XaiLensError('--augment and --no-augment contradict each other');
  const out = values.resume ? undefined : stageFolder(outDir);
  const runDir = out?.dir ?? outDir;
  const sigint = abortOnSigint(io);
  try {
    const result = await reportRun(train({
      architecture: arch.id, dataSpec: spec, train: trainDs, validation, test, outDir: runDir, epochs, batchSize, learningRate, modelOptions, seed,
      augmentation: values['no-augment'] ? false : preset.augmentation, // --augment: the default, accepted for symmetry with finetune
      plateau: preset.plateau,
      schedule: schedule as LearningRateSchedule, warmupEpochs: preset.warmupEpochs, threads,
      earlyStoppingPatience: preset.earlyStoppingPatience, resume: Boolean(values.resume), backend: backend.description,
      resumeLearningRate: values.resume && values.lr !== undefined ? learningRate : undefined,
      signal: sigint.signal,
    }), io, Boolean(values.json));
    if (result.epochs > 0) await out?.commit();
    else await out?.abandon();
    return result.code;
  } catch (e) {
    await out?.abandon();
    throw e;
  } finally {
    sigint.dispose();
  }
}
