# SPDX-License-Identifier: MIT
"""A real OAuth2 authorization server (oidc-provider, tests/oauth/server.mjs) on loopback,
helpers that act as the user on its real login and consent pages, and the Dovecot settings
that make Dovecot check its tokens (passdb oauth2 via token introspection).

    with oauth.OAuthServer(access_token_ttl=20) as idp:
        idp.issuer, idp.token_endpoint, idp.device_authorization_endpoint, ...
        idp.native_client_id                          # public: device, code + PKCE, refresh
        idp.cc_client_id, idp.cc_client_secret        # confidential: client_credentials
        idp.introspect_client_id/_secret              # confidential: Dovecot introspection
        idp.jwt_client_id                             # jwt-bearer (with jwt_public_key=PEM)
        tok = oauth.token_for(idp, 'alice')           # {'access_token', 'refresh_token', ...}
        d = oauth.device_authorize(idp)               # what a client gets from /device/auth
        oauth.approve_device(idp, d['user_code'], 'alice')   # or deny_device(...)
        oauth.approve_authorization(url, 'alice')     # walks login + consent, GETs redirect
        dv = dovecot.Dovecot(pki, users=..., **oauth.dovecot_options(idp))
        ok, challenges, err = oauth.imap_authenticate(dv, 'alice', 'XOAUTH2', token)

Everything here is the Python standard library; the server needs node and `npm ci` in
tests/oauth (scripts/test does it). available() says what is missing.
"""
import base64
import hashlib
import html.parser
import http.cookiejar
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from . import cleanup, ports

OAUTH_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'oauth'))
SERVER_JS = os.path.join(OAUTH_DIR, 'server.mjs')
FAKE_BROWSER = os.path.join(OAUTH_DIR, 'fake-browser.py')

GOOGLE_SCOPE = 'https://mail.google.com/'
MICROSOFT_SCOPES = ('https://outlook.office.com/IMAP.AccessAsUser.All',
                    'https://outlook.office365.com/.default')
DEFAULT_SCOPES = (GOOGLE_SCOPE,) + MICROSOFT_SCOPES + ('email', 'mail.read')

DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'


class OAuthError(Exception):
    pass


def available():
    """None if the server can run here, else the reason (for a skip)."""
    if shutil.which('node') is None:
        return 'node is not installed'
    if not os.path.isdir(os.path.join(OAUTH_DIR, 'node_modules', 'oidc-provider')):
        return 'tests/oauth/node_modules is missing (run npm ci in tests/oauth)'
    return None


def _traversable(path):
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


