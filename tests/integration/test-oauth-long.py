#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mailhaul's OAuth2 sign-ins over time and without a user, against the local authorization
server (tests/oauth/server.mjs, oidc-provider) and Dovecots that check its tokens by
introspection.

Cases:
- a sync that outlives a 20-second access token while its source connections are kicked
  (doveadm kick) every few seconds: every reconnect after the expiry must authenticate with
  a refreshed token, without any prompt (stdin closed), and the destination must end up equal
  to the source;
- a Google service account (JWT bearer, --service-account) with the right key and with a key
  the server does not know (exit 16, no key material in the messages);
- Microsoft-style app-only access (client credentials, --app-only): the token is issued but
  Dovecot refuses it as it names no user (exit 16); a wrong client secret is refused too;
- the keyring token store end to end (login, check, accounts) inside a private D-Bus session
  with gnome-keyring (with-keyring.sh); skipped when gnome-keyring is not installed.

Every scenario gets its own HOME and XDG directories and config file (a Home below).
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from mhtest import certs, cleanup, cli, compare, corpus, dovecot, imapcheck, oauth, tap

TTL = 20                     # access token lifetime (seconds) at the main test server
SCOPE = oauth.GOOGLE_SCOPE
LONG_RUN = 27                # seconds the long sync keeps going after the sign-in
KICK_EVERY = 4               # seconds between doveadm kicks of the source connections
RATE = 700 * 1024            # bytes per second per source connection (SlowProxy)
CODE_RE = r'enter the code ([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)'
PROMPT_RE = r'(?i)enter the code|open this url|paste|password:|press enter|\[y/n\]'
WITH_KEYRING = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'with-keyring.sh')
S = {}


# -- setup ----------------------------------------------------------------------------------

@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki, oauth.OAuthServer(access_token_ttl=TTL) as idp:
        # src checks the server's tokens ('/' separator); dst is a password account ('.').
        src = dovecot.Dovecot(pki, users={'alice': 'alice-pw'}, **oauth.dovecot_options(idp))
        dst = dovecot.Dovecot(pki, users={'bob': 'bob-pw-7731'}, separator='.')
        with dovecot.running(src, dst):
            c = corpus.generate(seed=41, scale=300, extra=[(40, 400000)])
            corpus.load(src, 'alice', c.folders, fast=True)
            S.update(pki=pki, idp=idp, src=src, dst=dst, corpus=c)
            yield


def provider_section(name, dv, idp, client_id=None, client_secret=None, store='file'):
    return idp.provider_section(name, dv, SCOPE, client_id, client_secret, store)


