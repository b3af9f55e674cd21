# SPDX-License-Identifier: MIT
"""A per-run test CA and server certificates, made with the openssl command line.

    with TestPKI() as pki:
        pki.ca            # CA certificate (PEM): what the client gets with --cafile
        pki.server_cert   # signed by the CA, subjectAltName IP:127.0.0.1, DNS:localhost
        pki.server_key
        pki.wrong_cert    # signed by the same CA, names only DNS:wrong.example
        pki.wrong_key
        pki.issue('name', ['DNS:x.example'])  # -> (cert, key) for further tests

Keys are EC P-256 by default (fast to make); key='rsa' makes RSA 2048 keys. The directory is
removed when the context ends (or at exit, see cleanup). Everything is valid for two days.
"""
import os
import shutil
import subprocess
import tempfile

from . import cleanup

GOOD_SANS = ('IP:127.0.0.1', 'DNS:localhost')
WRONG_SANS = ('DNS:wrong.example',)


class PKIError(Exception):
    pass


def _openssl(*args, cwd=None):
    p = subprocess.run(('openssl',) + args, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise PKIError('openssl %s failed (%d): %s' % (' '.join(args), p.returncode,
                                                       p.stderr.decode(errors='replace')))
    return p.stdout


class TestPKI:
    def __init__(self, directory=None, key='ec'):
        self._own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix='mhtest-pki-')
        self.key_type = key
        self._handle = cleanup.register(self.close) if self._own_dir else None
        self._guard = cleanup.Guard(None, [self.dir]) if self._own_dir else None
        self._serial = 0
        try:
            self.ca, self.ca_key = self._make_ca()
            self.server_cert, self.server_key = self.issue('server', GOOD_SANS,
                                                           cn='127.0.0.1')
            self.wrong_cert, self.wrong_key = self.issue('wrong', WRONG_SANS,
                                                         cn='wrong.example')
        except BaseException:
            self.close()
            raise

    def _keyargs(self):
        if self.key_type == 'rsa':
            return ['-newkey', 'rsa:2048']
        return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _make_ca(self):
        cert, key = self._path('ca.pem'), self._path('ca.key')
        _openssl('req', '-x509', *self._keyargs(), '-nodes', '-days', '2',
                 '-subj', '/O=mailhaul tests/CN=mailhaul test CA',
                 '-keyout', key, '-out', cert,
                 '-addext', 'basicConstraints=critical,CA:TRUE',
                 '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
                 '-addext', 'subjectKeyIdentifier=hash')
        return cert, key

    def issue(self, name, sans, cn=None, days=2):
        """Make NAME.key and NAME.pem signed by the CA with the given subjectAltNames."""
        cert, key, csr = self._path(name + '.pem'), self._path(name + '.key'), \
            self._path(name + '.csr')
        ext = self._path(name + '.ext')
        self._serial += 1
        usage = 'digitalSignature,keyEncipherment' if self.key_type == 'rsa' \
            else 'digitalSignature'
        with open(ext, 'w') as f:
            f.write('basicConstraints=critical,CA:FALSE\n'
                    'keyUsage=critical,%s\n'
                    'extendedKeyUsage=serverAuth\n'
                    'subjectKeyIdentifier=hash\n'
                    'authorityKeyIdentifier=keyid,issuer\n'
                    'subjectAltName=%s\n' % (usage, ','.join(sans)))
        _openssl('req', '-new', *self._keyargs(), '-nodes',
                 '-subj', '/O=mailhaul tests/CN=%s' % (cn or name),
                 '-keyout', key, '-out', csr)
        _openssl('x509', '-req', '-in', csr, '-CA', self.ca, '-CAkey', self.ca_key,
                 '-set_serial', str(1000 + self._serial), '-days', str(days),
                 '-extfile', ext, '-out', cert)
        os.unlink(csr)
        os.unlink(ext)
        return cert, key

    def close(self):
        if self._handle is not None:
            cleanup.unregister(self._handle)
            self._handle = None
        if self._own_dir and self.dir and os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._guard is not None:
            self._guard.release()
            self._guard = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