class OAuthServer(cleanup.ServerProcess):
    """oidc-provider on http://127.0.0.1:PORT, as a context manager.

    access_token_ttl  seconds (20 for refresh tests)
    device_interval   seconds between device-flow polls (faster polls get slow_down)
    scopes            scopes the mail resource accepts; others are dropped silently
    accounts          {login: email} when the e-mail (Dovecot's user name) differs from the
                      login name typed on the login page
    jwt_public_key    PEM text (or a path) of the key that verifies JWT-bearer assertions;
                      jwt_issuer / jwt_audience override iss (default jwt_client_id) and aud
                      (default the token endpoint)
    extra_clients     more oidc-provider client metadata dicts
    device_blocked    True: Conditional Access blocks the device code flow, as Entra ID
                      answers it (see server.mjs): once the user has signed in for a device
                      code, its poll gets HTTP 400 invalid_grant "AADSTS53003: Access has been
                      blocked by Conditional Access policies..." instead of tokens
    """

    host = ports.LOOPBACK

    def __init__(self, access_token_ttl=3600, refresh_token_ttl=14 * 24 * 3600,
                 device_interval=1, scopes=DEFAULT_SCOPES, accounts=None,
                 jwt_public_key=None, jwt_issuer=None, jwt_audience=None,
                 extra_clients=(), start_timeout=20.0, device_blocked=False):
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self.device_interval = device_interval
        self.scopes = list(scopes)
        self.accounts = dict(accounts or {})
        self.jwt_public_key = jwt_public_key
        self.jwt_issuer = jwt_issuer
        self.jwt_audience = jwt_audience
        self.extra_clients = list(extra_clients)
        self.start_timeout = start_timeout
        self.device_blocked = device_blocked
        self.native_client_id = 'mailhaul-native'
        self.cc_client_id = 'mailhaul-app'
        self.cc_client_secret = 'app-' + secrets.token_hex(12)
        self.introspect_client_id = 'dovecot'
        self.introspect_client_secret = 'dovecot-' + secrets.token_hex(12)
        self.jwt_client_id = 'mailhaul-sa@test.iam.example'
        self.dir = None
        self.port = None
        self._proc = None
        self._guard = None
        self._handle = None
        self._lock = threading.Lock()

    # -- addresses ------------------------------------------------------------------------

    @property
    def issuer(self):
        return 'http://%s:%d' % (self.host, self.port)

    def url(self, path):
        return self.issuer + path

    @property
    def authorization_endpoint(self):
        return self.url('/auth')

    @property
    def token_endpoint(self):
        return self.url('/token')

    @property
    def device_authorization_endpoint(self):
        return self.url('/device/auth')

    @property
    def verification_uri(self):
        return self.url('/device')

    @property
    def revocation_endpoint(self):
        return self.url('/token/revocation')

    @property
    def introspection_endpoint(self):
        return self.url('/token/introspection')

    @property
    def endpoints(self):
        return {'issuer': self.issuer, 'authorization': self.authorization_endpoint,
                'token': self.token_endpoint,
                'device_authorization': self.device_authorization_endpoint,
                'revocation': self.revocation_endpoint,
                'introspection': self.introspection_endpoint}

    @property
    def log_path(self):
        return os.path.join(self.dir, 'server.log')

    def provider_section(self, name, dv, scope, client_id=None, client_secret=None,
                         store='file', flow='device'):
        """A mailhaul config file section `[provider name]` for Dovecot dv (implicit TLS)
        signing in at this server. client_id: None for the native client, False for none."""
        lines = ['[provider %s]' % name,
                 'imap-host = %s' % dv.host,
                 'imap-port = %d' % dv.port('ssl'),
                 'imap-tls = ssl',
                 'cafile = %s' % dv.cafile,
                 'auth-url = %s' % self.authorization_endpoint,
                 'token-url = %s' % self.token_endpoint,
                 'device-url = %s' % self.device_authorization_endpoint,
                 'revoke-url = %s' % self.revocation_endpoint,
                 'scopes = %s' % scope]
        if client_id is not False:
            lines.append('client-id = %s' % (client_id or self.native_client_id))
        if client_secret is not None:
            lines.append('client-secret = %s' % client_secret)
        lines += ['flow = %s' % flow, 'token-store = %s' % store]
        return '\n'.join(lines) + '\n'

    # -- configuration --------------------------------------------------------------------

    def _clients(self):
        clients = [
            {'client_id': self.native_client_id, 'client_name': 'mailhaul (test)',
             'application_type': 'native', 'token_endpoint_auth_method': 'none',
             'grant_types': [DEVICE_GRANT, 'authorization_code', 'refresh_token'],
             'response_types': ['code'],
             'redirect_uris': ['http://127.0.0.1', 'http://127.0.0.1/']},
            {'client_id': self.cc_client_id, 'client_secret': self.cc_client_secret,
             'grant_types': ['client_credentials'], 'response_types': [],
             'redirect_uris': []},
            {'client_id': self.introspect_client_id,
             'client_secret': self.introspect_client_secret,
             'grant_types': ['client_credentials'], 'response_types': [],
             'redirect_uris': []},
        ]
        if self.jwt_public_key is not None:
            clients.append({'client_id': self.jwt_client_id, 'grant_types': [JWT_BEARER_GRANT],
                            'token_endpoint_auth_method': 'none', 'response_types': [],
                            'redirect_uris': []})
        return clients + self.extra_clients

    def _config(self):
        cfg = {'resource': 'https://mail.test/', 'scopes': self.scopes,
               'access_token_ttl': self.access_token_ttl,
               'refresh_token_ttl': self.refresh_token_ttl,
               'device_interval': self.device_interval, 'accounts': self.accounts,
               'clients': self._clients()}
        if self.jwt_public_key is not None:
            key = self.jwt_public_key
            if '-----BEGIN' not in key:
                with open(key) as f:
                    key = f.read()
            jb = {'client_id': self.jwt_client_id, 'public_key': key}
            if self.jwt_issuer:
                jb['issuer'] = self.jwt_issuer
            if self.jwt_audience:
                jb['audience'] = self.jwt_audience
            cfg['jwt_bearer'] = jb
        if self.device_blocked:
            cfg['device_blocked'] = True
        return cfg

    # -- start and stop -------------------------------------------------------------------

    def start(self):
        if self._proc is not None:
            raise OAuthError('already started')
        why = available()
        if why:
            raise OAuthError(why)
        self._handle = cleanup.register(self.stop)
        try:
            base = tempfile.gettempdir()
            if os.geteuid() == 0 and not _traversable(base):
                base = '/tmp'  # as with Dovecot's own directory: its users must reach it
            self.dir = tempfile.mkdtemp(prefix='mhtest-oauth-', dir=base)
            os.chmod(self.dir, 0o711)  # Dovecot's auth process reads the passdb args here
            conf = os.path.join(self.dir, 'config.json')
            with open(conf, 'w') as f:
                json.dump(self._config(), f)
            env = dict(os.environ, OAUTH_EXIT_ON_STDIN_EOF='1')
            env.pop('OAUTH_PORT', None)
            with open(self.log_path, 'wb') as log:
                self._proc = subprocess.Popen(
                    ['node', SERVER_JS, conf, '0'], cwd=OAUTH_DIR, env=env,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                    close_fds=True)
            # If the test is killed (even by SIGKILL) the watchdog stops the server and
            # removes its directory; the server also exits when its stdin closes.
            self._guard = cleanup.Guard(self._proc.pid, [self.dir])
            self.port = self._wait_ready(OAuthError, 'the OAuth2 server')
            return self
        except BaseException:
            self.stop()
            raise

    def __repr__(self):
        return '<OAuthServer %s>' % (self.issuer if self.port else 'stopped')


