import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { optionDefaults, optionProblem, optionUsage, type Descriptor } from '../../src/shared/descriptors';
import { resolveOptions } from '../../src/engine/options';
import { EXPLAINERS } from '../../src/engine/explain/registry';
import { COUNTERFACTUALS, getCounterfactualMethod } from '../../src/engine/explain/counterfactuals/registry';
import { ARCHITECTURES, ATTENTIONS, BACKBONES, getArchitecture } from '../../src/engine/models/zoo';
import { describeEngine } from '../../src/engine/describe';
import { generatedSettings, manifestPath, withGeneratedSettings } from '../../scripts/manifest';
import { runCli } from './helpers';

const LISTS: Record<string, readonly Descriptor[]> = {
  explainers: EXPLAINERS, counterfactuals: COUNTERFACTUALS, backbones: BACKBONES, attentions: ATTENTIONS, architectures: ARCHITECTURES,
};

describe('extension-point descriptors', () => {
  for (const [name, list] of Object.entries(LISTS)) {
    it(`${name}: unique lower-case ids, labels, descriptions, and defaults that satisfy their own schema`, () => {
      const ids = list.map((d) => d.id);
      assert.equal(new Set(ids).size, ids.length, `duplicate ids in ${ids.join(', ')}`);
      for (const d of list) {
        assert.match(d.id, /^[a-z0-9-]+$/);
        assert.ok(d.label && d.description, `${d.id} needs a label and a description`);
        for (const [key, spec] of Object.entries(d.options)) {
          assert.equal(optionProblem(spec, spec.default), undefined, `${d.id}.${key}: default ${String(spec.default)} is outside its own schema`);
          assert.match(key, /^[a-z][a-zA-Z0-9]*$/, `${d.id}.${key}: option keys are camelCase`);
          assert.ok(spec.description, `${d.id}.${key} needs a description`);
        }
      }
    });
  }

  it('architectures are every backbone × {none, each attention kind}, and option keys never collide', () => {
    assert.equal(ARCHITECTURES.length, BACKBONES.length * (ATTENTIONS.length + 1));
    for (const b of BACKBONES) {
      assert.ok(ARCHITECTURES.some((a) => a.id === b.id && !a.attention));
      for (const at of ATTENTIONS) {
        const arch = getArchitecture(`${at.id}-${b.id}`);
        assert.equal(arch.backbone, b);
        assert.equal(arch.attention, at);
        const keys = [...Object.keys(b.options), ...Object.keys(at.options), 'attach'];
        assert.equal(new Set(keys).size, keys.length, `${arch.id}: options ${keys.join(', ')} collide`);
        assert.deepEqual(Object.keys(arch.options).sort(), keys.sort());
      }
    }
  });

  it('resolveOptions: defaults, coercion of flag strings, and one-line errors naming the option and the value', () => {
    const lime = EXPLAINERS.find((e) => e.id === 'lime')!;
    assert.deepEqual(resolveOptions(lime.options, undefined, 'lime'), optionDefaults(lime.options));
    assert.equal(resolveOptions(lime.options, { samples: '200' }, 'lime').samples, 200);
    assert.throws(() => resolveOptions(lime.options, { samples: 1 }, 'lime'), /^XaiLensError: lime: --samples must be an integer >= 2 and <= 100000, got 1$/);
    assert.throws(() => resolveOptions(lime.options, { smaples: 100 }, 'lime'), /lime: unknown option --smaples \(options: samples, kernel-width, lambda, fill, batch, segments, compactness\)/);
    const mnv2 = getArchitecture('mobilenetv2');
    assert.throws(() => mnv2.build({ inputShape: [28, 28, 1], numClasses: 10, options: { stemStride: '3' } }), /mobilenetv2: --stem-stride must be one of auto, 1, 2, got "3"/);
    assert.throws(() => getCounterfactualMethod('wachter'), /unknown counterfactual method "wachter"; available: gradient, growing-spheres, none/);
  });

  it('engine/describe carries every registry entry with its options, and survives JSON', () => {
    const d = JSON.parse(JSON.stringify(describeEngine())) as ReturnType<typeof describeEngine>;
    assert.deepEqual(d.explainers.map((e) => e.id), EXPLAINERS.map((e) => e.id));
    assert.deepEqual(d.counterfactuals.map((c) => c.id), COUNTERFACTUALS.map((c) => c.id));
    assert.deepEqual(d.architectures.map((a) => a.id), ARCHITECTURES.map((a) => a.id));
    assert.deepEqual(d.explainers.find((e) => e.id === 'smoothgrad')!.options.samples, EXPLAINERS.find((e) => e.id === 'smoothgrad')!.options.samples);
    assert.equal(d.architectures.find((a) => a.id === 'cbam-mobilenetv2')!.attention, 'cbam');
  });

  it('package.json settings are the ones generated from the registries (run `npm run manifest` after changing a list)', () => {
    const pkg = JSON.parse(readFileSync(manifestPath(), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(pkg, withGeneratedSettings(pkg));
    const settings = generatedSettings() as Record<string, { enum?: string[]; items?: { enum: string[] }; default?: unknown }>;
    assert.deepEqual(settings['xaiLens.methods'].items!.enum, EXPLAINERS.map((e) => e.id));
    assert.deepEqual(settings['xaiLens.counterfactual'].enum, [...COUNTERFACTUALS.map((c) => c.id), 'none']);
    assert.equal(settings['xaiLens.explainer.lime.samples'].default, 1000);
  });

  it('CLI usage lists every explainer, counterfactual method, architecture and architecture option', async () => {
    const run = await runCli('--help');
    assert.equal(run.code, 0);
    const help = run.out.join('\n');
    assert.ok(help.includes(`--methods ${EXPLAINERS.map((e) => e.id).join(',')}|all`), help);
    assert.ok(help.includes(`--counterfactual ${COUNTERFACTUALS.map((c) => c.id).join('|')}|none`), help);
    assert.ok(help.includes(`--model <${ARCHITECTURES.map((a) => a.id).join('|')}>`), help);
    for (const a of ARCHITECTURES) assert.ok(help.includes(optionUsage(a.backbone.options)), `${a.id}'s backbone options missing from: ${help}`);
    const described = await runCli('describe', '--json');
    assert.equal(described.code, 0);
    assert.deepEqual(JSON.parse(described.out.join('')), JSON.parse(JSON.stringify(describeEngine())));
  });
});
