import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import {
  EditError,
  renderKubeletDropIn,
  setKubeletClientCA,
  setKubeletConfigValue,
} from '../../../src/edits/index.js';
import { clientCADropIn, expectGolden, template } from './helpers.js';

const CA = '/etc/kubernetes/pki/ca.crt';

describe('renderKubeletDropIn', () => {
  it('renders the client CA drop-in from templates/kubelet.dropin.yaml: header comment, apiVersion/kind, only clientCAFile', () => {
    const out = clientCADropIn(CA, 'yaml');
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

  it('renders the client CA drop-in from templates/kubelet.dropin.json', () => {
    const out = clientCADropIn(CA, 'json');
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
    const out = clientCADropIn(ca, format);
    const parsed = (format === 'json' ? JSON.parse(out) : parseDocument(out).toJS()) as {
      authentication: { x509: { clientCAFile: string } };
    };
    expect(parsed.authentication.x509.clientCAFile).toBe(ca);
  });

  it('refuses a template with other settings, and an empty value', () => {
    expect(() =>
      clientCADropIn(
        CA,
        'yaml',
        'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n',
      ),
    ).toThrow(EditError);
    expect(() => clientCADropIn('', 'json')).toThrow(EditError);
  });

  it.each(['yaml', 'json'] as const)(
    'renders any setting, a boolean as a boolean, and a second one is an edit of the same file (%s)',
    (format) => {
      const anonymous = {
        path: ['authentication', 'anonymous', 'enabled'],
        value: false,
        expect: 'true or false',
      };
      const out = renderKubeletDropIn(
        template(`kubelet.dropin.${format}`),
        anonymous,
        ['turn anonymous requests off.'],
        format,
      );
      const both = setKubeletConfigValue(
        out,
        { path: ['authorization', 'mode'], value: 'Webhook', expect: 'a mode' },
        format,
      ).content;
      const read = (t: string) => (format === 'json' ? JSON.parse(t) : parseDocument(t).toJS()) as unknown;
      expect(read(both)).toEqual({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        authentication: { anonymous: { enabled: false } },
        authorization: { mode: 'Webhook' },
      });
      if (format === 'yaml') expect(out).toMatch(/^# Written by kubemend to turn anonymous requests off\.$/m);
      expect(out).not.toMatch(/client.?ca/i);
    },
  );
});