# -- HTTP as a client ----------------------------------------------------------------------

def _basic(user, password):
    raw = '%s:%s' % (urllib.parse.quote(user, safe=''), urllib.parse.quote(password, safe=''))
    return 'Basic ' + base64.b64encode(raw.encode()).decode()


def post_form(url, fields, auth=None, timeout=30):
    """POST application/x-www-form-urlencoded; return (status, decoded JSON or text).
    auth: (client_id, client_secret) for HTTP Basic."""
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(url, data=data, method='POST', headers={
        'Content-Type': 'application/x-www-form-urlencoded', 'Accept': 'application/json'})
    if auth is not None:
        req.add_header('Authorization', _basic(*auth))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        return status, json.loads(body.decode())
    except ValueError:
        return status, body.decode(errors='replace')


def token_request(server, fields, auth=None):
    """POST to the token endpoint: (status, JSON)."""
    return post_form(server.token_endpoint, fields, auth=auth)


def _ok(status, body, what):
    if status != 200 or not isinstance(body, dict):
        raise OAuthError('%s failed: HTTP %s %s' % (what, status, body))
    return body


def device_authorize(server, scope=GOOGLE_SCOPE, client_id=None):
    """Start a device authorization as the client: the JSON of /device/auth
    (device_code, user_code, verification_uri(_complete), expires_in, interval)."""
    return _ok(*post_form(server.device_authorization_endpoint,
                          {'client_id': client_id or server.native_client_id,
                           'scope': scope}), 'device authorization')


def poll_device(server, device_code, client_id=None):
    """One device-flow token poll: (status, JSON)."""
    return token_request(server, {'grant_type': DEVICE_GRANT, 'device_code': device_code,
                                  'client_id': client_id or server.native_client_id})


def refresh(server, refresh_token, client_id=None, scope=None):
    """A refresh_token grant as the native client: (status, JSON)."""
    fields = {'grant_type': 'refresh_token', 'refresh_token': refresh_token,
              'client_id': client_id or server.native_client_id}
    if scope:
        fields['scope'] = scope
    return token_request(server, fields)


def client_credentials(server, scope=MICROSOFT_SCOPES[1]):
    """A client_credentials grant as the confidential client: (status, JSON)."""
    return token_request(server, {'grant_type': 'client_credentials', 'scope': scope},
                         auth=(server.cc_client_id, server.cc_client_secret))


