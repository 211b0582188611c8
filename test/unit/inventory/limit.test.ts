import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { selectNodes } from '../../../src/inventory/load.js';
import type { NodeTarget } from '../../../src/inventory/types.js';

function node(name: string, groups: string[] = []): NodeTarget {
  return {
    name,
    host: name,
    port: 22,
    user: 'admin',
    become: 'none',
    proxyJump: [],
    knownHostsFile: '/home/admin/.ssh/known_hosts',
    groups,
    params: {},
    source: { file: 'inventory.yaml', line: 1 },
  };
}

const nodes = [
  node('cp-1', ['prod', 'control-plane']),
  node('w-1', ['prod', 'workers']),
  node('w-2', ['prod', 'workers', 'gpu']),
  node('w-3', ['staging', 'workers']),
  node('lab-a'),
];

const names = (selected: NodeTarget[]): string[] => selected.map((n) => n.name);

function limitError(limit: string): UsageError {
  try {
    selectNodes(nodes, limit);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`--limit ${limit} did not fail`);
}

describe('--limit', () => {
  it('selects every node when absent or empty', () => {
    expect(names(selectNodes(nodes, undefined))).toEqual(['cp-1', 'w-1', 'w-2', 'w-3', 'lab-a']);
    expect(names(selectNodes(nodes, ' '))).toHaveLength(5);
  });

  it('selects by node name and by group, in inventory order', () => {
    expect(names(selectNodes(nodes, 'w-3,cp-1'))).toEqual(['cp-1', 'w-3']);
    expect(names(selectNodes(nodes, 'gpu'))).toEqual(['w-2']);
    expect(names(selectNodes(nodes, 'staging, lab-a'))).toEqual(['w-3', 'lab-a']);
  });

  it('accepts globs: *, ? and [abc]', () => {
    expect(names(selectNodes(nodes, 'w-*'))).toEqual(['w-1', 'w-2', 'w-3']);
    expect(names(selectNodes(nodes, 'w-?'))).toEqual(['w-1', 'w-2', 'w-3']);
    expect(names(selectNodes(nodes, 'w-[13]'))).toEqual(['w-1', 'w-3']);
    expect(names(selectNodes(nodes, 'w-[!1]'))).toEqual(['w-2', 'w-3']);
    expect(names(selectNodes(nodes, 'stag*'))).toEqual(['w-3']);
  });

  it('excludes with !, alone or after other patterns', () => {
    expect(names(selectNodes(nodes, 'workers,!gpu'))).toEqual(['w-1', 'w-3']);
    expect(names(selectNodes(nodes, '!prod'))).toEqual(['w-3', 'lab-a']);
    expect(names(selectNodes(nodes, 'prod,!w-*'))).toEqual(['cp-1']);
  });

  it('treats all as every node', () => {
    expect(names(selectNodes(nodes, 'all,!lab-a'))).toEqual(['cp-1', 'w-1', 'w-2', 'w-3']);
  });

  it('fails on a pattern that matches nothing, naming it and the groups there are', () => {
    const error = limitError('prod,wrokers');
    expect(error.message).toBe("--limit pattern 'wrokers' matches no node or group");
    expect(error.details).toEqual([
      "'wrokers': did you mean 'workers'?",
      'available groups: prod, control-plane, workers, gpu, staging',
      'nodes: cp-1, w-1, w-2, w-3, lab-a',
    ]);
  });

  it('fails on an exclusion that matches nothing, and lists every unmatched pattern', () => {
    const error = limitError('db-*,!stagign');
    expect(error.message).toBe("--limit patterns 'db-*', '!stagign' match no node or group");
    expect(error.details).toContain("'!stagign': did you mean '!staging'?");
  });

  it('fails when the exclusions remove everything', () => {
    expect(limitError('gpu,!w-2').message).toBe("--limit 'gpu,!w-2' leaves no node selected");
  });
});
