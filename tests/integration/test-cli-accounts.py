#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The account pieces around sign-in: `provider import-google` and `provider show`, a stored
password for a password account (`login` on the generic provider), and imapsync's
--oauthaccesstoken with a token obtained elsewhere, against real Dovecots and the local
OAuth2 server."""
import contextlib
import json
import os
import stat
import subprocess
import tempfile

from mhtest import certs, dovecot, oauth, tap

MAILHAUL = os.environ.get('MAILHAUL', 'build/src/mailhaul')
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki, oauth.OAuthServer(access_token_ttl=120) as idp, \
            tempfile.TemporaryDirectory(prefix='mh-accounts-') as tmp:
        plain = dovecot.Dovecot(pki, users={'dave': 'Dave-pw-5150'})
        tok = dovecot.Dovecot(pki, users={'alice': 'unused'}, **oauth.dovecot_options(idp))
        with dovecot.running(plain, tok):
            env = dict(os.environ, HOME=tmp, XDG_DATA_HOME=tmp + '/data',
                       XDG_STATE_HOME=tmp + '/state', XDG_CONFIG_HOME=tmp + '/config')
            env.pop('MAILHAUL_CONFIG', None)
            env.pop('MAILHAUL_PASSWORD', None)
            S.update(idp=idp, plain=plain, tok=tok, tmp=tmp, env=env)
            yield


def run(*args, env=None):
    return subprocess.run([MAILHAUL] + list(args), capture_output=True, text=True,
                          env=env or S['env'], stdin=subprocess.DEVNULL, timeout=120)


@tap.test
def import_google_writes_a_private_config():
    secret = 'GOCSPX-not-really-secret-4711'
    path = os.path.join(S['tmp'], 'client_secret.json')
    with open(path, 'w') as f:
        json.dump({'installed': {'client_id': '123-abc.apps.googleusercontent.com',
                                 'client_secret': secret,
                                 'auth_uri': 'https://accounts.google.com/o/oauth2/auth',
                                 'token_uri': 'https://oauth2.googleapis.com/token'}}, f)
    r = run('provider', 'import-google', path)
    tap.eq(r.returncode, 0, 'import-google exit code\n' + r.stderr)
    cfg = os.path.join(S['tmp'], 'config', 'mailhaul', 'config.ini')
    tap.check(os.path.exists(cfg), 'no config file at ' + cfg)
    tap.eq(stat.S_IMODE(os.stat(cfg).st_mode), 0o600, 'mode of the config file')
    text = open(cfg).read()
    tap.check('[provider gmail]' in text and '123-abc.apps.googleusercontent.com' in text,
              'the client id is not in the config file:\n' + text)
    tap.check(secret not in r.stdout + r.stderr, 'the client secret was printed')
    r = run('provider', 'show', 'gmail')
    tap.eq(r.returncode, 0, 'provider show exit code\n' + r.stderr)
    tap.check('123-abc.apps.googleusercontent.com' in r.stdout, 'show lacks the client id')
    tap.check('imap.gmail.com' in r.stdout and 'https://mail.google.com/' in r.stdout,
              'show lacks the built-in endpoint or scope:\n' + r.stdout)
    tap.check(secret not in r.stdout and '(set)' in r.stdout, 'show must hide the secret')


@tap.test
def show_without_client_id_explains_registration():
    r = run('provider', 'show', 'm365')
    tap.eq(r.returncode, 0, 'exit code\n' + r.stderr)
    tap.check('login.microsoftonline.com/common/oauth2/v2.0/token' in r.stdout,
              'the tenant was not filled in:\n' + r.stdout)
    tap.check('IMAP.AccessAsUser.All' in r.stdout and 'client-id' in r.stdout,
              'no registration help:\n' + r.stdout)
    r = run('provider', 'show', 'nosuch')
    tap.eq(r.returncode, 64, 'unknown provider exit code')


@tap.test
def stored_password_is_used_by_check():
    cfg = os.path.join(S['tmp'], 'pw.ini')
    with open(cfg, 'w') as f:
        f.write('[account generic:dave]\nimap-host = 127.0.0.1\nimap-port = %d\nimap-tls = ssl\n'
                'cafile = %s\ntoken-store = file\n' % (S['plain'].imaps_port, S['plain'].cafile))
    env = dict(S['env'], MAILHAUL_PASSWORD='Dave-pw-5150')
    r = run('login', 'generic:dave', '--config', cfg, env=env)
    tap.eq(r.returncode, 0, 'login of a password account\n' + r.stderr)
    r = run('check', 'generic:dave', '--config', cfg)
    tap.eq(r.returncode, 0, 'check with the stored password\n' + r.stderr)
    tap.check('Authenticated as dave' in r.stdout, 'not authenticated:\n' + r.stdout)
    r = run('accounts', '--token-store', 'file')
    tap.check('generic:dave' in r.stdout and 'password' in r.stdout,
              'accounts does not list the stored password:\n' + r.stdout)
    tap.check('Dave-pw-5150' not in r.stdout + r.stderr, 'the password was printed')
    for root, _dirs, files in os.walk(os.path.join(S['tmp'], 'data')):
        for name in files:
            mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
            tap.eq(mode, 0o600, 'mode of ' + name)


@tap.test
def oauthaccesstoken_from_elsewhere():
    token = oauth.token_for(S['idp'], 'alice')['access_token']
    path = os.path.join(S['tmp'], 'token.txt')
    with open(path, 'w') as f:
        f.write(token + '\n')
    base = ['check', '--host', '127.0.0.1', '--port', str(S['tok'].imaps_port), '--ssl',
            '--user', 'alice', '--cafile', S['tok'].cafile]
    for value in (token, path):
        r = run(*(base + ['--oauthaccesstoken', value]))
        tap.eq(r.returncode, 0, '--oauthaccesstoken %s\n%s' % (
            'TOKEN' if value == token else 'FILE', r.stderr))
        tap.check('Authenticated as alice with OAUTHBEARER' in r.stdout, r.stdout)
        tap.check(token not in r.stdout + r.stderr, 'the token was printed')
    r = run(*(base + ['--oauthaccesstoken', 'not-a-valid-token']))
    tap.eq(r.returncode, 16, 'a bad token\n' + r.stderr)


if __name__ == '__main__':
    reason = oauth.available()
    if reason is not None:
        print('1..0 # SKIP %s' % reason)
    else:
        tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
