#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mailhaul's OAuth2 sign-in commands against real parts: the local authorization server
(tests/oauth/server.mjs, oidc-provider) and two Dovecots that check its tokens by
introspection, one offering OAUTHBEARER and XOAUTH2, one only XOAUTH2.

Cases: `login` with the device flow (approved on the server's real pages), the browser flow
($BROWSER = tests/oauth/fake-browser.py, loopback redirect) and the paste fallback (the
redirected URL or just the code on stdin); a denied device code; a provider without a client
id; `token`, `accounts`, `logout`; `check` with OAUTHBEARER and with XOAUTH2 only; `sync`
between two OAuth accounts and from an OAuth account to a password account; an expired access
token refreshed with the rotated refresh token stored; a refresh token revoked at the server
and one revoked by replay detection; and the canary: with --debug all, no token (nor its
base64 forms in SASL) appears in any output or log.

Every run gets its own HOME and XDG directories (a Home below) and the config file written
for it; tokens live in the file store under $XDG_DATA_HOME/mailhaul/secrets/.
"""
import base64
import contextlib
import os
import queue
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse

from mhtest import certs, cleanup, cli, compare, dovecot, imapcheck, oauth, tap

TTL = 8                      # access token lifetime (seconds) at the test server
SCOPE = oauth.GOOGLE_SCOPE
S = {}


# -- setup ----------------------------------------------------------------------------------

@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki, \
            oauth.OAuthServer(access_token_ttl=TTL, device_interval=1) as idp:
        users = {'alice': 'alice-pw', 'bob': 'bob-pw', 'carol': 'carol-pw',
                 'dave': 'Dave-pw-5521'}
        # dv1 offers OAUTHBEARER and XOAUTH2; dv2 only XOAUTH2 (as Microsoft does).
        dv1 = dovecot.Dovecot(pki, users=users, **oauth.dovecot_options(idp))
        dv2 = dovecot.Dovecot(pki, users=users, mechanisms='plain login xoauth2',
                              extra_conf=oauth.dovecot_extra_conf(idp))
        with dovecot.running(dv1, dv2):
            dv1.preload('alice', {
                'INBOX': [imapcheck.make_message(n) for n in range(1, 6)],
                'Work': [imapcheck.make_message(n, subject='Work %d' % n)
                         for n in range(10, 14)],
            })
            S.update(pki=pki, idp=idp, dv1=dv1, dv2=dv2)
            yield


def provider_section(name, dv, client_id=True):
    return S['idp'].provider_section(name, dv, SCOPE, client_id=None if client_id else False)


class Home:
    """Private HOME and XDG directories plus a config file for one sign-in scenario."""

    def __init__(self, name, config_text=None):
        self.dir = tempfile.mkdtemp(prefix='mhtest-oauth-cli-%s-' % name)
        cleanup.register(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        for sub in ('home', 'config', 'state', 'data', 'cache', 'runtime'):
            os.mkdir(os.path.join(self.dir, sub), 0o700)
        if config_text is None:
            config_text = provider_section('idp', S['dv1']) + '\n' + \
                provider_section('other', S['dv2'])
        self.config = os.path.join(self.dir, 'mailhaul.ini')
        with open(self.config, 'w') as f:
            f.write(config_text)

    def path(self, sub):
        return os.path.join(self.dir, sub)

    @property
    def state_home(self):
        return self.path('state')

    @property
    def secrets_dir(self):
        return os.path.join(self.path('data'), 'mailhaul', 'secrets')

    def env(self, extra=None):
        env = {'HOME': self.path('home'), 'XDG_CONFIG_HOME': self.path('config'),
               'XDG_STATE_HOME': self.path('state'), 'XDG_DATA_HOME': self.path('data'),
               'XDG_CACHE_HOME': self.path('cache'), 'XDG_RUNTIME_DIR': self.path('runtime')}
        env.update(extra or {})
        return env

    def argv(self, args, config=True):
        args = [str(a) for a in args]
        return args[:1] + (['--config', self.config] if config else []) + args[1:]

    def run(self, *args, env=None, config=True, timeout=60):
        return cli.run(self.argv(args, config), env=self.env(env), timeout=timeout)

    def start(self, *args, env=None):
        return Running([cli.binary()] + self.argv(args), cli.environment(self.env(env)))

    def secrets(self):
        """{file name: bytes} of the file token store."""
        out = {}
        if os.path.isdir(self.secrets_dir):
            for n in sorted(os.listdir(self.secrets_dir)):
                p = os.path.join(self.secrets_dir, n)
                if os.path.isfile(p):
                    with open(p, 'rb') as f:
                        out[n] = f.read()
        return out

    def stored_tokens(self):
        """Every token-like string in the file store (the store's format is mailhaul's)."""
        found = set()
        for data in self.secrets().values():
            found |= token_strings(data)
        return found

    def state_files(self):
        """{path: bytes} of every file under XDG_STATE_HOME (logs, state databases)."""
        out = {}
        for root, _, files in os.walk(self.state_home):
            for n in files:
                p = os.path.join(root, n)
                try:
                    with open(p, 'rb') as f:
                        out[p] = f.read()
                except OSError:
                    pass
        return out


TOKEN_RE = re.compile(rb'[A-Za-z0-9_\-.~+/]{30,}={0,2}')


def token_strings(data):
    """Token-like strings in data, also inside a base64-encoded blob."""
    found = {m.group(0).decode() for m in TOKEN_RE.finditer(data)}
    for t in list(found):
        try:
            inner = base64.b64decode(t + '=' * (-len(t) % 4), validate=False)
        except ValueError:
            continue
        found |= {m.group(0).decode() for m in TOKEN_RE.finditer(inner)}
    return {t for t in found if not t.startswith(('http', '/'))}


class Running(cli.Lines):
    """mailhaul in the background with stdout read line by line (for the interactive flows),
    its stdin a pipe for what a user would type."""

    def __init__(self, argv, env):
        super().__init__(argv, env, stdin=subprocess.PIPE)
        self.out_thread, self.err_thread = self.threads

    def wait_for(self, pattern, timeout=20, what='output'):
        """The first match of pattern in a stdout line (or in the lines after a line that
        matches pattern's first part, see find_after)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = False
            if line is None or line is False:
                if line is False:
                    self.kill()
                else:
                    self.p.wait(timeout=10)
                self.out_thread.join(5)
                self.err_thread.join(5)
                tap.fail('%s: no stdout line matching /%s/ %s\n%s' % (
                    what, pattern, 'within %d s' % timeout if line is False else
                    'before mailhaul exited', self.result()))
            m = re.search(pattern, line)
            if m:
                return m, line

    def next_line(self, timeout=5):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def send(self, text):
        try:
            self.p.stdin.write(text.encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def finish(self, timeout=45):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.err_thread.join(5)
            tap.fail('mailhaul did not finish within %d s\n%s' % (timeout, self.result()))
        finally:
            cleanup.unregister(self.handle)
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.out_thread.join(10)
        self.err_thread.join(10)
        return self.result()


# -- helpers --------------------------------------------------------------------------------

CODE_RE = r'enter the code ([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)'


def login_device(home, account='idp:alice', user='alice', extra=(), deny=False, env=None):
    """`mailhaul login ACCOUNT` with the device flow, approved (or denied) as user."""
    run = home.start('login', account, *extra, env=env)
    m, line = run.wait_for(CODE_RE, what='login %s (device flow)' % account)
    code = m.group(1)
    try:
        if deny:
            oauth.deny_device(S['idp'], code)
        else:
            oauth.approve_device(S['idp'], code, user)
    except oauth.OAuthError as e:
        run.kill()
        tap.fail('approving the code %r printed by mailhaul failed: %s\n%s' % (
            code, e, run.result()))
    r = run.finish()
    r.user_code = code
    return r


def expect_signed_in(r, user='alice'):
    cli.expect_ok(r)
    tap.match(r'^Signed in as %s\b' % re.escape(user), r.stdout, 'stdout of login')


def get_token(home, account='idp:alice'):
    """`mailhaul token ACCOUNT`: must print exactly one line, the token; returns it."""
    r = home.run('token', account)
    cli.expect_ok(r)
    lines = r.stdout.splitlines()
    if len(lines) != 1 or not r.stdout.endswith('\n') or not re.fullmatch(r'\S+', lines[0]):
        tap.fail('token: expected exactly one line holding the token\n%s' % r)
    return lines[0]


def expect_user(token, user):
    info = oauth.introspect(S['idp'], token)
    tap.eq((info.get('active'), info.get('email')), (True, user),
           'introspection of the printed token (active, user)')


def sleep_past_expiry(since):
    left = since + TTL + 1.5 - time.monotonic()
    if left > 0:
        time.sleep(left)


def expect_auth_error(r, *words):
    """Exit 16 with one error line mentioning words (debug lines ignored)."""
    return cli.expect_error(r, cli.EXIT_AUTH, *words)


def sasl_forms(token, users=('alice', 'bob', 'carol', 'dave')):
    """The token and every base64 form it could take in SASL or elsewhere: for each of the
    three byte alignments, the part of base64(prefix + token) that depends only on the token
    (any base64 text containing the token contains one of them), plus the exact XOAUTH2 and
    OAUTHBEARER initial responses."""
    raw = token.encode()
    forms = {token: 'the token'}
    for k in range(3):
        enc = base64.b64encode(b'\0' * k + raw).decode().rstrip('=')
        start = ((k + 2) // 3) * 4
        core = enc[start:len(enc) - 4]
        if len(core) >= 16:
            forms[core] = 'base64 of the token (alignment %d)' % k
            forms[core.replace('+', '-').replace('/', '_')] = 'base64url (alignment %d)' % k
    for u in users:
        forms[base64.b64encode(oauth.xoauth2_initial(u, token)).decode()] = 'XOAUTH2 response'
        for dv in (S['dv1'], S['dv2']):
            forms[base64.b64encode(oauth.oauthbearer_initial(
                u, token, dv.host, dv.port('ssl'))).decode()] = 'OAUTHBEARER response'
    return forms


def password_forms(user, password):
    forms = {password: 'the password'}
    for k in range(3):
        enc = base64.b64encode(b'\0' * k + password.encode()).decode().rstrip('=')
        start = ((k + 2) // 3) * 4
        core = enc[start:len(enc) - 4]
        if len(core) >= 8:
            forms[core] = 'base64 of the password (alignment %d)' % k
    forms[base64.b64encode(b'\0%s\0%s' % (user.encode(), password.encode())).decode()] = \
        'PLAIN response'
    return forms


# -- device flow, token, accounts, check ----------------------------------------------------

@tap.test
def device_login_stores_the_sign_in():
    home = Home('device')
    S['home'] = home
    r = login_device(home)
    expect_signed_in(r)
    tap.contains('enter the code ' + r.user_code, r.stdout, 'stdout of login')
    tap.contains(S['idp'].verification_uri, r.stdout, 'stdout of login (verification URL)')
    files = home.secrets()
    tap.check(files, 'no file in the token store %s after login\n%s' % (home.secrets_dir, r))
    mode = stat.S_IMODE(os.stat(home.secrets_dir).st_mode)
    tap.eq(oct(mode), oct(0o700), 'mode of %s' % home.secrets_dir)
    for n in files:
        mode = stat.S_IMODE(os.stat(os.path.join(home.secrets_dir, n)).st_mode)
        tap.eq(oct(mode), oct(0o600), 'mode of the stored secret %s' % n)


@tap.test
def token_prints_only_a_valid_access_token():
    home = S['home']
    tok = get_token(home)
    expect_user(tok, 'alice')
    r = home.run('token', 'idp:alice')
    cli.expect_ok(r)
    tap.eq(r.stderr, '', 'stderr of token')


@tap.test
def accounts_lists_the_sign_in_without_secrets():
    home = S['home']
    # the config file through the environment this time
    r = home.run('accounts', config=False, env={'MAILHAUL_CONFIG': home.config})
    cli.expect_ok(r)
    lines = [line for line in r.stdout.splitlines() if 'idp:alice' in line]
    tap.eq(len(lines), 1, 'lines naming idp:alice in\n%s\n' % r)
    line = lines[0]
    tap.match(r'\boauth2\b', line, 'the accounts line (kind)')
    tap.match(r'\bfile\b', line, 'the accounts line (store)')
    tap.match(r'\d{4}-\d\d-\d\d|\d{1,2}:\d\d|\bin \d+ ?(s|sec|min|h)|expire', line,
              'the accounts line (expiry)')
    for t in home.stored_tokens():
        tap.not_contains(t, r.stdout + r.stderr, 'accounts output')


@tap.test
def check_authenticates_with_oauthbearer():
    home = S['home']
    r = home.run('check', 'idp:alice')
    cli.expect_ok(r)
    tap.match(r'^Authenticated as alice with OAUTHBEARER\s*$', r.stdout, 'stdout of check')


@tap.test
def check_uses_xoauth2_when_only_that_is_offered():
    home = S['home']
    r = login_device(home, 'other:bob', 'bob', extra=('--flow', 'device'))
    expect_signed_in(r, 'bob')
    tok = get_token(home, 'other:bob')
    expect_user(tok, 'bob')
    r = home.run('check', 'other:bob')
    cli.expect_ok(r)
    tap.match(r'^Authenticated as bob with XOAUTH2\s*$', r.stdout, 'stdout of check')


# -- sync -----------------------------------------------------------------------------------

@tap.test
def sync_between_two_oauth_accounts():
    home = S['home']
    r = home.run('sync', 'idp:alice', 'other:bob', '--quiet', timeout=120)
    cli.expect_ok(r)
    c, _, _ = compare.compare_servers(S['dv1'], 'alice', S['dv2'], 'bob')
    if not c.ok:
        tap.fail('the destination differs from the source:\n%s\n%s' % (c.text(), r))


@tap.test
def sync_from_oauth_account_to_password_account():
    home = S['home']
    dv2 = S['dv2']
    pf = cli.write_passfile(home.dir, dv2.password('carol'), 'pass-carol')
    r = home.run('sync', '--account1', 'idp:alice', '--host2', dv2.host,
                 '--port2', dv2.port('ssl'), '--ssl2', '--cafile2', dv2.cafile,
                 '--user2', 'carol', '--passfile2', pf, '--quiet', timeout=120)
    cli.expect_ok(r)
    c, _, _ = compare.compare_servers(S['dv1'], 'alice', dv2, 'carol')
    if not c.ok:
        tap.fail('the destination differs from the source:\n%s\n%s' % (c.text(), r))


# -- the browser and paste flows --------------------------------------------------------------

@tap.test
def browser_login_through_loopback_redirect():
    home = Home('browser')
    S['browser_home'] = home
    log = home.path('browser.log')
    run = home.start('login', 'idp:alice', '--flow', 'browser',
                     env={'BROWSER': oauth.FAKE_BROWSER, 'MHTEST_BROWSER_LOGIN': 'alice',
                          'MHTEST_BROWSER_LOG': log})
    r = run.finish(timeout=45)
    try:
        with open(log) as f:
            blog = f.read()
    except OSError:
        blog = '(the browser was never started: no %s)' % log
    if r.code != 0:
        tap.fail('browser login failed\n%s\nbrowser log: %s' % (r, blog))
    expect_signed_in(r)
    tap.match(r'redirected http://(127\.0\.0\.1|\[::1\]|localhost):\d+', blog, 'browser log')
    expect_user(get_token(home), 'alice')


@tap.test
def paste_login_with_the_redirected_url():
    home = Home('paste-url')
    run = home.start('login', 'idp:alice', '--flow', 'paste')
    url = _paste_url(run)
    final = oauth.approve_authorization(url, 'alice', follow=False)
    tap.check('code=' in final, 'no code in the redirect %s' % final)
    run.send(final + '\n')
    r = run.finish()
    cli.expect_ok(r)
    expect_user(get_token(home), 'alice')


@tap.test
def paste_login_with_just_the_code():
    home = Home('paste-code')
    S['paste_home'] = home
    run = home.start('login', 'idp:alice', '--flow', 'paste')
    url = _paste_url(run)
    final = oauth.approve_authorization(url, 'alice', follow=False)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(final).query).get('code', [''])[0]
    tap.check(code, 'no code in the redirect %s' % final)
    run.send(code + '\n')
    r = run.finish()
    cli.expect_ok(r)
    expect_user(get_token(home), 'alice')


def _paste_url(run):
    m, line = run.wait_for(r'Open this URL in a browser:', what='login --flow paste')
    auth = re.escape(S['idp'].authorization_endpoint)
    m = re.search(auth + r'\?\S+', line)
    tail = []
    while m is None:
        nxt = run.next_line()
        if nxt is None:
            tap.fail('no authorization URL (%s?...) after "Open this URL in a browser:"; '
                     'stdout so far:\n%s%s' % (S['idp'].authorization_endpoint, line,
                                               ''.join(tail)))
        tail.append(nxt)
        m = re.search(auth + r'\?\S+', nxt)
    return m.group(0)


# -- refusals -------------------------------------------------------------------------------

@tap.test
def denied_device_code_exits_16():
    home = Home('denied')
    r = login_device(home, deny=True)
    expect_auth_error(r, 'denied')
    tap.eq(home.stored_tokens(), set(), 'tokens stored after a denied sign-in')


@tap.test
def provider_without_client_id_explains_registration():
    home = Home('noid', provider_section('idp', S['dv1'], client_id=False))
    r = home.run('login', 'idp:alice', '--flow', 'device', timeout=20)
    if r.code != cli.EXIT_USAGE:
        tap.fail('expected exit code 64\n%s' % r)
    lines = [line for line in r.stderr.splitlines()
             if line.strip() and not line.startswith(cli.DEBUG_PREFIX)]
    errors = r.error_lines
    if len(errors) != 1:
        tap.fail('expected exactly one error line\n%s' % r)
    i = lines.index(errors[0])
    before = [line for line in lines[:i] if not line.startswith(cli.WARNING_PREFIX)]
    after = [line for line in lines[i + 1:] if not line.startswith('  ')]
    if before or after:
        tap.fail('stderr lines other than warnings, the error line and its indented '
                 'explanation: %r\n%s' % (before + after, r))
    explanation = '\n'.join(lines[i:])
    tap.contains('client-id', explanation, 'the error and its explanation')
    tap.match(r'(?i)regist', explanation, 'the error and its explanation (how to register)')
    tap.eq(r.stdout, '', 'stdout')


# -- logout ---------------------------------------------------------------------------------

@tap.test
def logout_forgets_the_sign_in():
    home = S.get('browser_home')
    if home is None or not home.secrets():
        home = Home('logout')
        expect_signed_in(login_device(home))
    before = home.stored_tokens()
    r = home.run('logout', 'idp:alice')
    cli.expect_ok(r)
    r = home.run('token', 'idp:alice')
    expect_auth_error(r, 'mailhaul login idp:alice')
    tap.eq(r.stdout, '', 'stdout of token after logout')
    left = before & home.stored_tokens()
    tap.eq(len(left), 0, 'stored tokens still in the file store after logout')
    r = home.run('accounts')
    cli.expect_ok(r)
    tap.not_contains('idp:alice', r.stdout, 'accounts after logout')
    # Not in the contract: whether logout also revoked at the server (revoke-url is set).
    alive = [t for t in before if oauth.refresh(S['idp'], t)[0] == 200]
    tap.diag('logout %s the refresh token at the server' %
             ('did not revoke' if alive else 'revoked'))


# -- expiry, refresh, revocation --------------------------------------------------------------

@tap.test
def expired_token_is_refreshed_and_rotated():
    home = S['home']
    old = get_token(home)
    since = time.monotonic()
    before = home.secrets()
    old_stored = home.stored_tokens()
    sleep_past_expiry(since)
    new = get_token(home)
    tap.check(new != old, 'token printed the same access token after it expired')
    expect_user(new, 'alice')
    after = home.secrets()
    tap.check(after != before, 'the file store did not change with the refresh')
    candidates = old_stored - {old} - home.stored_tokens()
    tap.check(candidates, 'no stored refresh token was replaced (stored before: %d strings, '
              'after: %d)' % (len(old_stored), len(home.stored_tokens())))
    # Replaying the old refresh token must fail; oidc-provider then revokes the whole grant
    # (the next test relies on that).
    results = {t[:6] + '...': oauth.refresh(S['idp'], t) for t in candidates}
    bad = {k: v for k, v in results.items() if v[0] == 200}
    tap.check(not bad, 'an old stored token still refreshes: %s' % sorted(bad))
    S['replayed_at'] = time.monotonic()


@tap.test
def refresh_token_revoked_at_server_exits_16():
    home = S.get('paste_home')
    if home is None or not home.secrets():
        home = Home('revoke')
        expect_signed_in(login_device(home))
    access = get_token(home)
    since = time.monotonic()
    refresh_tokens = home.stored_tokens() - {access}
    tap.check(refresh_tokens, 'no refresh token in the file store')
    for t in refresh_tokens:
        tap.eq(oauth.revoke(S['idp'], t, 'refresh_token'), 200, 'revocation at the server')
    sleep_past_expiry(since)
    r = home.run('token', 'idp:alice')
    expect_auth_error(r, 'expired or was revoked', 'mailhaul login idp:alice')
    tap.eq(r.stdout, '', 'stdout of token')


@tap.test
def refresh_token_revoked_by_replay_exits_16():
    if 'replayed_at' not in S:
        tap.fail('the refresh test did not get to replay the old refresh token')
    home = S['home']
    sleep_past_expiry(S['replayed_at'])
    r = home.run('token', 'idp:alice')
    expect_auth_error(r, 'expired or was revoked', 'mailhaul login idp:alice')
    tap.eq(r.stdout, '', 'stdout of token')


# -- canary ---------------------------------------------------------------------------------

@tap.test
def canary_no_secret_in_debug_output_or_logs():
    home = Home('canary')
    dv2 = S['dv2']
    pw = dv2.password('dave')
    pf = cli.write_passfile(home.dir, pw, 'pass-dave')
    tokens = set()
    outputs = []   # (label, text) to search

    def collect(label, r, stdout=True):
        outputs.append((label + ' stderr', r.stderr))
        if stdout:
            outputs.append((label + ' stdout', r.stdout))
        tokens.update(home.stored_tokens())

    r = login_device(home, extra=('--debug', 'all'))
    expect_signed_in(r)
    collect('login', r)
    r = home.run('token', 'idp:alice', '--debug', 'all')
    cli.expect_ok(r)
    printed = r.stdout.strip()
    tokens.add(printed)
    collect('token', r, stdout=False)
    r = home.run('check', 'idp:alice', '--debug', 'all')
    cli.expect_ok(r)
    tap.contains(cli.DEBUG_PREFIX, r.stderr, 'stderr of check --debug all (debug is on)')
    collect('check', r)
    r = home.run('sync', '--account1', 'idp:alice', '--host2', dv2.host,
                 '--port2', dv2.port('ssl'), '--ssl2', '--cafile2', dv2.cafile,
                 '--user2', 'dave', '--passfile2', pf, '--quiet', '--debug', 'all',
                 timeout=120)
    cli.expect_ok(r)
    collect('sync', r)
    tap.check(len(tokens) >= 2, 'expected an access and a refresh token, found %d' %
              len(tokens))
    for path, data in home.state_files().items():
        outputs.append((os.path.relpath(path, home.dir), data.decode('utf-8', 'replace')))
    tap.check(any(label.startswith('state') for label, _ in outputs),
              'no log file under XDG_STATE_HOME after runs with --debug all')
    forms = {}
    for t in tokens:
        for form, what in sasl_forms(t).items():
            forms[form] = '%s of %s...' % (what, t[:6])
    for form, what in password_forms('dave', pw).items():
        forms[form] = what + ' of dave'
    tap.diag('canary: %d tokens, %d forms, %d outputs and files searched' % (
        len(tokens), len(forms), len(outputs)))
    leaks = ['%s in %s' % (what, label) for label, text in outputs
             for form, what in forms.items() if form in text]
    tap.check(not leaks, 'secrets found:\n' + '\n'.join(sorted(set(leaks))))


if __name__ == '__main__':
    why = oauth.available()
    if why:
        print('1..0 # SKIP %s' % why)
        sys.exit(0)
    tap.main(setup=setup, requires=('dovecot', 'openssl'))