def introspect(server, token):
    """The introspection answer for token, asked as Dovecot's client."""
    return _ok(*post_form(server.introspection_endpoint, {'token': token},
                          auth=(server.introspect_client_id,
                                server.introspect_client_secret)), 'introspection')


def revoke(server, token, hint=None, client_id=None):
    """Revoke a token as the native client; returns the HTTP status (200)."""
    fields = {'token': token, 'client_id': client_id or server.native_client_id}
    if hint:
        fields['token_type_hint'] = hint
    return post_form(server.revocation_endpoint, fields)[0]


def pkce_pair():
    """(code_verifier, code_challenge) for S256."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()
    return verifier, challenge


def authorization_url(server, redirect_uri, challenge, state, scope=GOOGLE_SCOPE,
                      client_id=None, **extra):
    """The URL a client opens in the browser for the authorization code flow."""
    q = {'response_type': 'code', 'client_id': client_id or server.native_client_id,
         'redirect_uri': redirect_uri, 'scope': scope, 'state': state,
         'code_challenge': challenge, 'code_challenge_method': 'S256'}
    q.update(extra)
    return server.authorization_endpoint + '?' + urllib.parse.urlencode(q)


def exchange_code(server, code, redirect_uri, verifier, client_id=None):
    """The authorization_code grant: (status, JSON)."""
    return token_request(server, {'grant_type': 'authorization_code', 'code': code,
                                  'redirect_uri': redirect_uri, 'code_verifier': verifier,
                                  'client_id': client_id or server.native_client_id})


# -- acting as the user on the real pages --------------------------------------------------

class _Forms(html.parser.HTMLParser):
    """The forms of a page: [{'action', 'method', 'id', 'fields': {name: value}}]."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._cur = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'form':
            self._cur = {'action': a.get('action') or '', 'method': (a.get('method') or 'get')
                         .lower(), 'id': a.get('id'), 'fields': {}}
            self.forms.append(self._cur)
        elif tag == 'input' and self._cur is not None and a.get('name'):
            self._cur['fields'][a['name']] = a.get('value') or ''

    def handle_endtag(self, tag):
        if tag == 'form':
            self._cur = None


