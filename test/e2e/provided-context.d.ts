import type { LabInfo } from '../lab/lab-info.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The e2e lab, or undefined when the e2e tier is skipped (see global-setup.ts). */
    lab: LabInfo | undefined;
  }
}

export {};
