#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The OAuth2 test infrastructure itself, without mailhaul: the local authorization server
(tests/oauth/server.mjs, oidc-provider) with every grant mailhaul uses, the helpers that act as
the user on its real pages (and tests/oauth/fake-browser.py as $BROWSER), and a Dovecot whose
oauth2 passdb checks XOAUTH2 and OAUTHBEARER tokens by introspection at that server."""
import contextlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from mhtest import certs, dovecot, oauth, tap

S = {}


@contextlib.contextmanager
def setup():
    work = tempfile.mkdtemp(prefix='mhtest-oauth-infra-')
    try:
        key, pub = oauth.make_rsa_key(work, 'sa')
        other_key, _ = oauth.make_rsa_key(work, 'other')
        with certs.TestPKI() as pki, \
                oauth.OAuthServer(access_token_ttl=60, device_interval=1,
                                  jwt_public_key=pub) as idp:
            dv = dovecot.Dovecot(pki, users={'alice': 'alice-pw', 'bob': 'bob-pw'},
                                 **oauth.dovecot_options(idp))
            with dovecot.running(dv):
                S.update(idp=idp, dv=dv, key=key, other_key=other_key, work=work)
                yield
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def loopback_listener():
    """A client's redirect listener on 127.0.0.1:<ephemeral>: yields (redirect_uri, hits)."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = b'You can close this window.\n'
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(('127.0.0.1', 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield 'http://127.0.0.1:%d/' % srv.server_address[1], hits
    finally:
        srv.shutdown()
        srv.server_close()


def imap_auth(user, mech, token, answer=None):
    """AUTHENTICATE mech at the oauth Dovecot; returns (ok, challenges seen, error text)."""
    return oauth.imap_authenticate(S['dv'], user, mech, token, answer)


@tap.test
def device_flow_gives_token():
    idp = S['idp']
    d = oauth.device_authorize(idp)
    tap.eq(d.get('interval'), 1, 'interval in the device authorization response')
    tap.check(d['verification_uri'] == idp.verification_uri, d)
    status, r = oauth.poll_device(idp, d['device_code'])
    tap.eq((status, r.get('error')), (400, 'authorization_pending'), 'before approval')
    oauth.approve_device(idp, d['user_code'], 'alice')
    time.sleep(d['interval'])
    status, r = oauth.poll_device(idp, d['device_code'])
    tap.eq(status, 200, 'token after approval: %s' % r)
    tap.check(r.get('access_token') and r.get('refresh_token'), 'tokens: %s' % r)
    tap.eq(r.get('scope'), oauth.GOOGLE_SCOPE, 'granted scope')
    tap.eq(r.get('token_type'), 'Bearer', 'token type')
    tap.eq(r.get('expires_in'), 60, 'expires_in (the configured TTL)')
    S['device_token'] = r


@tap.test
def device_flow_slow_down_and_denial():
    idp = S['idp']
    d = oauth.device_authorize(idp)
    oauth.poll_device(idp, d['device_code'])
    status, r = oauth.poll_device(idp, d['device_code'])
    tap.eq((status, r.get('error')), (400, 'slow_down'), 'a second poll at once')
    d = oauth.device_authorize(idp)
    oauth.deny_device(idp, d['user_code'])
    status, r = oauth.poll_device(idp, d['device_code'])
    tap.eq((status, r.get('error')), (400, 'access_denied'), 'after the user aborted')


@tap.test
def authorization_code_pkce_loopback():
    idp = S['idp']
    verifier, challenge = oauth.pkce_pair()
    with loopback_listener() as (redirect_uri, hits):
        url = oauth.authorization_url(idp, redirect_uri, challenge, 'st-123')
        final = oauth.approve_authorization(url, 'alice')
        tap.eq(len(hits), 1, 'the browser reached the loopback listener')
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(hits[0]).query)
    tap.eq(q.get('state'), ['st-123'], 'state')
    tap.check('code' in q, 'code in %s' % hits[0])
    tap.check(final.startswith(redirect_uri), 'final URL %s' % final)
    status, r = oauth.exchange_code(idp, q['code'][0], redirect_uri, verifier + 'x')
    tap.eq((status, r.get('error')), (400, 'invalid_grant'), 'wrong verifier')
    status, r = oauth.exchange_code(idp, q['code'][0], redirect_uri, verifier)
    tap.eq(status, 200, 'code exchange: %s' % r)
    tap.check(r.get('access_token') and r.get('refresh_token'), 'tokens: %s' % r)
    tap.eq(oauth.introspect(idp, r['access_token']).get('email'), 'alice', 'user')


@tap.test
def fake_browser_script_as_browser():
    idp = S['idp']
    verifier, challenge = oauth.pkce_pair()
    log = os.path.join(S['work'], 'browser.log')
    with loopback_listener() as (redirect_uri, hits):
        url = oauth.authorization_url(idp, redirect_uri, challenge, 'st-b')
        env = dict(os.environ, MHTEST_BROWSER_LOGIN='bob', MHTEST_BROWSER_LOG=log)
        p = subprocess.run([sys.executable, oauth.FAKE_BROWSER, url], env=env, timeout=30)
        tap.eq(p.returncode, 0, 'fake-browser exit code')
        deadline = time.monotonic() + 15
        while not hits and time.monotonic() < deadline:
            time.sleep(0.05)
        tap.eq(len(hits), 1, 'the detached browser reached the listener')
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(hits[0]).query)
    status, r = oauth.exchange_code(idp, q['code'][0], redirect_uri, verifier)
    tap.eq(status, 200, 'code exchange: %s' % r)
    tap.eq(oauth.introspect(idp, r['access_token']).get('email'), 'bob', 'user')
    with open(log) as f:
        tap.contains('redirected ' + redirect_uri, f.read(), 'browser log')


