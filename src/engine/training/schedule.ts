/**
 * The learning-rate policy of a run: a one-cycle curve set every step, or ReduceLROnPlateau on validation loss, plus
 * the improvement counters that early stopping reads. Its state is part of a checkpoint, so a resumed run continues
 * on the same curve with the same patience left.
 */

export type LearningRateSchedule = 'plateau' | 'one-cycle';

export interface PlateauOptions {
  factor: number;
  patience: number;
  minLearningRate: number;
}

/** One-cycle rate at optimisation step `step` (0-based) of `total`: linear warm-up, then half a cosine down to 0. */
export function oneCycleLearningRate(step: number, total: number, warmup: number, peak: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup + 1) / Math.max(1, total - warmup));
  return 0.5 * peak * (1 + Math.cos(Math.PI * progress));
}

/** The counters a checkpoint keeps. */
export interface ScheduleState {
  learningRate: number;
  bestValLoss: number;
  epochsSinceImprovement: number;
  epochsSinceLrChange: number;
}

export interface LearningRatePolicyOptions {
  schedule: LearningRateSchedule;
  /** The one-cycle peak (and the plateau schedule's first rate when the run starts fresh). */
  peakLearningRate: number;
  /** The rate to start this session at (a fresh run: the peak; a resume: the checkpoint's or the one asked for). */
  startLearningRate: number;
  epochs: number;
  batchesPerEpoch: number;
  warmupEpochs: number;
  plateau: PlateauOptions;
  /** Counters from a checkpoint. */
  resumed?: Omit<ScheduleState, 'learningRate'>;
}

export class LearningRatePolicy {
  learningRate: number;
  bestValLoss: number;
  epochsSinceImprovement: number;
  epochsSinceLrChange: number;

  constructor(private readonly o: LearningRatePolicyOptions) {
    this.learningRate = o.startLearningRate;
    this.bestValLoss = o.resumed?.bestValLoss ?? Infinity;
    this.epochsSinceImprovement = o.resumed?.epochsSinceImprovement ?? 0;
    this.epochsSinceLrChange = o.resumed?.epochsSinceLrChange ?? 0;
  }

  /**
   * The rate for batch `b` of `epoch` when it changes every step (one-cycle), else undefined. One-cycle rates follow
   * the global step, so a resumed run continues on the same curve.
   */
  stepRate(epoch: number, b: number): number | undefined {
    if (this.o.schedule !== 'one-cycle') return undefined;
    const n = this.o.batchesPerEpoch;
    this.learningRate = oneCycleLearningRate((epoch - 1) * n + b, this.o.epochs * n, this.o.warmupEpochs * n, this.o.peakLearningRate);
    return this.learningRate;
  }

  /** Records an epoch's validation loss; returns whether it improved. */
  observe(valLoss: number): boolean {
    const improved = valLoss < this.bestValLoss - 1e-4;
    if (improved) {
      this.bestValLoss = valLoss;
      this.epochsSinceImprovement = 0;
      this.epochsSinceLrChange = 0;
    } else {
      this.epochsSinceImprovement++;
      this.epochsSinceLrChange++;
    }
    return improved;
  }

  /** ReduceLROnPlateau after an observed epoch: the new rate when it drops, else undefined. */
  plateauStep(): { from: number; to: number } | undefined {
    const p = this.o.plateau;
    if (this.o.schedule !== 'plateau' || this.epochsSinceLrChange < p.patience || this.learningRate <= p.minLearningRate) return undefined;
    const from = this.learningRate;
    this.learningRate = Math.max(p.minLearningRate, from * p.factor);
    this.epochsSinceLrChange = 0;
    return { from, to: this.learningRate };
  }

  state(): ScheduleState {
    return {
      learningRate: this.learningRate, bestValLoss: this.bestValLoss,
      epochsSinceImprovement: this.epochsSinceImprovement, epochsSinceLrChange: this.epochsSinceLrChange,
    };
  }
}

/** The schedule as the model card describes it. `rates` summarises the history (a resume may have changed the rate). */
export function describeSchedule(o: { schedule: LearningRateSchedule; peak: number; warmupEpochs: number; epochs: number; plateau: PlateauOptions; stoppedEarly: boolean; rates: number[] }): string {
  const early = o.stoppedEarly ? ', early-stopped' : '';
  if (o.schedule === 'one-cycle') return `one-cycle(peak=${o.peak}, warm-up=${o.warmupEpochs} epoch, cosine to 0 at epoch ${o.epochs})${early}`;
  const runs: string[] = [];
  for (const rate of o.rates) {
    const r = rate.toExponential(1);
    const lastRun = runs[runs.length - 1];
    if (lastRun?.startsWith(`${r}×`)) runs[runs.length - 1] = `${r}×${Number(lastRun.split('×')[1]) + 1}`;
    else runs.push(`${r}×1`);
  }
  return `reduce-lr-on-plateau(factor=${o.plateau.factor}, patience=${o.plateau.patience})${early}` + (runs.length ? `; learning rate × epochs: ${runs.join(', ')}` : '');
}
