/** JSON Schema of a playbook file (and of an inventory node's `params`, which may set any part). */
const path = { type: 'string', pattern: '^/', description: 'an absolute path on the node' } as const;

export const playbookSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kubelet'],
  properties: {
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    layouts: { type: 'array', items: { type: 'string' } },
    apiserver: {
      type: 'object',
      additionalProperties: false,
      required: ['kubeletClientCertificate', 'kubeletClientKey'],
      properties: {
        kubeletClientCertificate: path,
        kubeletClientKey: path,
        fix: { type: 'string' },
        issue: {
          type: 'object',
          additionalProperties: false,
          required: ['caCertificate', 'caKey', 'subject'],
          properties: {
            caCertificate: path,
            caKey: path,
            subject: { type: 'string', pattern: '^(/[A-Za-z]+=[^/]+)+$' },
            days: { type: 'integer', minimum: 1, maximum: 3650 },
          },
        },
      },
    },
    kubelet: {
      type: 'object',
      additionalProperties: false,
      required: ['clientCAFile'],
      properties: {
        clientCAFile: path,
        dropInName: { type: 'string', pattern: '^[^/]+\\.conf$' },
        durabilityNote: { type: 'string' },
      },
    },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      properties: {
        kubeletHealthySec: { type: 'integer', minimum: 1 },
        kubeletStableSec: { type: 'integer', minimum: 0 },
        apiserverRestartSec: { type: 'integer', minimum: 1 },
      },
    },
    rollout: {
      type: 'object',
      additionalProperties: false,
      properties: { serial: { type: 'integer', minimum: 1 } },
    },
  },
} as const;
