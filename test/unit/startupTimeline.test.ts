import * as assert from 'node:assert/strict';
import { StartupTimeline, startupLine } from '../../src/extension/startupTimeline';
import type { EngineInfo, ExplainResultPayload } from '../../src/shared/protocol';

describe('start-up timeline', () => {
  it('splits the first command → overlay into engine, model, first method and painting, once', () => {
    let now = 1000;
    const t = new StartupTimeline(() => now);
    now = 1040;
    t.activated();
    assert.equal(t.painted(), undefined, 'nothing to report before a command');
    now = 5000;
    t.command();
    now = 5600;
    t.webviewReady({ scriptMs: 120, mountedMs: 180 });
    now = 5900;
    t.engineStarted({ backend: 'wasm', description: '', pid: 1, startup: { processMs: 300, backendMs: 450 } } as EngineInfo, 880);
    const result = { methods: [{ method: 'gradcam', ms: 60 }], modelLoad: { modelMs: 200, nativeMs: 350 } } as unknown as ExplainResultPayload;
    t.resultArrived({ ...result, methods: [] } as ExplainResultPayload); // no overlay yet: not the first result
    now = 6700;
    t.resultArrived(result);
    now = 6800;
    t.resultArrived({ ...result, modelLoad: undefined });
    now = 6850;
    const r = t.painted()!;
    assert.deepEqual(r, {
      activation_ms: 40, activation_to_command_ms: 4000, command_to_paint_ms: 1850,
      command_to_webview_ms: 600, webview_script_ms: 120, webview_mounted_ms: 180, command_to_engine_ms: 900, engine_ms: 880, engine_process_ms: 300, backend_ms: 450, model_ms: 200, native_ms: 350,
      first_method: 'gradcam', first_method_ms: 60, command_to_result_ms: 1700, result_to_paint_ms: 150,
    });
    assert.equal(startupLine(r), 'start-up: first overlay 1.85 s after the command · webview loaded at 0.60 s (its bundle ran 0.12 s and the app mounted 0.18 s into its document) · engine ready at 0.90 s (start 0.88 s: code 0.30 s, backend 0.45 s) · model 0.20 s + ONNX Runtime 0.35 s · gradcam 0.06 s · first result at 1.70 s, painted 0.15 s later · activation 0.04 s');
    now = 9000;
    t.command();
    assert.equal(t.painted(), undefined, 'reported once per session');
  });
});