@tap.test
def refresh_rotates_and_replay_is_refused():
    idp = S['idp']
    tok = oauth.token_for(idp, 'alice')
    status, r = oauth.refresh(idp, tok['refresh_token'])
    tap.eq(status, 200, 'refresh: %s' % r)
    tap.check(r['refresh_token'] != tok['refresh_token'], 'the refresh token rotated')
    tap.check(r['access_token'] != tok['access_token'], 'a new access token')
    status, r2 = oauth.refresh(idp, tok['refresh_token'])
    tap.eq((status, r2.get('error')), (400, 'invalid_grant'), 'replaying the old one')
    status, r3 = oauth.refresh(idp, r['refresh_token'])
    tap.eq((status, r3.get('error')), (400, 'invalid_grant'),
           'the replay revoked the whole grant')


@tap.test
def introspection_and_revocation():
    idp = S['idp']
    tok = oauth.token_for(idp, 'alice')
    info = oauth.introspect(idp, tok['access_token'])
    tap.eq(info.get('active'), True, 'active')
    tap.eq((info.get('email'), info.get('username'), info.get('sub')),
           ('alice', 'alice', 'alice'), 'user claims')
    tap.eq(info.get('scope'), oauth.GOOGLE_SCOPE, 'scope')
    tap.eq(oauth.introspect(idp, 'no-such-token'), {'active': False}, 'unknown token')
    tap.eq(oauth.revoke(idp, tok['refresh_token'], 'refresh_token'), 200, 'revocation')
    status, r = oauth.refresh(idp, tok['refresh_token'])
    tap.eq((status, r.get('error')), (400, 'invalid_grant'), 'revoked refresh token')


@tap.test
def dovecot_accepts_xoauth2():
    ok, seen, err = imap_auth('alice', 'XOAUTH2', S['device_token']['access_token'])
    tap.check(ok, 'XOAUTH2 login failed: %s\n%s' % (err, S['dv'].log_tail()))


@tap.test
def dovecot_accepts_oauthbearer():
    ok, seen, err = imap_auth('alice', 'OAUTHBEARER', S['device_token']['access_token'])
    tap.check(ok, 'OAUTHBEARER login failed: %s\n%s' % (err, S['dv'].log_tail()))


