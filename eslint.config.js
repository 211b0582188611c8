// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The pure layers (decide, show) must not reach for I/O: gather → decide → show → confirm → change.
const pureLayers = [
  'src/facts/**',
  'src/controls/**',
  'src/edits/**',
  'src/plan/**',
  'src/fleet/**',
  'src/report/**',
  // apply's decide files: the rollout (which nodes, in which batches, what stops it, what is
  // printed), a node's outcome, the preflight's verdict and the entry computed again;
  // commands/apply.ts carries them out.
  'src/apply/rollout.ts',
  'src/apply/node-outcome.ts',
  'src/apply/preflight.ts',
  'src/apply/recompute.ts',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/lab/rootfs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: pureLayers,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'node-ssh',
            'ssh2',
            '@inquirer/prompts',
            'node:child_process',
            'node:fs',
            'node:fs/promises',
          ],
          patterns: [
            {
              group: [
                '**/node/**',
                '../node/*',
                '**/commands/**',
                '../commands/*',
                '**/apply/**',
                '../apply/*',
              ],
              message:
                "pure layers (facts, controls, edits, plan, fleet, report, apply's decide files) must not import I/O layers",
            },
          ],
        },
      ],
    },
  },
);
