import { describe, expect, it } from 'vitest';
import { CONTROLS, DEFAULT_CONTROLS, resolveControls } from '../../../src/controls/index.js';

describe('--controls', () => {
  it('without a list selects the default controls; `all` selects every control, opt-in ones too', () => {
    expect(resolveControls(undefined).controls).toEqual(DEFAULT_CONTROLS);
    expect(DEFAULT_CONTROLS.every((c) => !c.optIn)).toBe(true);
    const all = resolveControls('all');
    expect(all.unknown).toEqual([]);
    expect(all.controls.map((c) => c.id)).toEqual(CONTROLS.map((c) => c.id));
    // Named twice (an id and `all`): each once, in the registry's order for `all`.
    expect(resolveControls('kubelet-client-ca,all').controls).toHaveLength(CONTROLS.length);
  });
});
