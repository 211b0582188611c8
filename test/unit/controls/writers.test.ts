import { describe, expect, it } from 'vitest';
import { writesFile } from '../../../src/controls/kubelet-client-ca/writers.js';

const CA = '/etc/kubernetes/ca.crt';

describe('which ExecStartPre= writes the client CA', () => {
  it('finds the writes: a redirect, tee, the target of cp/install/mv, dd of=, also inside sh -c', () => {
    for (const line of [
      // Typhoon's line, as its kubelet.service has it.
      `/bin/sh -c "echo $KUBELET_CA | base64 -d > ${CA}"`,
      `/bin/sh -c 'cat /etc/ssl/ca.pem >> ${CA}'`,
      `/usr/bin/tee -a ${CA}`,
      `/bin/cp -f /opt/ca.pem ${CA}`,
      `/usr/bin/install -m 0644 /opt/ca.pem ${CA}`,
      `/bin/sh -c 'test -s ${CA} || mv /tmp/ca.pem ${CA}'`,
      `/bin/dd if=/opt/ca.pem of=${CA}`,
      `-/bin/sh -c "openssl x509 -in /opt/ca.pem 2>/dev/null >${CA}"`,
    ])
      expect(writesFile(line, CA), line).toBe(true);
  });

  it('does not take a read for a write', () => {
    for (const line of [
      `/bin/cp ${CA} /backup/`,
      `/bin/sh -c 'cp ${CA} /backup/ca.crt; echo done > /tmp/x'`,
      `/usr/bin/openssl x509 -in ${CA} -noout`,
      `/bin/sh -c 'cat ${CA} | tee /tmp/copy'`,
      `/bin/dd if=${CA} of=/tmp/ca`,
      `/bin/cp /opt/ca.pem ${CA}.bak`,
      `/bin/mkdir -p /etc/kubernetes`,
    ])
      expect(writesFile(line, CA), line).toBe(false);
  });
});
