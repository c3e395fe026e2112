/** The model card written next to every trained model (model-card.json) and printed by `xai-lens info`. */

export interface EpochRecord {
  epoch: number;
  learningRate: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
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
  metrics: { testAccuracy?: number; testLoss?: number; validationAccuracy?: number; validationLoss?: number };
  createdAt: string;
}
