/**
 * The folder gallery's state as plain data: the reducer for extension messages, and the sorted, filtered view of the
 * items. Pure and DOM-free (unit-tested in Node).
 */
import { type GalleryItem, type GalleryItemOk, isGalleryError, type ToGallery } from '../../../src/shared/gallery';

export type GallerySort = 'path' | 'confidence-desc' | 'confidence-asc' | 'class';
/** A class index, every image, or only the unreadable ones. */
export type GalleryFilter = number | 'all' | 'errors';

export interface GalleryState {
  folder: string;
  model: string;
  items: GalleryItem[];
  done: number;
  total: number;
  running: boolean;
  cancelled: boolean;
  summary?: { explained: number; failed: number; ms: number };
  exported?: string;
  error?: string;
  sort: GallerySort;
  filter: GalleryFilter;
}

export function initialGallery(): GalleryState {
  return { folder: '', model: '', items: [], done: 0, total: 0, running: false, cancelled: false, sort: 'path', filter: 'all' };
}

export function applyGalleryMessage(s: GalleryState, m: ToGallery): GalleryState {
  switch (m.type) {
    case 'start':
      return { ...initialGallery(), sort: s.sort, folder: m.folder, model: m.model, running: true };
    case 'progress':
      return { ...s, done: m.done, total: m.total };
    case 'items': {
      // A re-sent item (the extension replays the run to a webview that was loading or re-created while a batch was
      // on its way) is kept once: cards are keyed by file.
      const seen = new Set(s.items.map((i) => i.file));
      return { ...s, items: [...s.items, ...m.items.filter((i) => !seen.has(i.file) && seen.add(i.file))] };
    }
    case 'done':
      return { ...s, running: false, cancelled: m.cancelled, summary: { explained: m.explained, failed: m.failed, ms: m.ms } };
    case 'exported':
      return { ...s, exported: m.path };
    case 'error':
      return { ...s, running: false, error: m.message };
    default:
      return s;
  }
}

/** The items to show: filtered by predicted class (or errors), then sorted; ties keep the folder's path order. */
export function visibleItems(items: readonly GalleryItem[], sort: GallerySort, filter: GalleryFilter): GalleryItem[] {
  const kept = items
    .map((item, i) => ({ item, i }))
    .filter(({ item }) => (filter === 'all' ? true : filter === 'errors' ? isGalleryError(item) : !isGalleryError(item) && item.label === filter));
  const conf = (it: GalleryItem) => (isGalleryError(it) ? -1 : it.confidence);
  const label = (it: GalleryItem) => (isGalleryError(it) ? Infinity : it.label);
  kept.sort((a, b) => {
    switch (sort) {
      case 'confidence-desc':
        return conf(b.item) - conf(a.item) || a.i - b.i;
      case 'confidence-asc':
        // Errors last in both directions.
        return (isGalleryError(a.item) ? 2 : conf(a.item)) - (isGalleryError(b.item) ? 2 : conf(b.item)) || a.i - b.i;
      case 'class':
        return label(a.item) - label(b.item) || conf(b.item) - conf(a.item) || a.i - b.i;
      default:
        return a.i - b.i;
    }
  });
  return kept.map((k) => k.item);
}

/** Predicted classes present, by class index, with how many images each. */
export function classCounts(items: readonly GalleryItem[]): { label: number; className: string; count: number }[] {
  const byLabel = new Map<number, { label: number; className: string; count: number }>();
  for (const it of items) {
    if (isGalleryError(it)) continue;
    const c = byLabel.get(it.label) ?? { label: it.label, className: it.className, count: 0 };
    c.count++;
    byLabel.set(it.label, c);
  }
  return [...byLabel.values()].sort((a, b) => a.label - b.label);
}

export function okItems(items: readonly GalleryItem[]): GalleryItemOk[] {
  return items.filter((i): i is GalleryItemOk => !isGalleryError(i));
}
