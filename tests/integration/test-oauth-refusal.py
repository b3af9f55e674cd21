#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What `mailhaul login` says about the registration it uses, and what a refused refresh
token is explained with, against the local authorization server (tests/oauth/server.mjs,
oidc-provider) standing in for Google's and Microsoft's endpoints through `[provider gmail]`
and `[provider m365]` sections of the config file.

Cases:
- `login gmail:...` (browser flow, a client with a secret) prints the client id and the
  scopes before the browser opens, says that a client secret is configured, and never
  prints the secret;
- `login m365:...` (browser flow) prints the tenant too, and signs in through the redirect
  URI http://localhost:PORT/ that Microsoft names for desktop apps;
- a Google refresh token revoked at the server (file store), and one expired at the server
  (keyring store: gnome-keyring in a private D-Bus session, with-keyring.sh): the next
  `mailhaul token` exits 16 with one error line that names invalid_grant, says why it
  likely happened (an app in Testing: 7 days; a password change or removed access) and how
  to avoid it (publish the app or make it Internal, then `mailhaul login ACCOUNT` again).

Every scenario gets its own HOME and XDG directories and config file.
"""
import base64
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from mhtest import cleanup, cli, oauth, tap

ACCESS_TTL = 4               # seconds an access token lives at the test server
REFRESH_TTL = 20             # seconds a refresh token lives there
SECRET = 'desktop-secret-7f3a9c21e5b84d06'
DESKTOP_ID = 'mailhaul-desktop'
M365_ID = 'mailhaul-m365'
TENANT = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'
CODE_RE = r'enter the code ([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)'
WITH_KEYRING = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'with-keyring.sh')
WHY = ('invalid_grant', 'Testing', '7 days', 'password change', 'publish the app',
       'Internal')
S = {}


# -- setup ----------------------------------------------------------------------------------

@contextlib.contextmanager
def setup():
    clients = [
        # A Google "Desktop app" client: it has a secret and sends it to the token endpoint.
        {'client_id': DESKTOP_ID, 'client_secret': SECRET, 'application_type': 'native',
         'token_endpoint_auth_method': 'client_secret_post',
         'grant_types': ['authorization_code', 'refresh_token'], 'response_types': ['code'],
         'redirect_uris': ['http://127.0.0.1', 'http://127.0.0.1/']},
        # A Microsoft public client registered with the redirect URI http://localhost.
        {'client_id': M365_ID, 'application_type': 'native',
         'token_endpoint_auth_method': 'none',
         'grant_types': [oauth.DEVICE_GRANT, 'authorization_code', 'refresh_token'],
         'response_types': ['code'],
         'redirect_uris': ['http://localhost', 'http://localhost/']},
    ]
    with oauth.OAuthServer(access_token_ttl=ACCESS_TTL, refresh_token_ttl=REFRESH_TTL,
                           extra_clients=clients) as idp:
        S['idp'] = idp
        yield


def section(provider, client_id=None, secret=None, flow='device', store='file', tenant=None):
    """[provider NAME] pointing a built-in provider at the test server (no IMAP is used)."""
    idp = S['idp']
    lines = ['[provider %s]' % provider, 'imap-host = 127.0.0.1', 'imap-port = 9',
             'imap-tls = ssl', 'auth-url = %s' % idp.authorization_endpoint,
             'token-url = %s' % idp.token_endpoint,
             'device-url = %s' % idp.device_authorization_endpoint,
             'revoke-url = %s' % idp.revocation_endpoint,
             'scopes = %s' % oauth.GOOGLE_SCOPE,
             'client-id = %s' % (client_id or idp.native_client_id),
             'flow = %s' % flow, 'token-store = %s' % store]
    if secret is not None:
        lines.append('client-secret = %s' % secret)
    if tenant is not None:
        lines.append('tenant = %s' % tenant)
    return '\n'.join(lines) + '\n'


class Home:
    """Private HOME and XDG directories plus a config file for one scenario."""

    def __init__(self, name, config_text):
        self.dir = tempfile.mkdtemp(prefix='mhtest-oauth-refusal-%s-' % name)
        cleanup.register(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        for sub in ('home', 'config', 'state', 'data', 'cache', 'runtime'):
            os.mkdir(os.path.join(self.dir, sub), 0o700)
        self.config = os.path.join(self.dir, 'mailhaul.ini')
        with open(self.config, 'w') as f:
            f.write(config_text)

    def path(self, sub):
        return os.path.join(self.dir, sub)

    def env(self, extra=None):
        env = {'HOME': self.path('home'), 'XDG_CONFIG_HOME': self.path('config'),
               'XDG_STATE_HOME': self.path('state'), 'XDG_DATA_HOME': self.path('data'),
               'XDG_CACHE_HOME': self.path('cache'), 'XDG_RUNTIME_DIR': self.path('runtime')}
        env.update(extra or {})
        return env

    def argv(self, args):
        args = [str(a) for a in args]
        return [cli.binary()] + args[:1] + ['--config', self.config] + args[1:]

    def run(self, *args, timeout=60):
        return cli.run(self.argv(args)[1:], env=self.env(), timeout=timeout)

    def start(self, *args, env=None):
        return cli.Lines(self.argv(args), cli.environment(self.env(env)))

    def stored_tokens(self):
        found = set()
        d = os.path.join(self.path('data'), 'mailhaul', 'secrets')
        for n in os.listdir(d) if os.path.isdir(d) else ():
            with open(os.path.join(d, n), 'rb') as f:
                found |= {m.group(0).decode() for m in
                          re.finditer(rb'[A-Za-z0-9_\-.~+/]{30,}={0,2}', f.read())}
        return found


# -- helpers --------------------------------------------------------------------------------

def login_browser(home, account, user='alice'):
    log = home.path('browser.log')
    run = home.start('login', account, env={'BROWSER': oauth.FAKE_BROWSER,
                                            'MHTEST_BROWSER_LOGIN': user,
                                            'MHTEST_BROWSER_LOG': log})
    r = run.finish(timeout=90)
    try:
        with open(log) as f:
            blog = f.read()
    except OSError:
        blog = '(the browser was never started)'
    if r.code != 0:
        tap.fail('browser login of %s failed\n%s\nbrowser log: %s' % (account, r, blog))
    tap.match(r'^Signed in as %s\b' % re.escape(user), r.stdout, 'stdout of login')
    return r, blog


def login_device(home, account, user='alice'):
    run = home.start('login', account)
    code = run.wait_for(CODE_RE, what='login %s (device flow)' % account).group(1)
    try:
        oauth.approve_device(S['idp'], code, user)
    except oauth.OAuthError as e:
        run.kill()
        tap.fail('approving the code %r failed: %s\n%s' % (code, e, run.result()))
    r = run.finish()
    cli.expect_ok(r)
    return r


def preamble(r, before):
    """The lines login printed before the first line matching `before`."""
    lines = r.stdout.splitlines()
    for i, line in enumerate(lines):
        if re.search(before, line):
            return lines[:i]
    tap.fail('login printed no line matching /%s/\n%s' % (before, r))


def no_secret(r, what):
    for form in (SECRET, base64.b64encode(SECRET.encode()).decode()):
        tap.check(form not in r.stdout and form not in r.stderr,
                  '%s printed the client secret\n%s' % (what, r))


def expect_explained(r, account):
    """Exit 16 and one error line giving the reasons and the way out."""
    line = cli.expect_error(r, cli.EXIT_AUTH, *WHY)
    tap.contains('mailhaul login %s` again' % account, line, 'the error line')
    tap.eq(r.stdout, '', 'stdout of token')
    tap.diag(line)


# -- cases ----------------------------------------------------------------------------------

@tap.test
def gmail_login_names_client_and_scopes_never_the_secret():
    home = Home('gmail-secret', section('gmail', DESKTOP_ID, SECRET, flow='browser'))
    r, _ = login_browser(home, 'gmail:alice')
    head = preamble(r, r'(?i)opening your browser|open this url')
    text = '\n'.join(head)
    tap.match(r'^Signing in to gmail:alice$', text, 'the lines before the browser opens')
    tap.match(r'^\s+client id:\s+%s$' % re.escape(DESKTOP_ID), text, 'client id line')
    tap.match(r'^\s+scopes:\s+%s$' % re.escape(oauth.GOOGLE_SCOPE), text, 'scopes line')
    tap.match(r'^\s+client secret:\s+configured \(not shown\)$', text, 'client secret line')
    tap.check('tenant' not in text, 'a tenant line for Google\n%s' % text)
    no_secret(r, 'login')
    r = home.run('token', 'gmail:alice')
    cli.expect_ok(r)
    no_secret(r, 'token')


@tap.test
def m365_login_names_the_tenant_and_uses_localhost():
    home = Home('m365', section('m365', M365_ID, flow='browser', tenant=TENANT))
    r, blog = login_browser(home, 'm365:alice')
    text = '\n'.join(preamble(r, r'(?i)opening your browser|open this url'))
    tap.match(r'^\s+client id:\s+%s$' % re.escape(M365_ID), text, 'client id line')
    tap.match(r'^\s+tenant:\s+%s$' % re.escape(TENANT), text, 'tenant line')
    tap.match(r'^\s+scopes:\s+\S', text, 'scopes line')
    tap.check('client secret' not in text, 'a client secret line without a secret\n%s' % text)
    tap.match(r'redirected http://localhost:\d+', blog, 'browser log (redirect URI)')


@tap.test
def gmail_refresh_token_revoked_is_explained():
    home = Home('gmail-revoked', section('gmail'))
    r = login_device(home, 'gmail:alice')
    tap.match(r'^\s+client id:\s+%s$' % re.escape(S['idp'].native_client_id), r.stdout,
              'client id line of the device login')
    since = time.monotonic()
    stored = home.stored_tokens()
    tap.check(stored, 'no token in the file store after login')
    for t in stored:
        oauth.revoke(S['idp'], t, 'refresh_token')
    left = since + ACCESS_TTL + 1.5 - time.monotonic()
    if left > 0:
        time.sleep(left)
    expect_explained(home.run('token', 'gmail:alice'), 'gmail:alice')


KEYRING_SCRIPT = r'''
"$MH" login gmail:alice --config "$CFG"
echo "=== login $?"
sleep "$WAIT"
"$MH" token gmail:alice --config "$CFG" </dev/null >"$OUT" 2>"$ERR"
echo "=== token $?"
'''


@tap.test
def gmail_refresh_token_expired_in_keyring_is_explained():
    for tool in ('gnome-keyring-daemon', 'dbus-run-session', 'dbus-send', 'setsid'):
        if shutil.which(tool) is None:
            tap.skip('%s is not installed' % tool)
    home = Home('gmail-expired', section('gmail', store='keyring'))
    out, err = home.path('token.out'), home.path('token.err')
    env = cli.environment({'MH': cli.binary(), 'CFG': home.config, 'OUT': out, 'ERR': err,
                           'WAIT': str(REFRESH_TTL + 2)})
    run = cli.Lines([WITH_KEYRING, 'sh', '-c', KEYRING_SCRIPT], env)
    m = run.wait_for(CODE_RE + '|=== login', what='login --token-store keyring')
    if m.group(0).startswith('==='):
        run.finish()
        tap.fail('login ended without showing a code\n%s' % run.result())
    try:
        oauth.approve_device(S['idp'], m.group(1), 'alice')
    except oauth.OAuthError as e:
        run.kill()
        tap.fail('approving the code failed: %s\n%s' % (e, run.result()))
    r = run.finish(timeout=REFRESH_TTL + 120)
    if r.code == 77:
        tap.skip('with-keyring.sh: %s' % r.stderr.strip())
    codes = dict(re.findall(r'^=== (\w+) (\d+)$', r.stdout, re.M))
    tap.eq(codes.get('login'), '0', 'exit code of login in the keyring session\n%s\n' % r)
    tap.match(r'^Signed in as alice\b.*secret-service', r.stdout, 'stdout of login')
    with open(out, 'rb') as f_out, open(err, 'rb') as f_err:
        token = cli.Result(['mailhaul', 'token', 'gmail:alice'],
                           int(codes.get('token', '-1')), f_out.read(), f_err.read(), 0)
    expect_explained(token, 'gmail:alice')


if __name__ == '__main__':
    why = oauth.available()
    if why:
        print('1..0 # SKIP %s' % why)
        sys.exit(0)
    tap.main(setup=setup)
