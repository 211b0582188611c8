import { describe, expect, it } from 'vitest';
import { manifestFlags } from '../../../src/facts/apiserver.js';
import { memoByText } from '../../../src/facts/text-memo.js';

describe('a node file read once per distinct text (issue 23)', () => {
  it('the same path and text: one reading, shared and frozen; another text or path: its own', () => {
    let reads = 0;
    const read = memoByText((path, text) => ({ path, words: text.split(' '), n: ++reads }));
    const a = read('/etc/a', 'x y');
    expect(read('/etc/a', ['x', 'y'].join(' '))).toBe(a);
    expect(reads).toBe(1);
    expect(Object.isFrozen(a.words)).toBe(true);
    expect(read('/etc/b', 'x y').path).toBe('/etc/b');
    expect(read('/etc/a', 'x z').words).toEqual(['x', 'z']);
    expect(reads).toBe(3);
    // A NUL cannot move text into the path's part of the key: each pair gets its own reading.
    expect(read('a\0b', 'c').path).toBe('a\0b');
    expect(read('a', 'b\0c').path).toBe('a');
  });

  it('kube-apiserver manifests: the same flags for the same file on every node', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata: { name: kube-apiserver, namespace: kube-system }\n' +
      'spec:\n  containers:\n  - name: kube-apiserver\n    command: [kube-apiserver, --client-ca-file=/etc/ca.crt]\n';
    const one = manifestFlags('/etc/kubernetes/manifests/kube-apiserver.yaml', text);
    expect(one?.flags.map((f) => f.name)).toEqual(['client-ca-file']);
    expect(manifestFlags('/etc/kubernetes/manifests/kube-apiserver.yaml', `${text}`)).toBe(one);
  });
});
