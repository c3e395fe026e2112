/**
 * What a model file does not say but a user can: preprocessing, class names and display names, read from a sidecar
 * `xai-lens.json` beside the model (or `<model file>.xai-lens.json`), or from `labels.txt` / `classes.json`. Where
 * nothing says, preprocessing is inferred (see `inferPreprocessing`) and reported as such.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { XaiLensError } from '../errors';
import type { Preprocessing, SettingSource } from '../../shared/modelFormats';

export const SIDECAR = 'xai-lens.json';

export interface Sidecar {
  name?: string;
  classNames?: string[];
  displayNames?: string[];
  preprocessing?: Partial<Preprocessing>;
  /** [height, width, channels], for models whose input size is not fixed. */
  inputShape?: [number, number, number];
}

export interface ModelMetadata {
  sidecar?: Sidecar;
  sidecarPath?: string;
  classNames?: string[];
  displayNames?: string[];
  classNamesSource?: SettingSource;
}

function isNumArray(v: unknown, n?: number): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && (n === undefined || v.length === n);
}

function isStrArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Checks a parsed sidecar, naming the first bad field. */
export function validateSidecar(raw: unknown, file: string): Sidecar {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new XaiLensError('must hold a JSON object', file);
  const s = raw as Record<string, unknown>;
  const known = new Set(['$schema', 'name', 'classNames', 'displayNames', 'preprocessing', 'inputShape']);
  const unknown = Object.keys(s).filter((k) => !known.has(k));
  if (unknown.length) throw new XaiLensError(`unknown field "${unknown[0]}" (known: ${[...known].slice(1).join(', ')})`, file);
  if (s.name !== undefined && typeof s.name !== 'string') throw new XaiLensError('"name" must be a string', file);
  if (s.classNames !== undefined && !isStrArray(s.classNames)) throw new XaiLensError('"classNames" must be an array of strings', file);
  if (s.displayNames !== undefined && !isStrArray(s.displayNames)) throw new XaiLensError('"displayNames" must be an array of strings', file);
  if (s.inputShape !== undefined && !(isNumArray(s.inputShape, 3) && s.inputShape.every((d) => Number.isInteger(d) && d > 0))) {
    throw new XaiLensError('"inputShape" must be [height, width, channels] (positive integers)', file);
  }
  if (s.preprocessing !== undefined) {
    const p = s.preprocessing as Record<string, unknown>;
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw new XaiLensError('"preprocessing" must be an object', file);
    const pk = new Set(['range', 'mean', 'std', 'channelOrder', 'background']);
    const bad = Object.keys(p).find((k) => !pk.has(k));
    if (bad) throw new XaiLensError(`unknown field "preprocessing.${bad}" (known: ${[...pk].join(', ')})`, file);
    if (p.range !== undefined && !(isNumArray(p.range, 2) && p.range[0] < p.range[1])) throw new XaiLensError('"preprocessing.range" must be [low, high] with low < high', file);
    if (p.mean !== undefined && !isNumArray(p.mean)) throw new XaiLensError('"preprocessing.mean" must be an array of numbers (one per channel)', file);
    if (p.std !== undefined && !(isNumArray(p.std) && p.std.every((v) => v > 0))) throw new XaiLensError('"preprocessing.std" must be an array of positive numbers (one per channel)', file);
    if (p.channelOrder !== undefined && p.channelOrder !== 'rgb' && p.channelOrder !== 'bgr') throw new XaiLensError('"preprocessing.channelOrder" must be "rgb" or "bgr"', file);
    if (p.background !== undefined && !['dark', 'light', 'any'].includes(p.background as string)) throw new XaiLensError('"preprocessing.background" must be "dark", "light" or "any"', file);
  }
  return s as Sidecar;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new XaiLensError(`is not valid JSON (${(e as Error).message})`, file);
  }
}

/** classes.json: ["cat", …], {"0": "cat", …} or Keras' imagenet_class_index.json {"0": ["n02123045", "tabby"], …}. */
export function parseClassesJson(raw: unknown, file: string): { classNames: string[]; displayNames?: string[] } {
  if (isStrArray(raw)) return { classNames: raw };
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const entries = Object.entries(raw as Record<string, unknown>);
    const n = entries.length;
    const ids: string[] = new Array<string>(n);
    const shown: string[] = new Array<string>(n);
    let pairs = false;
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new XaiLensError(`key "${k}" is not a class index 0…${n - 1}`, file);
      if (typeof v === 'string') ids[i] = shown[i] = v;
      else if (isStrArray(v) && v.length === 2) {
        pairs = true;
        ids[i] = v[0];
        shown[i] = v[1];
      } else throw new XaiLensError(`class ${k} must be a name or a [id, name] pair`, file);
    }
    return pairs ? { classNames: ids, displayNames: shown } : { classNames: ids };
  }
  throw new XaiLensError('must be an array of class names or an object from class index to name', file);
}

/** Where a model's sidecar may be, in the order they are read; the first is where a new one goes. */
export function sidecarCandidates(modelPath: string, isFolder: boolean): string[] {
  const dir = isFolder ? modelPath : dirname(modelPath);
  return isFolder ? [join(dir, SIDECAR)] : [`${modelPath}.${SIDECAR}`, join(dir, `${basename(modelPath).replace(/\.[^.]+$/, '')}.${SIDECAR}`), join(dir, SIDECAR)];
}

