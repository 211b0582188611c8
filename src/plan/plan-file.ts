import { Ajv } from 'ajv';
import { createHash } from 'node:crypto';
import { CONTROL_IDS } from '../controls/index.js';
import { UsageError } from '../errors.js';
import type { PlanFile } from './types.js';

const sha = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const change = {
  type: 'object',
  required: ['control', 'path', 'action', 'before', 'after', 'diff', 'restart', 'durable', 'notes'],
  properties: {
    control: { enum: CONTROL_IDS },
    controls: { type: 'array', items: { enum: CONTROL_IDS }, minItems: 2 },
    path: { type: 'string', pattern: '^/' },
    action: { enum: ['modify', 'create'] },
    before: {
      anyOf: [{ type: 'null' }, { type: 'object', required: ['sha256'], properties: { sha256: sha } }],
    },
    after: {
      type: 'object',
      required: ['sha256', 'content'],
      properties: { sha256: sha, content: { type: 'string' } },
    },
    diff: { type: 'string' },
    restart: { enum: ['kubelet', 'kubelet+daemon-reload', 'static-pod:kube-apiserver'] },
    durable: { type: 'boolean' },
    notes: { type: 'array', items: { type: 'string' } },
  },
} as const;
const schema = {
  type: 'object',
  required: ['version', 'tool', 'createdAt', 'nodes'],
  properties: {
    version: { const: 1 },
    tool: { type: 'string' },
    createdAt: { type: 'string' },
    controls: { type: 'array', items: { enum: CONTROL_IDS }, minItems: 1 },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['node', 'host', 'port', 'hostKey', 'status', 'changes', 'blocked'],
        properties: {
          node: { type: 'string', minLength: 1 },
          host: { type: 'string' },
          port: { type: 'integer' },
          hostKey: { type: ['string', 'null'] },
          status: { enum: ['compliant', 'change', 'blocked', 'error'] },
          changes: { type: 'array', items: change },
          blocked: { type: 'array' },
          cluster: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$' },
          // What apply's trust gate dials: checked, since a plan file is input.
          trust: {
            type: 'object',
            properties: {
              kubelet: {
                type: 'object',
                required: ['port', 'clientCA'],
                properties: {
                  port: { type: 'integer', minimum: 1, maximum: 65535 },
                  clientCA: { enum: ['now', 'planned'] },
                },
              },
            },
          },
          issue: {
            type: 'array',
            items: {
              type: 'object',
              required: ['control', 'certificate', 'key', 'caCertificate', 'caKey', 'subject', 'days'],
              properties: {
                certificate: { type: 'string', pattern: '^/' },
                key: { type: 'string', pattern: '^/' },
                caCertificate: { type: 'string', pattern: '^/' },
                caKey: { type: 'string', pattern: '^/' },
                subject: { type: 'string', pattern: '^(/[A-Za-z]+=[^/]+)+$' },
                days: { type: 'integer', minimum: 1, maximum: 3650 },
              },
            },
          },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/**
 * Reads a saved plan. A plan whose content was altered after it was made (after.content no longer
 * matches after.sha256) is refused like a malformed one: apply writes exactly what was reviewed.
 */
export function parsePlanFile(file: string, text: string): PlanFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`plan ${file} is not JSON: ${(e as Error).message}`, [
      'make it with kubemend plan --out FILE',
    ]);
  }
  if (!validate(data)) {
    throw new UsageError(
      `plan ${file} is not a kubemend plan (version 1)`,
      (validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '(top)'} ${e.message ?? ''}`),
    );
  }
  const plan = data as unknown as PlanFile;
  const problems: string[] = [];
  for (const n of plan.nodes)
    for (const c of n.changes)
      if (createHash('sha256').update(c.after.content).digest('hex') !== c.after.sha256)
        problems.push(
          `${n.node} ${c.path}: the content does not match its sha256 (the plan was edited after review)`,
        );
  const names = plan.nodes.map((n) => n.node);
  for (const dup of names.filter((n, i) => names.indexOf(n) !== i))
    problems.push(`node ${dup} appears twice`);
  if (problems.length > 0) throw new UsageError(`plan ${file} cannot be applied`, problems);
  return plan;
}

/**
 * A plan made by another kubemend version is refused, not misread: its entries would be judged
 * by another planner (and may lack what this version's apply relies on).
 */
export function refuseOtherVersion(file: string, plan: PlanFile, tool: string): void {
  if (plan.tool !== tool)
    throw new UsageError(`plan ${file} was made by ${plan.tool}; this is ${tool}`, [
      `apply it with ${plan.tool}, or make a new plan with this version (kubemend plan --out NEW.plan.json) and review that`,
    ]);
}
