/**
 * Messages between the extension host and the training dashboard webview (src/extension/training/dashboard.ts ↔
 * webview-ui/src/dashboard). The dashboard shows one run; `run` replaces everything (a new run, or the panel reopened),
 * `event` appends. Imports nothing but shared types.
 */
import type { TrainingEvent } from './trainingEvents';

export type RunState = 'running' | 'stopping' | 'done' | 'cancelled' | 'failed';

export interface RunInfo {
  id: number;
  label: string;
  /** The command line as the task terminal shows it. */
  commandLine: string;
  outDir: string;
  data: string;
  state: RunState;
  /** Why it failed (the engine's one-line error). */
  error?: string;
}

export type ToDashboard =
  | { type: 'run'; run: RunInfo; events: TrainingEvent[] }
  | { type: 'event'; event: TrainingEvent }
  | { type: 'state'; state: RunState; error?: string };

export type FromDashboard =
  | { type: 'ready' }
  | { type: 'stop' }
  | { type: 'explain' }
  | { type: 'showMistakes' }
  /** What the page has drawn, reported after each update (tests and the extension's API read it). */
  | { type: 'drawn'; runId: number; epochs: number; confusion: boolean; samples: number };