/** Changes whenever a file readModelMetadata reads appears, disappears or is written: a loaded model is stale then. */
export function metadataStamp(modelPath: string, isFolder: boolean): string {
  const dir = isFolder ? modelPath : dirname(modelPath);
  return [...sidecarCandidates(modelPath, isFolder), join(dir, 'labels.txt'), join(dir, 'classes.json')]
    .map((p) => {
      try {
        const st = statSync(p);
        return `${st.size}:${st.mtimeMs}`;
      } catch {
        return '-';
      }
    })
    .join('|');
}

/** Sidecar, labels.txt or classes.json beside a model (file or folder). Bad files fail with one line naming them. */
export function readModelMetadata(modelPath: string, isFolder: boolean): ModelMetadata {
  const dir = isFolder ? modelPath : dirname(modelPath);
  const out: ModelMetadata = {};
  const sidecarPath = sidecarCandidates(modelPath, isFolder).find((p) => existsSync(p));
  if (sidecarPath) {
    out.sidecar = validateSidecar(readJson(sidecarPath), sidecarPath);
    out.sidecarPath = sidecarPath;
    if (out.sidecar.classNames) {
      out.classNames = out.sidecar.classNames;
      out.classNamesSource = 'sidecar';
    }
    if (out.sidecar.displayNames) out.displayNames = out.sidecar.displayNames;
  }
  if (!out.classNames) {
    const labels = join(dir, 'labels.txt');
    const classes = join(dir, 'classes.json');
    if (existsSync(labels)) {
      out.classNames = readFileSync(labels, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
      out.classNamesSource = 'labels.txt';
    } else if (existsSync(classes)) {
      const parsed = parseClassesJson(readJson(classes), classes);
      out.classNames = parsed.classNames;
      out.displayNames ??= parsed.displayNames;
      out.classNamesSource = 'classes.json';
    }
  }
  return out;
}

/** Preprocessing of well-known Keras applications, by the model name Keras gives them. */
const KERAS_APPLICATIONS: { pattern: RegExp; pre: Preprocessing; why: string }[] = [
  { pattern: /^(mobilenet(v2)?_|mobilenet_|inception_v3|xception|inception_resnet_v2|nasnet)/i, pre: { range: [-1, 1], channelOrder: 'rgb' }, why: 'Keras application "tf" mode: values in [-1, 1]' },
  { pattern: /^(resnet50$|resnet(50|101|152)$|vgg1[69])/i, pre: { range: [0, 255], mean: [103.939, 116.779, 123.68], channelOrder: 'bgr' }, why: 'Keras application "caffe" mode: BGR, [0, 255] minus the ImageNet mean' },
  { pattern: /^densenet/i, pre: { range: [0, 1], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelOrder: 'rgb' }, why: 'Keras application "torch" mode: [0, 1] with ImageNet mean/std' },
  { pattern: /^(efficientnet|convnext|regnet|mobilenetv3|resnet\d+v2_rs)/i, pre: { range: [0, 255], channelOrder: 'rgb' }, why: 'Keras application with built-in rescaling: values in [0, 255]' },
];

export function inferPreprocessing(modelName: string, channels: number): { pre: Preprocessing; note: string; source: SettingSource } {
  const known = channels === 3 ? KERAS_APPLICATIONS.find((k) => k.pattern.test(modelName)) : undefined;
  if (known) return { pre: { ...known.pre, background: 'any' }, note: `inferred from the model name "${modelName}": ${known.why}`, source: 'inferred' };
  return {
    pre: { range: [0, 1], channelOrder: 'rgb', background: 'any' },
    note: `none found, so pixel values are fed in [0, 1] in RGB order; put "preprocessing" in ${SIDECAR} beside the model to change it`,
    source: 'default',
  };
}

export function mergePreprocessing(base: Preprocessing, over: Partial<Preprocessing> | undefined): Preprocessing {
  return { ...base, ...(over ?? {}) } as Preprocessing;
}

export function isIdentity(p: Preprocessing): boolean {
  return p.range[0] === 0 && p.range[1] === 1 && !p.mean?.some((v) => v !== 0) && !p.std?.some((v) => v !== 1) && p.channelOrder === 'rgb';
}

/** The colour transparent pixels become: what the model reads as "nothing" given its preprocessing. */
export function alphaBackground(p: Preprocessing, channels: number): { rgb: [number, number, number]; reason: string } {
  if (p.background === 'dark') return { rgb: [0, 0, 0], reason: 'black: the model reads light strokes on a dark background' };
  if (p.background === 'light') return { rgb: [1, 1, 1], reason: 'white: the model reads dark strokes on a light background' };
  const [lo, hi] = p.range;
  if (p.mean && p.mean.length >= Math.min(channels, 3)) {
    const m = p.mean.map((v) => Math.min(1, Math.max(0, (v - lo) / (hi - lo))));
    const rgb = (channels === 1 ? [m[0], m[0], m[0]] : p.channelOrder === 'bgr' ? [m[2], m[1], m[0]] : [m[0], m[1], m[2]]) as [number, number, number];
    return { rgb, reason: 'the preprocessing mean colour, which the model sees as zero' };
  }
  if (lo < 0 && hi > 0) {
    const g = -lo / (hi - lo);
    return { rgb: [g, g, g], reason: `gray ${g.toFixed(2)}, which the model's range [${lo}, ${hi}] maps to zero` };
  }
  return channels === 1
    ? { rgb: [0, 0, 0], reason: 'black, the model\'s zero input; its preprocessing has no mean' }
    : { rgb: [1, 1, 1], reason: 'white, a page behind a transparent picture; the model\'s preprocessing has no mean' };
}
