/** The model card a run writes when it ends: what was trained, on what, how, and how well (../modelCard.ts). */
import { basename } from 'node:path';
import type { ImageDataset } from '../data/datasets';
import type { EpochRecord, ModelCard } from '../modelCard';
import { describeSchedule, type LearningRateSchedule, type PlateauOptions } from './schedule';
import type { AugmentationOptions } from './trainer';

export interface CardInputs {
  name?: string;
  architecture: string;
  architectureOptions?: ModelCard['architectureOptions'];
  dataSpec: string;
  train: ImageDataset;
  validationCount: number;
  testCount: number;
  params: number;
  macsPerImage: number;
  history: EpochRecord[];
  epochs: number;
  batchSize: number;
  initialLearningRate: number;
  schedule: LearningRateSchedule;
  warmupEpochs: number;
  plateau: PlateauOptions;
  stoppedEarly: boolean;
  threads: number;
  augmentation?: AugmentationOptions;
  seed: number;
  backend: string;
  seconds: number;
  completed: boolean;
  test?: { accuracy: number; loss: number };
  /** Fields a caller adds (a fine-tune's base model and recipe). */
  extra?: Partial<ModelCard>;
}

export function buildModelCard(i: CardInputs): ModelCard {
  const ds = i.train;
  const last = i.history[i.history.length - 1];
  return {
    format: 'xai-lens-model-card/1',
    name: i.name ?? `${i.architecture}-${basename(i.dataSpec).replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`,
    architecture: i.architecture,
    architectureOptions: i.architectureOptions,
    inputShape: ds.shape,
    classNames: ds.classNames,
    params: i.params,
    macsPerImage: i.macsPerImage,
    preprocessing: { range: [0, 1], background: /mnist/i.test(ds.name) ? 'dark' : 'any' },
    dataset: { spec: i.dataSpec, name: ds.name, hash: ds.hash, train: ds.count, validation: i.validationCount, test: i.testCount },
    training: {
      epochs: i.history.length, batchSize: i.batchSize, optimizer: 'adam',
      initialLearningRate: i.schedule === 'one-cycle' ? i.initialLearningRate : (i.history[0]?.learningRate ?? i.initialLearningRate),
      // A resumed run may have changed the rate (--resume --lr); the history, not this session's options, says what ran.
      schedule: describeSchedule({
        schedule: i.schedule, peak: i.initialLearningRate, warmupEpochs: i.warmupEpochs, epochs: i.epochs, plateau: i.plateau,
        stoppedEarly: i.stoppedEarly, rates: i.history.map((h) => h.learningRate),
      }),
      threads: i.threads,
      augmentation: i.augmentation ? { ...i.augmentation } : {}, seed: i.seed, backend: i.backend,
      seconds: i.seconds, imagesPerSecond: i.seconds ? (i.history.length * ds.count) / i.seconds : 0, completed: i.completed,
    },
    metrics: { testAccuracy: i.test?.accuracy, testLoss: i.test?.loss, validationAccuracy: last?.valAccuracy, validationLoss: last?.valLoss },
    createdAt: new Date().toISOString(),
    ...i.extra,
  };
}
