/** The model card written next to every trained model (model-card.json) and printed by `xai-lens info`. */
import type { EpochRecordWire } from '../shared/trainingEvents';

/** One epoch of metrics.json: what the training events carry (src/shared/trainingEvents.ts), and the augmentation. */
export interface EpochRecord extends EpochRecordWire {
  /** The augmentation this epoch trained with (null: none), so that a resumed run with new settings stays legible. */
  augmentation?: Record<string, unknown> | null;
}

export interface ModelCard {
  format: 'xai-lens-model-card/1';
  name: string;
  architecture: string;
  /** The architecture's options as built (its backbone's, its attention kind's, `attach`); see models/zoo.ts. */
  architectureOptions?: Record<string, number | string | boolean>;
  inputShape: [number, number, number];
  classNames: string[];
  params: number;
  macsPerImage: number;
  /** How images are prepared: values scaled to [0, 1]; 'dark' means digits are light on a dark background. */
  preprocessing: { range: [0, 1]; background: 'dark' | 'any' };
  dataset: { spec: string; name: string; hash: string; train: number; validation: number; test: number };
  training: {
    epochs: number;
    batchSize: number;
    optimizer: 'adam';
    initialLearningRate: number;
    schedule: string;
    /** The augmentation of the last phase of a resumed run; metrics.json records each epoch's. */
    augmentation: Record<string, unknown>;
    seed: number;
    backend: string;
    /** Training threads (2: half of every batch in a worker thread). Absent in cards written before it existed. */
    threads?: number;
    seconds: number;
    imagesPerSecond: number;
    completed: boolean;
  };
  /** Present on models made by `xai-lens finetune`: what they were fine-tuned from and how. */
  finetune?: {
    base: { model: string; name?: string; architecture?: string; datasetHash?: string; inputShape: [number, number, number] };
    /** The fine-tuning data as given, before the validation split (`dataset` describes the training part). */
    data: { spec: string; hash: string; count: number; classNames: string[] };
    recipe: Record<string, unknown>;
  };
  metrics: { testAccuracy?: number; testLoss?: number; validationAccuracy?: number; validationLoss?: number };
  createdAt: string;
}
