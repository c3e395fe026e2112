/** The explain panel's layout helpers: the attribution value under the cursor and the sortable metrics table. */
import * as assert from 'node:assert/strict';
import { defaultDirection, sortMetricRows, valueAt, type MetricRow } from '../../webview-ui/src/lib/layout';

describe('webview layout helpers', () => {
  it('valueAt finds the heatmap cell under a point given as fractions of the picture', () => {
    // 3 wide, 2 high: row-major values 0..5.
    const map = { width: 3, height: 2, data: [0, 1, 2, 3, 4, 5] };
    assert.deepEqual(valueAt(map, 0, 0), { x: 0, y: 0, value: 0 });
    assert.deepEqual(valueAt(map, 0.5, 0.2), { x: 1, y: 0, value: 1 });
    assert.deepEqual(valueAt(map, 0.99, 0.99), { x: 2, y: 1, value: 5 });
    assert.deepEqual(valueAt(map, 0.34, 0.5), { x: 1, y: 1, value: 4 });
    assert.equal(valueAt(map, 1, 0.5), undefined, 'the right edge is outside');
    assert.equal(valueAt(map, -0.01, 0.5), undefined);
    assert.equal(valueAt(map, Number.NaN, 0.5), undefined);
  });

  it('valueAt at 224×224 maps the pointer to the pixel it covers', () => {
    const data = Array.from({ length: 224 * 224 }, (_, i) => i);
    const v = valueAt({ width: 224, height: 224, data }, 100.5 / 224, 37.2 / 224);
    assert.deepEqual(v, { x: 100, y: 37, value: 37 * 224 + 100 });
  });

  const m = (deletionAuc: number, insertionAuc: number, clarity: number) => ({ deletionAuc, insertionAuc, clarity, randomDeletionAuc: 0.5, randomInsertionAuc: 0.5 });
  const rows: MetricRow[] = [
    { method: 'gradcam', label: 'Grad-CAM', metrics: m(0.2, 0.8, 0.3) },
    { method: 'lime', label: 'LIME', metrics: m(0.4, 0.9, Number.NaN) },
    { method: 'ig', label: 'Integrated Gradients', metrics: m(0.1, 0.6, 0.5) },
    { method: 'scorecam', label: 'Score-CAM', metrics: m(0.2, 0.7, 0.1) },
  ];
  const order = (r: MetricRow[]) => r.map((x) => x.method);

  it('sorts the metrics by any column, ties in the given order, non-finite values last', () => {
    assert.deepEqual(order(sortMetricRows(rows, 'deletionAuc', 'ascending')), ['ig', 'gradcam', 'scorecam', 'lime']);
    assert.deepEqual(order(sortMetricRows(rows, 'deletionAuc', 'descending')), ['lime', 'gradcam', 'scorecam', 'ig']);
    assert.deepEqual(order(sortMetricRows(rows, 'insertionAuc', 'descending')), ['lime', 'gradcam', 'scorecam', 'ig']);
    assert.deepEqual(order(sortMetricRows(rows, 'clarity', 'descending')), ['ig', 'gradcam', 'scorecam', 'lime']);
    assert.deepEqual(order(sortMetricRows(rows, 'clarity', 'ascending')), ['scorecam', 'gradcam', 'ig', 'lime']);
    assert.deepEqual(order(sortMetricRows(rows, 'method', 'ascending')), ['gradcam', 'ig', 'lime', 'scorecam']);
    assert.deepEqual(order(rows), ['gradcam', 'lime', 'ig', 'scorecam'], 'the input is not modified');
  });

  it('a first click sorts the better values first', () => {
    assert.equal(defaultDirection('deletionAuc'), 'ascending');
    assert.equal(defaultDirection('insertionAuc'), 'descending');
    assert.equal(defaultDirection('clarity'), 'descending');
    assert.equal(defaultDirection('method'), 'ascending');
  });
});
