/** The attention section's pure logic (webview-ui/src/lib/channelGate.ts): bar geometry, ordering and the words. */
import * as assert from 'node:assert/strict';
import { describeAttention, gateBars, gateSummary } from '../../webview-ui/src/lib/channelGate';

describe('attention panel logic', () => {
  const gate = [0.2, 0.9, 0.5, 0.9, 0.05];

  it('one bar per channel in channel order, heights in percent', () => {
    const bars = gateBars(gate, 'channel');
    assert.deepEqual(bars.map((b) => [b.channel, b.x]), [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]);
    assert.deepEqual(bars.map((b) => Math.round(b.height * 1e6) / 1e6), [20, 90, 50, 90, 5]);
  });

  it('strongest first keeps channel order among ties, and places bars left to right', () => {
    const bars = gateBars(gate, 'value');
    assert.deepEqual(bars.map((b) => b.channel), [1, 3, 2, 0, 4]);
    assert.deepEqual(bars.map((b) => b.x), [0, 1, 2, 3, 4]);
    assert.deepEqual(gate, [0.2, 0.9, 0.5, 0.9, 0.05], 'the input is not reordered');
  });

  it('clamps heights to the chart', () => {
    assert.deepEqual(gateBars([-0.5, 1.5], 'channel').map((b) => b.height), [0, 100]);
  });

  it('summarises the strongest channels and the mean', () => {
    assert.equal(gateSummary(gate, 2), 'Strongest channels: 1 (0.900), 3 (0.900); mean gate 0.510 over 5 channels');
    assert.equal(gateSummary([]), 'no channel gate');
  });

  it('says what each kind of map shows', () => {
    assert.equal(describeAttention({ layer: 'top_cbam', className: 'CBAM', kind: 'spatial-gate' }), 'CBAM spatial gate at layer top_cbam.');
    assert.equal(
      describeAttention({ layer: 'top_pam', className: 'PAM', kind: 'position-attention', query: [3, 4] }),
      'PAM position attention of position (row 3, column 4), the Grad-CAM peak at layer top_pam.',
    );
    assert.equal(describeAttention({ layer: 'gc', className: 'GCBlock', kind: 'context-mask' }), 'GCBlock global-context mask at layer gc.');
  });
});