class Home:
    """Private HOME and XDG directories plus a config file for one scenario."""

    def __init__(self, name, config_text):
        self.dir = tempfile.mkdtemp(prefix='mhtest-oauth-long-%s-' % name)
        cleanup.register(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        for sub in ('home', 'config', 'state', 'data', 'cache', 'runtime'):
            os.mkdir(os.path.join(self.dir, sub), 0o700)
        self.config = os.path.join(self.dir, 'mailhaul.ini')
        with open(self.config, 'w') as f:
            f.write(config_text)

    def path(self, sub):
        return os.path.join(self.dir, sub)

    @property
    def secrets_dir(self):
        return os.path.join(self.path('data'), 'mailhaul', 'secrets')

    def env(self, extra=None):
        env = {'HOME': self.path('home'), 'XDG_CONFIG_HOME': self.path('config'),
               'XDG_STATE_HOME': self.path('state'), 'XDG_DATA_HOME': self.path('data'),
               'XDG_CACHE_HOME': self.path('cache'), 'XDG_RUNTIME_DIR': self.path('runtime')}
        env.update(extra or {})
        return env

    def argv(self, args):
        args = [str(a) for a in args]
        return args[:1] + ['--config', self.config] + args[1:]

    def run(self, *args, timeout=60):
        # stdin is /dev/null (cli.run): nothing can be answered to a prompt
        return cli.run(self.argv(args), env=self.env(), timeout=timeout)

    def secrets(self):
        out = {}
        if os.path.isdir(self.secrets_dir):
            for n in sorted(os.listdir(self.secrets_dir)):
                p = os.path.join(self.secrets_dir, n)
                if os.path.isfile(p):
                    with open(p, 'rb') as f:
                        out[n] = f.read()
        return out


def login_device(home, idp, account='idp:alice', user='alice'):
    run = cli.Lines([cli.binary()] + home.argv(['login', account]),
                cli.environment(home.env()))
    code = run.wait_for(CODE_RE, what='login %s (device flow)' % account).group(1)
    try:
        oauth.approve_device(idp, code, user)
    except oauth.OAuthError as e:
        run.kill()
        tap.fail('approving the code %r failed: %s\n%s' % (code, e, run.result()))
    r = run.finish()
    cli.expect_ok(r)
    tap.match(r'^Signed in as %s\b' % re.escape(user), r.stdout, 'stdout of login')
    return r


def oauth_logins_in(log, user='alice'):
    """Successful IMAP logins of user with an OAuth2 mechanism in a Dovecot log text."""
    return re.findall(r'imap-login: (?:Info: )?Login: user=<%s>,.*method=(?:XOAUTH2|'
                      r'OAUTHBEARER)' % re.escape(user), log)


def oauth_logins(dv, user='alice'):
    return oauth_logins_in(dv.log(), user)


def no_prompt(r, what):
    m = re.search(PROMPT_RE, r.stdout + r.stderr)
    if m:
        tap.fail('%s asked for input (%r)\n%s' % (what, m.group(0), r))


def key_material(pem):
    """Lines of a PEM private key long enough to be recognised if they leaked."""
    return [line for line in pem.splitlines() if len(line) >= 40 and '-----' not in line]


# -- 1. a sync longer than the access token, with forced reconnects -------------------------

class SlowProxy:
    """A TCP relay on loopback in front of the source Dovecot's imaps port that passes the
    server's bytes on at `rate` bytes per second per connection (the TLS session is end to
    end; the certificate names 127.0.0.1, the relay's address too). It makes a sync of the
    test corpus last long enough for several kicks; each connection the server closes
    (doveadm kick) is closed towards mailhaul too."""

    def __init__(self, host, port, rate):
        import socket
        self.target, self.rate = (host, port), rate
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.connections = 0
        self.closing = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        cleanup.register(self.close)

    def _accept(self):
        import socket
        while not self.closing:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            self.connections += 1
            pair = [client, server]
            threading.Thread(target=self._pump, args=(client, server, None, pair),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.rate, pair),
                             daemon=True).start()

    @staticmethod
    def _close(pair):
        import socket
        for x in pair:
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                x.close()
            except OSError:
                pass

    def _pump(self, a, b, rate, pair):
        t0, sent = time.monotonic(), 0
        try:
            while True:
                data = a.recv(16384)
                if not data:
                    break
                b.sendall(data)
                if rate:
                    sent += len(data)
                    ahead = sent / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            pass
        self._close(pair)

    def close(self):
        self.closing = True
        try:
            self.sock.close()
        except OSError:
            pass


class Kicker:
    """Kicks user's connections at dv (doveadm kick) every `every` seconds until stopped.
    The test's own sessions as that user are made while holding `lock`, so that a kick
    never hits them (doveadm kick knows no difference between them and mailhaul's)."""

    def __init__(self, dv, user, every):
        self.dv, self.user, self.every = dv, user, every
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.kicks = []   # (seconds since start, doveadm output)
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_event.wait(self.every):
            try:
                with self.lock:
                    out = self.dv.doveadm('kick', self.user, check=False)
            except Exception as e:  # noqa: BLE001 (reported, not fatal)
                out = 'error: %s' % e
            self.kicks.append((time.monotonic() - self.t0, out.strip()))

    def stop(self):
        self.stop_event.set()
        self.thread.join(30)


def auth_failures(log, user='alice'):
    """Lines of a Dovecot log that show a failed or refused authentication of user (not the
    passwd-file's 'Password mismatch', which every OAuth2 login passes on its way to the
    oauth2 passdb)."""
    return [line for line in log.splitlines()
            if ('oauth2 failed' in line or 'auth failed' in line or
                'Authentication failed' in line) and ('<%s>' % user in line or
                                                      '(%s,' % user in line)]


