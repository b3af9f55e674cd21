#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A token without the scope the server requires: Dovecot's oauth2 passdb is told to
require a scope the sign-in did not ask for, so the real server refuses the real token;
mailhaul must end with exit 16 and the server's reason, without retrying forever and
without printing the token."""
import contextlib
import os
import re
import subprocess
import tempfile

from mhtest import certs, dovecot, oauth, tap

MAILHAUL = os.environ.get('MAILHAUL', 'build/src/mailhaul')
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki, oauth.OAuthServer(access_token_ttl=60) as idp:
        dv = dovecot.Dovecot(pki, users={'alice': 'unused'},
                             **oauth.dovecot_options(idp, scope='https://example.com/other'))
        with dovecot.running(dv), tempfile.TemporaryDirectory(prefix='mh-scope-') as tmp:
            cfg = os.path.join(tmp, 'config.ini')
            with open(cfg, 'w') as f:
                f.write('[provider idp]\nimap-host = 127.0.0.1\nimap-port = %d\nimap-tls = ssl\n'
                        'cafile = %s\ntoken-url = %s\ndevice-url = %s\nscopes = %s\n'
                        'client-id = %s\nflow = device\ntoken-store = file\n' % (
                            dv.imaps_port, dv.cafile, idp.token_endpoint,
                            idp.device_authorization_endpoint, oauth.GOOGLE_SCOPE,
                            idp.native_client_id))
            env = dict(os.environ, HOME=tmp, XDG_DATA_HOME=tmp + '/data',
                       XDG_STATE_HOME=tmp + '/state', XDG_CONFIG_HOME=tmp + '/config')
            S.update(idp=idp, dv=dv, cfg=cfg, env=env)
            yield


def run(*args):
    return subprocess.run([MAILHAUL] + list(args), capture_output=True, text=True,
                          env=S['env'], stdin=subprocess.DEVNULL, timeout=120)


@tap.test
def token_without_required_scope_is_refused_clearly():
    p = subprocess.Popen([MAILHAUL, 'login', 'idp:alice', '--config', S['cfg']],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=S['env'], stdin=subprocess.DEVNULL)
    code = None
    for line in p.stdout:
        m = re.search(r'enter the code (\S+)', line)
        if m:
            code = m.group(1)
            break
    tap.check(code is not None, 'login showed no device code')
    oauth.approve_device(S['idp'], code, 'alice')
    out, err = p.communicate(timeout=60)
    tap.eq(p.returncode, 0, 'login exit code\n' + err)
    token = run('token', 'idp:alice', '--config', S['cfg']).stdout.strip()
    tap.check(len(token) > 10, 'no token stored')
    r = run('check', 'idp:alice', '--config', S['cfg'])
    tap.eq(r.returncode, 16, 'exit code of check with a token lacking the scope\n' + r.stderr)
    errors = [l for l in r.stderr.splitlines() if l.startswith('mailhaul: error: ')]
    tap.eq(len(errors), 1, 'one error line:\n' + r.stderr)
    tap.check('authentication as alice' in errors[0] and 'failed' in errors[0],
              'the error does not say the authentication failed: ' + errors[0])
    tap.check(token not in r.stdout + r.stderr, 'the token appeared in the output')


if __name__ == '__main__':
    reason = oauth.available()
    if reason is not None:
        print('1..0 # SKIP %s' % reason)
    else:
        tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
