#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul login` for a Microsoft-365-like provider (device code flow by default) when the
organisation's Conditional Access blocks the device code flow: mailhaul must say so and sign
in through the browser instead (authorization code + PKCE, loopback redirect).

Real parts: the local authorization server (tests/oauth/server.mjs, oidc-provider) with
device_blocked on, which answers a device-code poll as Entra ID does once the user has signed
in (HTTP 400 invalid_grant "AADSTS53003: Access has been blocked by Conditional Access
policies..."; the sources are in server.mjs), and a Dovecot that checks its tokens by
introspection and, like Exchange, offers XOAUTH2 only. The user is tests/oauth/fake-browser.py
as $BROWSER, acting on the server's real pages.

Cases: a blocked device code falls back to the browser sign-in, stores the tokens and
`check` logs in with them; an unrelated device error (the user denies the code) does not fall
back: exit 16, no authorization URL opened, nothing stored.
"""
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from mhtest import certs, cleanup, cli, dovecot, imapcheck, oauth, tap

ACCOUNT = 'm365like:alice'
SCOPE = oauth.MICROSOFT_SCOPES[0]
BLOCKED_RE = r'(?i)organi[sz]ation blocks the device code sign-in'
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki, \
            oauth.OAuthServer(device_interval=1, device_blocked=True) as idp:
        dv = dovecot.Dovecot(pki, users={'alice': 'alice-pw'},
                             mechanisms='plain login xoauth2',
                             extra_conf=oauth.dovecot_extra_conf(idp))
        with dovecot.running(dv):
            dv.preload('alice', {'INBOX': [imapcheck.make_message(n) for n in range(1, 4)]})
            S.update(pki=pki, idp=idp, dv=dv)
            yield


def config_text():
    return S['idp'].provider_section('m365like', S['dv'], SCOPE)


class Home:
    """Private HOME and XDG directories, the config file and the fake browser's log."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix='mhtest-oauth-fallback-%s-' % name)
        cleanup.register(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        for sub in ('home', 'config', 'state', 'data', 'cache', 'runtime'):
            os.mkdir(os.path.join(self.dir, sub), 0o700)
        self.config = os.path.join(self.dir, 'mailhaul.ini')
        with open(self.config, 'w') as f:
            f.write(config_text())
        self.browser_log = os.path.join(self.dir, 'browser.log')

    def env(self, extra=None):
        env = {name: os.path.join(self.dir, sub) for name, sub in (
            ('HOME', 'home'), ('XDG_CONFIG_HOME', 'config'), ('XDG_STATE_HOME', 'state'),
            ('XDG_DATA_HOME', 'data'), ('XDG_CACHE_HOME', 'cache'),
            ('XDG_RUNTIME_DIR', 'runtime'))}
        env.update(extra or {})
        return env

    def browser_env(self, deny=False):
        env = {'BROWSER': oauth.FAKE_BROWSER, 'MHTEST_BROWSER_LOGIN': 'alice',
               'MHTEST_BROWSER_LOG': self.browser_log}
        if deny:
            env['MHTEST_BROWSER_DENY'] = '1'
        return env

    def run(self, *args, env=None, timeout=60):
        argv = [str(args[0]), '--config', self.config] + [str(a) for a in args[1:]]
        return cli.run(argv, env=self.env(env), timeout=timeout)

    def login(self, env, timeout=45):
        """`mailhaul login ACCOUNT` with stdin a pipe (not a terminal), as the user's
        browser does the rest; stdout and stderr are read while it runs."""
        argv = [cli.binary(), 'login', '--config', self.config, ACCOUNT]
        t0 = time.monotonic()
        p = subprocess.Popen(argv, env=cli.environment(self.env(env)), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def kill():
            if p.poll() is None:
                p.kill()
                p.wait()

        handle = cleanup.register(kill)
        out, err = [], []
        readers = [threading.Thread(target=lambda f=f, into=into: into.append(f.read()),
                                    daemon=True)
                   for f, into in ((p.stdout, out), (p.stderr, err))]
        for t in readers:
            t.start()
        timed_out = False
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill()
        finally:
            cleanup.unregister(handle)
        for t in readers:
            t.join(10)
        r = cli.Result(argv, p.returncode, b''.join(out), b''.join(err),
                       time.monotonic() - t0)
        if timed_out:
            tap.fail('mailhaul login did not finish within %d s\n%s\nbrowser log:\n%s' %
                     (timeout, r, self.browser_lines()))
        return r

    def browser_lines(self, wait_for=0, timeout=10):
        """The fake browser's log lines (it works detached: wait for wait_for lines)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(self.browser_log) as f:
                    lines = [line.rstrip('\n') for line in f if line.strip()]
            except OSError:
                lines = []
            if len(lines) >= wait_for or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)

    def stored_tokens(self):
        """Token-like strings in the file token store."""
        found = set()
        root = os.path.join(self.dir, 'data', 'mailhaul', 'secrets')
        if os.path.isdir(root):
            for n in os.listdir(root):
                with open(os.path.join(root, n), 'rb') as f:
                    found |= {m.group(0).decode() for m in
                              re.finditer(rb'[A-Za-z0-9_\-.~+/]{30,}', f.read())}
        return {t for t in found if not t.startswith(('http', '/'))}


def opened(lines, what):
    """The browser log lines for device pages ('device') or authorization URLs ('auth')."""
    idp = S['idp']
    prefix = 'open ' + (idp.verification_uri if what == 'device'
                        else idp.authorization_endpoint + '?')
    return [line for line in lines if line.startswith(prefix)]


@tap.test
def blocked_device_code_falls_back_to_browser_sign_in():
    home = Home('blocked')
    r = home.login(home.browser_env())
    blog = home.browser_lines(wait_for=2)
    if r.code != 0:
        tap.fail('login did not succeed through the fallback\n%s\nbrowser log:\n%s' %
                 (r, '\n'.join(blog)))
    tap.match(r'^Signed in as alice\b', r.stdout, 'stdout of login')
    # The device flow ran first (the code was shown and the user signed in for it) ...
    tap.contains('enter the code', r.stdout, 'stdout of login (device flow first)')
    device = opened(blog, 'device')
    tap.eq(len(device), 1, 'device pages opened in the browser (log: %r)' % blog)
    tap.match(r' -> device \S+ approved$', device[0], 'browser log (device page)')
    # ... then the one line that names the block, and the browser sign-in.
    said = [line for line in r.stderr.splitlines() if re.search(BLOCKED_RE, line)]
    tap.eq(len(said), 1, 'stderr lines saying the organisation blocks the device code '
           'sign-in\n%s' % r)
    tap.contains('AADSTS53003', said[0], 'the Conditional Access line')
    tap.not_contains('expired or was revoked', said[0], 'the Conditional Access line')
    tap.not_contains('Trace ID', said[0], 'the Conditional Access line (no trace ids)')
    auth = opened(blog, 'auth')
    tap.eq(len(auth), 1, 'authorization URLs opened in the browser (log: %r)' % blog)
    tap.match(r' -> redirected http://(127\.0\.0\.1|\[::1\]|localhost):\d+/?\?\S*code=',
              auth[0], 'browser log (loopback redirect with a code)')
    tap.check(blog.index(device[0]) < blog.index(auth[0]),
              'the authorization URL was opened before the device page: %r' % blog)
    tokens = home.stored_tokens()
    tap.check(tokens, 'no token in the file store after login\n%s' % r)
    for t in tokens:
        tap.not_contains(t, r.stdout + r.stderr, 'output of login (a stored token)')
    S['home'] = home


@tap.test
def check_logs_in_with_the_fallback_token():
    home = S.get('home')
    if home is None:
        tap.fail('the fallback sign-in did not store a token')
    r = home.run('token', ACCOUNT)
    cli.expect_ok(r)
    info = oauth.introspect(S['idp'], r.stdout.strip())
    tap.eq((info.get('active'), info.get('email')), (True, 'alice'),
           'introspection of the stored token (active, user)')
    r = home.run('check', ACCOUNT)
    cli.expect_ok(r)
    tap.match(r'^Authenticated as alice with XOAUTH2\s*$', r.stdout, 'stdout of check')


@tap.test
def denied_device_code_does_not_fall_back():
    home = Home('denied')
    r = home.login(home.browser_env(deny=True))
    blog = home.browser_lines(wait_for=1)
    cli.expect_error(r, cli.EXIT_AUTH, 'denied')
    tap.check(not re.search(BLOCKED_RE, r.stderr),
              'a denied device code was taken for a Conditional Access block\n%s' % r)
    device = opened(blog, 'device')
    tap.eq(len(device), 1, 'device pages opened in the browser (log: %r)' % blog)
    tap.match(r' -> device \S+ denied$', device[0], 'browser log (device page)')
    # Give a wrongly started browser sign-in time to show in the log.
    time.sleep(1)
    tap.eq(opened(home.browser_lines(), 'auth'), [],
           'authorization URLs opened after a denied device code')
    tap.eq(home.stored_tokens(), set(), 'tokens stored after a denied sign-in')


if __name__ == '__main__':
    why = oauth.available()
    if why:
        print('1..0 # SKIP %s' % why)
        sys.exit(0)
    tap.main(setup=setup, requires=('dovecot', 'openssl'))