@tap.test
def sync_outlives_the_access_token_with_reconnects():
    idp, src, dst = S['idp'], S['src'], S['dst']
    proxy = SlowProxy(src.host, src.port('ssl'), RATE)
    section = provider_section('idp', src, idp).replace(
        'imap-port = %d' % src.port('ssl'), 'imap-port = %d' % proxy.port)
    home = Home('long', section)
    pf = cli.write_passfile(home.dir, dst.password('bob'), 'pass-bob')
    log_before = len(src.log())
    login_device(home, idp)
    signed_in = time.monotonic()
    stored = home.secrets()
    tap.check(stored, 'nothing in the file token store after login')

    def sync(n):
        report = home.path('report-%d.json' % n)
        r = home.run('sync', 'idp:alice', '--host2', dst.host, '--port2', dst.port('ssl'),
                     '--ssl2', '--cafile2', dst.cafile, '--user2', 'bob', '--passfile2', pf,
                     '--jobs', '2', '--quiet', '--report', report, timeout=150)
        no_prompt(r, 'sync run %d' % n)
        if r.code == cli.EXIT_AUTH:
            tap.fail('sync run %d (%.1f s after the sign-in) failed to authenticate\n%s'
                     % (n, time.monotonic() - signed_in, r))
        return r

    runs = []
    kicker = Kicker(src, 'alice', KICK_EVERY)
    try:
        n = 0
        while time.monotonic() - signed_in < LONG_RUN and n < 30:
            n += 1
            r = sync(n)
            runs.append((time.monotonic() - signed_in, r))
            # new source mail between runs: each run has something to copy
            with kicker.lock:
                add_source_mail(src, n)
            time.sleep(1)
    finally:
        kicker.stop()
    for t, r in runs:
        tap.diag('sync run ending %.1f s after the sign-in: exit %s in %.1f s' % (
            t, r.code, r.seconds))
        if r.code != 0:
            tap.diag('  ' + r.stderr.rstrip().replace('\n', '\n  '))
    kicked = [(t, out) for t, out in kicker.kicks if out and not out.startswith('error')]
    tap.diag('%d kicks, %d found connections; %d connections through the relay' % (
        len(kicker.kicks), len(kicked), proxy.connections))
    # A last run after the kicks (and after another expiry if the loop was short) must
    # finish cleanly and leave the destination equal to the source.
    left = signed_in + TTL + 2 - time.monotonic()
    if left > 0:
        time.sleep(left)
    final = sync(n + 1)
    elapsed = time.monotonic() - signed_in
    tap.diag('final sync %.1f s after the sign-in: exit %s in %.1f s' % (
        elapsed, final.code, final.seconds))
    proxy.close()
    # Every finding is collected, so that one run shows all of them.
    problems = []
    # A run may fail while its connections are kicked (a folder kicked twice, a kick during
    # the listing), but never by a crash nor for want of a token.
    for t, r in runs + [(elapsed, final)]:
        if r.code is not None and r.code < 0:
            problems.append('a sync run ending %.1f s after the sign-in was killed by signal '
                            '%d (after a reconnect):\n%s' % (t, -r.code, r))
    if final.code != 0 or final.error_lines:
        problems.append('the final sync (no kicks) did not succeed:\n%s' % final)
    c, s, d = compare.compare_servers(src, 'alice', dst, 'bob')
    if not c.ok:
        problems.append('the destination differs from the source:\n%s' % c.text())
    if not s.count('INBOX'):
        problems.append('the source INBOX is empty')
    if home.secrets() == stored:
        problems.append('the stored token did not change: no refresh was stored although '
                        'the test ran %.0f s with %d-second tokens' % (elapsed, TTL))
    if not kicked:
        problems.append('no doveadm kick found a connection to kick: %r' % kicker.kicks[:5])
    log = src.log()[log_before:]
    logins = len(oauth_logins_in(log))
    late = [t for t, r in runs if t > TTL]
    spanning = [t for t, r in runs if t - r.seconds < TTL < t]
    tap.diag('%d OAuth2 logins at the source; %d runs ended after the token expired, %d '
             'run(s) spanned the expiry' % (logins, len(late), len(spanning)))
    if logins <= 1:
        problems.append('the source Dovecot logged %d OAuth2 logins:\n%s' %
                        (logins, src.log_tail()))
    failures = auth_failures(log)
    if failures:
        problems.append('failed authentications at the source:\n' + '\n'.join(failures))
    if problems:
        tap.fail('\n\n'.join(problems))


