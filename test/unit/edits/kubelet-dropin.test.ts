import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { EditError, renderClientCADropIn, setKubeletClientCA } from '../../../src/edits/index.js';
import { expectGolden, template } from './helpers.js';

const CA = '/etc/kubernetes/pki/ca.crt';

describe('renderClientCADropIn', () => {
  it('renders templates/kubelet-client-ca.dropin.yaml: header comment, apiVersion/kind, only clientCAFile', () => {
    const out = renderClientCADropIn(template('kubelet-client-ca.dropin.yaml'), CA, 'yaml');
    expectGolden('templates/kubelet-client-ca.dropin.yaml', out);
    expect(out).toMatch(/^# Written by kubemend/);
    expect(parseDocument(out).toJS()).toEqual({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      authentication: { x509: { clientCAFile: CA } },
    });
    // The rendered file is already what setKubeletClientCA would want.
    expect(setKubeletClientCA(out, CA, 'yaml').changed).toBe(false);
  });

  it('renders templates/kubelet-client-ca.dropin.json', () => {
    const out = renderClientCADropIn(template('kubelet-client-ca.dropin.json'), CA, 'json');
    expectGolden('templates/kubelet-client-ca.dropin.json', out);
    expect(JSON.parse(out)).toEqual({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      authentication: { x509: { clientCAFile: CA } },
    });
    expect(setKubeletClientCA(out, CA, 'json').changed).toBe(false);
  });

  it.each(['yaml', 'json'] as const)('quotes paths that need it (%s)', (format) => {
    const ca = '/ca dir/#1 "x".crt';
    const out = renderClientCADropIn(template(`kubelet-client-ca.dropin.${format}`), ca, format);
    const parsed = (format === 'json' ? JSON.parse(out) : parseDocument(out).toJS()) as {
      authentication: { x509: { clientCAFile: string } };
    };
    expect(parsed.authentication.x509.clientCAFile).toBe(ca);
  });

  it('refuses a template without the placeholder or with other settings', () => {
    expect(() => renderClientCADropIn('kind: KubeletConfiguration\n', CA, 'yaml')).toThrow(/placeholder/);
    expect(() =>
      renderClientCADropIn(
        'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\nauthentication: {x509: {clientCAFile: "{{clientCAFile}}"}}\n',
        CA,
        'yaml',
      ),
    ).toThrow(EditError);
    expect(() => renderClientCADropIn(template('kubelet-client-ca.dropin.json'), '', 'json')).toThrow(
      EditError,
    );
  });
});
