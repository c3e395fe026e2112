/** The gallery webview's state: messages, sorting by confidence or class, filtering by predicted class. */
import * as assert from 'node:assert/strict';
import { applyGalleryMessage, classCounts, type GalleryState, initialGallery, visibleItems } from '../../webview-ui/src/gallery/state';
import type { GalleryItem } from '../../src/shared/gallery';

const ok = (relative: string, label: number, confidence: number): GalleryItem => ({
  file: `/d/${relative}`, relative, label, className: `c${label}`, confidence, top: [{ label, probability: confidence }],
  thumbnail: { width: 1, height: 1, channels: 1, data: [0] }, gradcam: { width: 1, height: 1, data: [0] }, ms: 1,
});
const items: GalleryItem[] = [ok('a.png', 3, 0.9), ok('b.png', 1, 0.5), { file: '/d/c.png', relative: 'c.png', error: 'c.png: bad' }, ok('d.png', 3, 0.99), ok('e.png', 1, 0.7)];
const names = (xs: GalleryItem[]) => xs.map((x) => x.relative);

describe('gallery state', () => {
  it('sorts by path, confidence either way (unreadable last) and class (then confidence)', () => {
    assert.deepEqual(names(visibleItems(items, 'path', 'all')), ['a.png', 'b.png', 'c.png', 'd.png', 'e.png']);
    assert.deepEqual(names(visibleItems(items, 'confidence-desc', 'all')), ['d.png', 'a.png', 'e.png', 'b.png', 'c.png']);
    assert.deepEqual(names(visibleItems(items, 'confidence-asc', 'all')), ['b.png', 'e.png', 'a.png', 'd.png', 'c.png']);
    assert.deepEqual(names(visibleItems(items, 'class', 'all')), ['e.png', 'b.png', 'd.png', 'a.png', 'c.png']);
  });

  it('filters by predicted class or by unreadable, and counts the classes present', () => {
    assert.deepEqual(names(visibleItems(items, 'path', 3)), ['a.png', 'd.png']);
    assert.deepEqual(names(visibleItems(items, 'confidence-asc', 1)), ['b.png', 'e.png']);
    assert.deepEqual(names(visibleItems(items, 'path', 'errors')), ['c.png']);
    assert.deepEqual(names(visibleItems(items, 'path', 7)), []);
    assert.deepEqual(classCounts(items), [{ label: 1, className: 'c1', count: 2 }, { label: 3, className: 'c3', count: 2 }]);
  });

  it('start resets the items (keeping the sort), items append, done ends the run', () => {
    let s: GalleryState = { ...initialGallery(), sort: 'class', items: [items[0]] };
    s = applyGalleryMessage(s, { type: 'start', folder: 'digits', model: 'm' });
    assert.deepEqual([s.items.length, s.running, s.sort, s.folder], [0, true, 'class', 'digits']);
    s = applyGalleryMessage(s, { type: 'items', items: items.slice(0, 2) });
    s = applyGalleryMessage(s, { type: 'items', items: items.slice(2) });
    s = applyGalleryMessage(s, { type: 'progress', done: 5, total: 9 });
    assert.deepEqual([s.items.length, s.done, s.total], [5, 5, 9]);
    // A batch sent again (replayed to a webview that was loading) adds only what is new: cards are keyed by file.
    const again = applyGalleryMessage(s, { type: 'items', items: [items[1], ok('f.png', 2, 0.8), items[4]] });
    assert.deepEqual(names(again.items), ['a.png', 'b.png', 'c.png', 'd.png', 'e.png', 'f.png']);
    s = applyGalleryMessage(s, { type: 'done', cancelled: true, explained: 4, failed: 1, ms: 1200 });
    assert.deepEqual([s.running, s.cancelled, s.summary], [false, true, { explained: 4, failed: 1, ms: 1200 }]);
  });
});