def add_source_mail(src, n):
    mails = corpus.new_messages(100 + n, 6)
    with imapcheck.session(src, 'alice') as conn:
        for m in mails:
            corpus.append_zoned(conn, 'INBOX', m, '+0100')


# -- 2. a Google service account (JWT bearer) ------------------------------------------------

def service_account_file(directory, name, client_email, pem, token_uri):
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump({'type': 'service_account', 'project_id': 'mhtest',
                   'private_key_id': 'k1', 'private_key': pem,
                   'client_email': client_email, 'client_id': '1234567890',
                   'token_uri': token_uri}, f)
    return path


@tap.test
def service_account_jwt_bearer():
    keys = tempfile.mkdtemp(prefix='mhtest-oauth-long-keys-')
    cleanup.register(lambda: shutil.rmtree(keys, ignore_errors=True))
    priv, pub = oauth.make_rsa_key(keys, 'sa')
    other, _ = oauth.make_rsa_key(keys, 'other')
    with open(priv) as f:
        pem = f.read()
    with open(other) as f:
        other_pem = f.read()
    with oauth.OAuthServer(jwt_public_key=pub) as idp2:
        dv = dovecot.Dovecot(S['pki'], users={'alice': 'alice-pw'},
                             **oauth.dovecot_options(idp2))
        with dovecot.running(dv):
            home = Home('sa', provider_section('idp', dv, idp2))
            good = service_account_file(home.dir, 'sa.json', idp2.jwt_client_id, pem,
                                        idp2.token_endpoint)
            bad = service_account_file(home.dir, 'sa-other.json', idp2.jwt_client_id,
                                       other_pem, idp2.token_endpoint)
            r = home.run('check', 'idp:alice', '--service-account', good)
            cli.expect_ok(r)
            tap.match(r'^Authenticated as alice\b', r.stdout, 'stdout of check')
            tap.check(oauth_logins(dv), 'no OAuth2 login in the Dovecot log:\n%s' %
                      dv.log_tail())
            r = home.run('check', 'idp:alice', '--service-account', bad)
            cli.expect_error(r, cli.EXIT_AUTH)
            for text, what in ((r.stdout, 'stdout'), (r.stderr, 'stderr')):
                tap.not_contains('PRIVATE KEY', text, what + ' with a refused key')
                for line in key_material(other_pem):
                    tap.not_contains(line, text, what + ' with a refused key (key line)')
                tap.check(not re.search(r'eyJ[A-Za-z0-9_-]{10,}\.', text),
                          '%s shows a JWT (the signed assertion):\n%s' % (what, r))
            tap.diag('refused key: %s' % r.error_lines[0])
            # Not asserted: the advice names `mailhaul login alice` (the user, not the
            # account idp:alice), although a service account does not sign in with login.


# -- 3. app-only access (client credentials) -------------------------------------------------