def _forms(text):
    p = _Forms()
    p.feed(text)
    return p.forms


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects like a browser, remembering each Location; stops (without
    following) at a URL for which stop(url) is true."""

    def __init__(self, stop=None):
        self.stop = stop
        self.chain = []

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        self.chain.append(newurl)
        if self.stop is not None and self.stop(newurl):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Browser:
    def __init__(self, stop=None, timeout=30):
        self.redirects = _Redirects(stop)
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), self.redirects)
        self.timeout = timeout

    def open(self, url, fields=None):
        """GET (or POST fields); returns (final url, status, text). HTTP errors count as
        pages; a redirect we were told not to follow returns its Location as the url."""
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        req = urllib.request.Request(url, data=data, headers={'User-Agent': 'mhtest-browser'})
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return resp.geturl(), resp.status, resp.read().decode(errors='replace')
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors='replace') if e.fp is not None else ''
            if 300 <= e.code < 400 and e.headers.get('Location'):
                return urllib.parse.urljoin(url, e.headers['Location']), e.code, body
            return e.geturl() or url, e.code, body

    def submit(self, page_url, form, extra):
        fields = dict(form['fields'])
        fields.update(extra)
        return self.open(urllib.parse.urljoin(page_url, form['action']), fields)


def _interactions(browser, url, status, text, login, password, deny):
    """Answer the login and consent pages until neither is shown."""
    for _ in range(8):
        forms = _forms(text) if status == 200 else []
        prompt = next((f for f in forms if f['fields'].get('prompt') in ('login', 'consent')),
                      None)
        if prompt is None:
            return url, status, text
        if deny:
            abort = urllib.parse.urljoin(url, url.rstrip('/') + '/abort') \
                if '/interaction/' in url else None
            if abort:
                return browser.open(abort)
        if prompt['fields']['prompt'] == 'login':
            url, status, text = browser.submit(url, prompt, {'login': login,
                                                             'password': password})
        else:
            url, status, text = browser.submit(url, prompt, {})
    raise OAuthError('too many interaction pages at %s' % url)


def approve_device(server, user_code, login, password='x', deny=False):
    """Act as the user on the device verification page: enter user_code, confirm (or
    abort, with deny=True), sign in as login, consent. Returns the final page text."""
    b = _Browser()
    url, status, text = b.open(server.verification_uri)
    form = next((f for f in _forms(text) if 'xsrf' in f['fields']), None)
    if status != 200 or form is None:
        raise OAuthError('no device code form at %s (HTTP %s)' % (url, status))
    url, status, text = b.submit(url, form, {'user_code': user_code})
    form = next((f for f in _forms(text) if f['fields'].get('confirm') == 'yes'), None)
    if status != 200 or form is None:
        raise OAuthError('the user code %s was not accepted (HTTP %s): %s' %
                         (user_code, status, text[-500:]))
    if deny:
        fields = {k: v for k, v in form['fields'].items() if k != 'confirm'}
        fields['abort'] = 'yes'
        url, status, text = b.open(urllib.parse.urljoin(url, form['action']), fields)
        return text
    url, status, text = b.submit(url, form, {})
    url, status, text = _interactions(b, url, status, text, login, password, False)
    if status != 200 or 'Sign-in Success' not in text:
        raise OAuthError('device approval did not finish (HTTP %s at %s): %s' %
                         (status, url, text[-500:]))
    return text


def deny_device(server, user_code, login='nobody'):
    """Act as the user who refuses the device: the client then gets access_denied."""
    return approve_device(server, user_code, login, deny=True)


def approve_authorization(url, login, password='x', deny=False, follow=True):
    """Act as the user in a browser: open the authorization URL, sign in as login, consent
    (or abort with deny=True), then follow the final redirect to the client's loopback
    redirect URI like a browser does (follow=False: do not GET it, as when the user copies
    the URL by hand). Returns the redirect URL (with code and state, or error)."""
    issuer_netloc = urllib.parse.urlsplit(url).netloc
    final = []

    def leaves_server(u):
        if urllib.parse.urlsplit(u).netloc != issuer_netloc:
            final.append(u)
            return not follow
        return False

    b = _Browser(stop=leaves_server)
    cur, status, text = b.open(url)
    if not final:
        _interactions(b, cur, status, text, login, password, deny)
    if not final:
        raise OAuthError('the authorization did not redirect to the client (last %s)' %
                         (b.redirects.chain[-1:] or [cur]))
    return final[-1]


def token_for(server, user, scope=GOOGLE_SCOPE):
    """A valid token response for user (device flow approved on the real pages):
    {'access_token', 'refresh_token', 'expires_in', 'scope', 'token_type'}."""
    d = device_authorize(server, scope)
    approve_device(server, d['user_code'], user)
    return _ok(*poll_device(server, d['device_code']), 'device token poll')


# -- JWT-bearer assertions (openssl CLI) ---------------------------------------------------

def make_rsa_key(directory, name='sa'):
    """Generate an RSA key pair with openssl; returns (private_key_path, public_pem_text)."""
    priv = os.path.join(directory, name + '.key')
    subprocess.run(['openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt',
                    'rsa_keygen_bits:2048', '-out', priv], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pub = subprocess.run(['openssl', 'pkey', '-in', priv, '-pubout'], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
    return priv, pub


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def make_jwt(private_key_path, claims, header=None):
    """An RS256 JWT signed with openssl (claims: a dict, serialised as given)."""
    head = header or {'alg': 'RS256', 'typ': 'JWT'}
    signing_input = '%s.%s' % (_b64url(json.dumps(head).encode()),
                               _b64url(json.dumps(claims).encode()))
    sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', private_key_path],
                         input=signing_input.encode(), check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout
    return signing_input + '.' + _b64url(sig)


def jwt_claims(server, sub, scope=GOOGLE_SCOPE, lifetime=3600):
    """Google-style service-account claims for the server's jwt client."""
    now = int(time.time())
    return {'iss': server.jwt_issuer or server.jwt_client_id, 'sub': sub, 'scope': scope,
            'aud': server.jwt_audience or server.token_endpoint, 'iat': now,
            'exp': now + lifetime}


