/** Shared test helpers: temp folders and backend set-up. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'node:assert/strict';
import type { RasterImage } from '../../src/engine/image/imageMath';
import { main } from '../../src/engine/cli';
import type { Io } from '../../src/engine/cli/common';

export function tempDir(prefix = 'xai-lens-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function img(width: number, height: number, channels: 1 | 3 | 4, values: number[]): RasterImage {
  return { width, height, channels, data: Float32Array.from(values) };
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}] ${actual[i]} vs ${expected[i]}`);
  }
}

export interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

/** Runs the CLI in-process with captured output. */
export async function runCli(...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

/** The entries of a shared option bag that a method declares (methods refuse options they do not have). */
export function optionsFor(method: { options: Record<string, unknown> }, bag: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(bag).filter(([k]) => k in method.options));
}

/** A graph model folder (model.json + weights.bin) loaded by TF.js itself, as the reference for what the engine reads. */
export async function loadGraphReference(dir: string): Promise<tf.GraphModel> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const weightData = new Uint8Array(readFileSync(join(dir, 'weights.bin'))).buffer;
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}