@tap.test
def dovecot_rejects_bad_token_xoauth2():
    ok, seen, err = imap_auth('alice', 'XOAUTH2', 'not-a-valid-token', answer=b'')
    tap.check(not ok, 'a bad token was accepted')
    tap.eq(len(seen), 2, 'an error continuation after the token')
    tap.check(json.loads(seen[1].decode()).get('status'), 'JSON challenge: %r' % seen[1])
    tap.contains('[AUTHENTICATIONFAILED]', err, 'tagged NO')


@tap.test
def dovecot_rejects_bad_token_oauthbearer():
    ok, seen, err = imap_auth('alice', 'OAUTHBEARER', 'not-a-valid-token', answer=b'\x01')
    tap.check(not ok, 'a bad token was accepted')
    tap.eq(len(seen), 2, 'an error continuation after the token')
    tap.check(json.loads(seen[1].decode()).get('status'), 'JSON challenge: %r' % seen[1])
    tap.contains('[AUTHENTICATIONFAILED]', err, 'tagged NO')


@tap.test
def dovecot_rejects_other_users_token():
    ok, seen, err = imap_auth('bob', 'XOAUTH2', S['device_token']['access_token'], answer=b'')
    tap.check(not ok, "alice's token logged in as bob")
    tap.contains('[AUTHENTICATIONFAILED]', err, 'tagged NO')


@tap.test
def client_credentials_gives_token():
    idp = S['idp']
    status, r = oauth.client_credentials(idp)
    tap.eq(status, 200, 'client_credentials: %s' % r)
    tap.check(r.get('access_token') and 'refresh_token' not in r, 'tokens: %s' % r)
    tap.eq(r.get('scope'), oauth.MICROSOFT_SCOPES[1], 'scope')
    info = oauth.introspect(idp, r['access_token'])
    tap.eq((info.get('active'), info.get('client_id'), info.get('email')),
           (True, idp.cc_client_id, None), 'introspection (no user)')
    status, r = oauth.token_request(idp, {'grant_type': 'client_credentials'},
                                    auth=(idp.cc_client_id, 'wrong-secret'))
    tap.eq((status, r.get('error')), (401, 'invalid_client'), 'wrong secret')


@tap.test
def jwt_bearer_grant():
    idp = S['idp']
    assertion = oauth.make_jwt(S['key'], oauth.jwt_claims(idp, 'alice'))
    status, r = oauth.jwt_bearer(idp, assertion)
    tap.eq(status, 200, 'jwt-bearer: %s' % r)
    tap.eq(r.get('scope'), oauth.GOOGLE_SCOPE, 'scope')
    info = oauth.introspect(idp, r['access_token'])
    tap.eq((info.get('active'), info.get('email')), (True, 'alice'), 'introspection')
    ok, seen, err = imap_auth('alice', 'XOAUTH2', r['access_token'])
    tap.check(ok, 'XOAUTH2 with the service-account token: %s' % err)


@tap.test
def jwt_bearer_refuses_bad_assertions():
    idp = S['idp']
    claims = oauth.jwt_claims(idp, 'alice')
    cases = {
        'wrong signature': oauth.make_jwt(S['other_key'], claims),
        'expired': oauth.make_jwt(S['key'], dict(claims, iat=claims['iat'] - 7200,
                                                 exp=claims['iat'] - 3600)),
        'wrong audience': oauth.make_jwt(S['key'], dict(claims, aud='https://elsewhere/')),
        'wrong issuer': oauth.make_jwt(S['key'], dict(claims, iss='someone@else')),
    }
    for what, assertion in cases.items():
        status, r = oauth.jwt_bearer(idp, assertion)
        tap.eq((status, r.get('error')), (400, 'invalid_grant'), what)


if __name__ == '__main__':
    why = oauth.available()
    if why:
        print('1..0 # SKIP %s' % why)
        sys.exit(0)
    tap.main(setup=setup, requires=('dovecot', 'openssl'))