def jwt_bearer(server, assertion):
    """The jwt-bearer grant as Google's service accounts send it (no client_id):
    (status, JSON)."""
    return token_request(server, {'grant_type': JWT_BEARER_GRANT, 'assertion': assertion})


# -- Dovecot checking the tokens -----------------------------------------------------------

OAUTH_MECHANISMS = 'xoauth2 oauthbearer'


def dovecot_passdb_args(server, scope=None, path=None):
    """Write the oauth2 passdb args file (Dovecot 2.3 syntax) and return its path."""
    path = path or os.path.join(server.dir, 'dovecot-oauth2.conf.ext')
    lines = ['introspection_mode = post',
             'introspection_url = http://%s:%s@%s:%d/token/introspection' % (
                 urllib.parse.quote(server.introspect_client_id, safe=''),
                 urllib.parse.quote(server.introspect_client_secret, safe=''),
                 server.host, server.port),
             'force_introspection = yes',
             'active_attribute = active',
             'active_value = true',
             'username_attribute = email',
             'timeout_msecs = 10000']
    if scope:
        lines.append('scope = %s' % scope)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.chmod(path, 0o644)  # read by Dovecot's auth process (an unprivileged user as root)
    return path


def dovecot_extra_conf(server, scope=None):
    """The text for Dovecot(extra_conf=...): a passdb that checks XOAUTH2 and OAUTHBEARER
    tokens by introspection at server. dovecot.py's own passwd-file passdb stays first and
    serves the password mechanisms; for an OAuth mechanism it fails (the token is no
    password) and Dovecot goes on to this passdb."""
    return '\n'.join(['passdb {', '  driver = oauth2',
                      '  mechanisms = %s' % OAUTH_MECHANISMS,
                      '  args = %s' % dovecot_passdb_args(server, scope), '}'])


def dovecot_options(server, mechanisms='plain login cram-md5', scope=None, extra_conf=''):
    """Keyword arguments for dovecot.Dovecot: mechanisms + xoauth2 oauthbearer and the
    oauth2 passdb (add your own extra_conf text with extra_conf=)."""
    conf = dovecot_extra_conf(server, scope)
    if extra_conf:
        conf += '\n' + extra_conf
    return {'mechanisms': '%s %s' % (mechanisms, OAUTH_MECHANISMS), 'extra_conf': conf}


def xoauth2_initial(user, token):
    """The XOAUTH2 client response (raw bytes, before base64)."""
    return b'user=%s\x01auth=Bearer %s\x01\x01' % (user.encode(), token.encode())


def oauthbearer_initial(user, token, host=ports.LOOPBACK, port=143):
    """The OAUTHBEARER client response (RFC 7628, with a= as Dovecot 2.3 requires)."""
    return b'n,a=%s,\x01host=%s\x01port=%d\x01auth=Bearer %s\x01\x01' % (
        user.encode(), host.encode(), port, token.encode())


def imap_authenticate(dv, user, mech, token, answer=None, mode='ssl'):
    """AUTHENTICATE XOAUTH2 or OAUTHBEARER at Dovecot dv with token, as an independent
    client (imaplib). answer: what to send after an error challenge (b'' for XOAUTH2,
    b'\\x01' for OAUTHBEARER; None cancels with '*'). Returns (ok, challenges, error):
    challenges are the decoded server continuations (the first is empty), error the
    tagged NO text such as '[AUTHENTICATIONFAILED] Authentication failed.'."""
    import imaplib
    from . import imapcheck
    mech = mech.upper()
    port = dv.port(mode)
    if mech == 'XOAUTH2':
        first = xoauth2_initial(user, token)
    elif mech == 'OAUTHBEARER':
        first = oauthbearer_initial(user, token, dv.host, port)
    else:
        raise ValueError('mech must be XOAUTH2 or OAUTHBEARER')
    seen = []

    def respond(challenge):
        seen.append(challenge)
        return first if len(seen) == 1 else answer

    conn = imapcheck.connect(dv.host, port, mode, dv.cafile, 30)
    try:
        conn.authenticate(mech, respond)
        conn.select('INBOX')
        return True, seen, ''
    except imaplib.IMAP4.error as e:
        return False, seen, str(e)
    finally:
        try:
            conn.logout()
        except Exception:
            pass