@tap.test
def app_only_client_credentials():
    idp, src = S['idp'], S['src']
    home = Home('app', provider_section('idp', src, idp, client_id=idp.cc_client_id,
                                        client_secret=idp.cc_client_secret))
    log_before = len(src.log())
    r = home.run('check', 'idp:alice', '--app-only')
    # The token names no user: Dovecot's oauth2 passdb refuses it.
    cli.expect_error(r, cli.EXIT_AUTH, ('authentication', 'authenticat', 'sign-in',
                                        'rejected', 'refused'))
    no_prompt(r, 'check --app-only')
    tap.not_contains(idp.cc_client_secret, r.stdout + r.stderr, 'output of check --app-only')
    # Evidence that a client-credentials token was issued and presented: Dovecot's
    # introspection found it active but without a user (an unknown token is 'inactive').
    log = src.log()[log_before:]
    tap.match(r'(?i)oauth2.*no username', log, 'the source Dovecot log after check '
              '--app-only (an active token without a user)')
    tap.diag('Dovecot: %s' % ' | '.join(line[-140:] for line in log.splitlines()
                                        if 'oauth2' in line.lower())[:600])
    tap.diag('check --app-only: %s' % r.error_lines[0])

    wrong = Home('app-wrong', provider_section('idp', src, idp, client_id=idp.cc_client_id,
                                               client_secret='not-the-secret'))
    r = wrong.run('check', 'idp:alice', '--app-only')
    if r.code not in (cli.EXIT_AUTH, cli.EXIT_USAGE):
        tap.fail('a wrong client secret: expected exit 16 or 64\n%s' % r)
    cli.expect_error(r, r.code, 'client')
    tap.not_contains('not-the-secret', r.stdout + r.stderr, 'output with a wrong secret')
    tap.diag('wrong client secret: %s' % r.error_lines[0])


@tap.test
def app_only_token_is_issued_by_client_credentials():
    # The same grant mailhaul makes, checked at the server: a client-credentials token is
    # active and carries no user, which is why Dovecot refuses it above.
    idp = S['idp']
    status, body = oauth.client_credentials(idp, scope=SCOPE)
    tap.eq(status, 200, 'client_credentials grant (%r)' % (body,))
    info = oauth.introspect(idp, body['access_token'])
    tap.eq((info.get('active'), info.get('client_id'), info.get('email')),
           (True, idp.cc_client_id, None), 'introspection (active, client_id, email)')


# -- 4. the keyring token store --------------------------------------------------------------

KEYRING_SCRIPT = r'''
"$MH" login idp:alice --config "$CFG" --token-store keyring
echo "=== login $?"
"$MH" check idp:alice --config "$CFG" --token-store keyring </dev/null
echo "=== check $?"
"$MH" accounts --config "$CFG" --token-store keyring </dev/null
echo "=== accounts $?"
'''


@tap.test
def keyring_store_end_to_end():
    if shutil.which('gnome-keyring-daemon') is None:
        tap.skip('gnome-keyring-daemon is not installed')
    for tool in ('dbus-run-session', 'dbus-send', 'setsid'):
        if shutil.which(tool) is None:
            tap.skip('%s is not installed' % tool)
    idp, src = S['idp'], S['src']
    home = Home('keyring', provider_section('idp', src, idp, store='keyring'))
    env = cli.environment({'MH': cli.binary(), 'CFG': home.config})
    run = cli.Lines([WITH_KEYRING, 'sh', '-c', KEYRING_SCRIPT], env)
    m = run.wait_for(CODE_RE + '|=== login', what='login --token-store keyring')
    if m.group(0).startswith('==='):
        run.finish()
        tap.fail('login ended without showing a code\n%s' % run.result())
    try:
        oauth.approve_device(idp, m.group(1), 'alice')
    except oauth.OAuthError as e:
        run.kill()
        tap.fail('approving the code failed: %s\n%s' % (e, run.result()))
    r = run.finish(timeout=90)
    if r.code == 77:
        tap.skip('with-keyring.sh: %s' % r.stderr.strip())
    codes = dict(re.findall(r'^=== (\w+) (\d+)$', r.stdout, re.M))
    tap.eq(codes, {'login': '0', 'check': '0', 'accounts': '0'},
           'exit codes of login, check, accounts in the keyring session\n%s\n' % r)
    out = r.stdout
    tap.match(r'^Signed in as alice\b', out, 'stdout of login')
    tap.match(r'^Authenticated as alice\b', out, 'stdout of check')
    acc = out.split('=== check 0', 1)[1]
    lines = [line for line in acc.splitlines() if 'idp:alice' in line]
    tap.eq(len(lines), 1, 'lines naming idp:alice in the accounts output\n%s\n' % r)
    tap.match(r'(?i)keyring|secret-service', lines[0], 'the accounts line (store)')


if __name__ == '__main__':
    why = oauth.available()
    if why:
        print('1..0 # SKIP %s' % why)
        sys.exit(0)
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
