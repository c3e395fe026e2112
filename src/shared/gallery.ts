/**
 * The folder gallery's shared shapes: the engine's per-image item (streamed as each image finishes), the gallery
 * webview's messages, and the CSV/JSON export. Pure; imports only shared types.
 */
import type { ImagePayload } from './protocol';

export interface ExplainFolderParams {
  modelDir: string;
  /** Folder searched recursively for PNG/JPEG (dot-folders and node_modules skipped), in path order. */
  dir: string;
  /** CAM layer; default the model's last 4-D layer. */
  layer?: string;
  /** At most this many images. */
  limit?: number;
  /** Longest side of the thumbnails and Grad-CAM maps sent back (default 64; smaller inputs stay as they are). */
  thumbnail?: number;
  progressToken?: string;
}

export interface ExplainFolderResult {
  dir: string;
  total: number;
  explained: number;
  failed: number;
  ms: number;
}

export interface GalleryItemOk {
  file: string;
  /** Path relative to the folder, with forward slashes. */
  relative: string;
  label: number;
  className: string;
  confidence: number;
  /** The three most probable classes, most probable first. */
  top: { label: number; probability: number }[];
  /** The model input, shrunk to the thumbnail size. */
  thumbnail: ImagePayload;
  /** Grad-CAM for the predicted class at the thumbnail's size; higher = more evidence. */
  gradcam: { width: number; height: number; data: number[] };
  ms: number;
}

export interface GalleryItemError {
  file: string;
  relative: string;
  /** One line naming the file and the problem. */
  error: string;
}

export type GalleryItem = GalleryItemOk | GalleryItemError;

export function isGalleryError(item: GalleryItem): item is GalleryItemError {
  return 'error' in item;
}

export interface FolderItemParams {
  token: string;
  item: GalleryItem;
}

/** Extension → gallery webview. */
export type ToGallery =
  | { type: 'start'; folder: string; model: string }
  | { type: 'progress'; done: number; total: number }
  | { type: 'items'; items: GalleryItem[] }
  | { type: 'done'; cancelled: boolean; explained: number; failed: number; ms: number }
  | { type: 'exported'; path: string }
  | { type: 'error'; message: string };

/** Gallery webview → extension. */
export type FromGallery =
  | { type: 'ready' }
  | { type: 'cancel' }
  | { type: 'rerun' }
  | { type: 'open'; file: string }
  | { type: 'export'; format: 'csv' | 'json' };

const CSV_COLUMNS = ['file', 'label', 'class_name', 'confidence', 'top2_label', 'top2_probability', 'top3_label', 'top3_probability', 'error'] as const;

function csvCell(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per image (errors too, with an empty prediction), RFC 4180 quoting, a header row, "\n" line ends. */
export function galleryCsv(items: readonly GalleryItem[]): string {
  const rows = items.map((it) => {
    if (isGalleryError(it)) return [it.relative, undefined, undefined, undefined, undefined, undefined, undefined, undefined, it.error];
    const [, t2, t3] = it.top;
    return [it.relative, it.label, it.className, it.confidence, t2?.label, t2?.probability, t3?.label, t3?.probability, undefined];
  });
  return [CSV_COLUMNS.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
}

/** The export as JSON: one object per image with the CLI's snake_case names, no pixel data. */
export function galleryRecords(items: readonly GalleryItem[]): object[] {
  return items.map((it) =>
    isGalleryError(it)
      ? { file: it.relative, error: it.error }
      : { file: it.relative, label: it.label, class_name: it.className, confidence: it.confidence, top: it.top, ms: Math.round(it.ms) },
  );
}
