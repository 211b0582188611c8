import { UNSUPPORTED_LAYOUTS, type Layout } from '../facts/layout.js';
import type { ControlCheck } from './types.js';

/** A layout kubemend does not support is a skip for every control, with the reason. */
export function unsupportedSkip(layout: Layout | null): ReturnType<ControlCheck['check']> | undefined {
  const unsupported = layout ? UNSUPPORTED_LAYOUTS.get(layout) : undefined;
  return unsupported
    ? {
        status: 'skip',
        reason: `${layout} nodes are not supported: ${unsupported}`,
        evidence: [],
        warnings: [],
      }
    : undefined;
}
