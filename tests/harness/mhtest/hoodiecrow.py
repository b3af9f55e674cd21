# SPDX-License-Identifier: MIT
"""A Gmail-like IMAP server with X-GM-EXT-1 for the label tests: hoodiecrow-imap (npm), run
by tests/hoodiecrow/server.js on 127.0.0.1, preloaded from a JSON file written here.

    msgs = [hoodiecrow.GmailMessage(imapcheck.make_message(1), labels=['\\\\Inbox', 'Work'],
                                    flags=['\\\\Seen'], date=imapcheck.DEFAULT_DATE)]
    with hoodiecrow.Hoodiecrow(users={'alice': 'pw'}, messages=msgs) as hc:
        hc.host, hc.port('notls')              # cleartext IMAP (see TLS below)
        conn = hc.imap_client('alice')         # imaplib.IMAP4, logged in
        hc.folders('alice')                    # {name: set of LIST attributes}
        hc.messages('alice', 'INBOX')          # [Fetched(uid, msgid, labels, flags, date,
                                               #          sha256, message_id)]
        hc.all_messages('alice')               # {folder: [Fetched ...]} for every folder

The default folder tree is Gmail's: INBOX, a \\Noselect "[Gmail]" with All Mail (\\All),
Drafts, Important, Sent Mail, Spam (\\Junk), Starred (\\Flagged) and Trash. A message sits
in the folder of each of its labels and in All Mail (unless in Spam or Trash); every copy
has the same X-GM-MSGID. hoodiecrow keeps everything in memory: each start is fresh.

TLS: with pki=certs.TestPKI() the port speaks implicit TLS (hoodiecrow's secureConnection)
with the test CA's server certificate (hc.cafile, mode 'ssl'); without it the server is
cleartext on loopback (mode 'notls'). STARTTLS is not offered (hoodiecrow's plugin is not
loaded).
Messages travel as JSON text: keep them ASCII (imapcheck.make_message is).

The server is a child of the test, stopped by PID (SIGTERM, then SIGKILL) by stop(), by the
cleanup handlers when the test is killed, and by a watchdog (cleanup.Guard) after SIGKILL; it
also exits when its stdin closes. node and `npm ci` in tests/hoodiecrow are needed
(scripts/test does it); available() says what is missing.
"""
import collections
import email.parser
import email.policy
import imaplib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading

from . import cleanup, imapcheck, ports

HC_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'hoodiecrow'))
SERVER_JS = os.path.join(HC_DIR, 'server.js')

GMAIL_FOLDERS = [
    {'path': '[Gmail]', 'flags': ['\\Noselect']},
    {'path': '[Gmail]/All Mail', 'special_use': '\\All'},
    {'path': '[Gmail]/Drafts', 'special_use': '\\Drafts'},
    {'path': '[Gmail]/Important', 'special_use': '\\Important'},
    {'path': '[Gmail]/Sent Mail', 'special_use': '\\Sent'},
    {'path': '[Gmail]/Spam', 'special_use': '\\Junk'},
    {'path': '[Gmail]/Starred', 'special_use': '\\Flagged'},
    {'path': '[Gmail]/Trash', 'special_use': '\\Trash'},
]

SYSTEM_LABELS = ('\\Inbox', '\\Sent', '\\Draft', '\\Starred', '\\Important', '\\Spam',
                 '\\Trash')


class HoodiecrowError(Exception):
    pass


def available():
    """None if the server can run here, else the reason (for a skip)."""
    if shutil.which('node') is None:
        return 'node is not installed'
    if not os.path.isdir(os.path.join(HC_DIR, 'node_modules', 'hoodiecrow-imap')):
        return 'tests/hoodiecrow/node_modules is missing (run npm ci in tests/hoodiecrow)'
    return None


class GmailMessage:
    """One Gmail message: its bytes, labels (Gmail names: '\\\\Inbox', '\\\\Sent', 'Work'),
    flags, INTERNALDATE (epoch seconds) and X-GM-MSGID (None: the server numbers it)."""

    def __init__(self, body, labels=('\\Inbox',), flags=(), date=None, msgid=None):
        if isinstance(body, str):
            body = body.encode()
        self.body = imaplib.MapCRLF.sub(b'\r\n', body)
        self.labels = list(labels)
        self.flags = list(flags)
        self.date = date if date is not None else imapcheck.DEFAULT_DATE
        self.msgid = msgid

    @property
    def sha256(self):
        return imapcheck.sha256(self.body)

    def to_json(self):
        d = {'raw': self.body.decode('latin-1'), 'flags': self.flags,
             'internaldate': imapcheck.format_internaldate(self.date).strip('"'),
             'labels': self.labels}
        if self.msgid is not None:
            d['gm_msgid'] = str(self.msgid)
        return d


Fetched = collections.namedtuple(
    'Fetched', 'uid msgid labels flags date sha256 message_id')

_FETCH_RE = re.compile(rb'X-GM-MSGID (\d+)')


def _parse_labels(meta):
    """The X-GM-LABELS list from a FETCH response's metadata (bytes), as str."""
    at = meta.find(b'X-GM-LABELS (')
    if at < 0:
        return []
    s = meta[at + len(b'X-GM-LABELS ('):]
    labels, i = [], 0
    while i < len(s) and s[i:i + 1] != b')':
        c = s[i:i + 1]
        if c == b' ':
            i += 1
        elif c == b'"':
            j, buf = i + 1, b''
            while s[j:j + 1] != b'"':
                if s[j:j + 1] == b'\\':
                    j += 1
                buf += s[j:j + 1]
                j += 1
            labels.append(buf)
            i = j + 1
        else:
            j = i
            while j < len(s) and s[j:j + 1] not in (b' ', b')'):
                j += 1
            labels.append(s[i:j])
            i = j
    return [imapcheck.mutf7_decode(x.decode()) for x in labels]


class Hoodiecrow(cleanup.ServerProcess):
    """hoodiecrow-imap on 127.0.0.1:PORT, as a context manager. Keyword arguments:

    users        {user: password} (XOAUTH2 token for a user: 'token-' + user)
    folders      folder definitions (see server.js); default GMAIL_FOLDERS
    messages     [GmailMessage]
    plugins      hoodiecrow plugin names (default: server.js's Gmail-like set)
    appendlimit  bytes, announced and enforced; 0 = none
    pki          a certs.TestPKI: implicit TLS with its server certificate, else cleartext
    greeting     the greeting's text (default: Gmail's "Gimap ready for requests from ...")
    """

    host = ports.LOOPBACK

    def __init__(self, users=None, folders=None, messages=(), plugins=None, appendlimit=0,
                 pki=None, greeting=None, start_timeout=15.0):
        self.users = dict(users if users is not None else {'alice': 'alice-pw'})
        self.folder_defs = list(folders if folders is not None else GMAIL_FOLDERS)
        self.messages_in = list(messages)
        self.plugins = plugins
        self.appendlimit = appendlimit
        self.pki = pki
        self.greeting = greeting
        self.tls = (pki.server_cert, pki.server_key) if pki is not None else None
        self.start_timeout = start_timeout
        self.dir = None
        self._port = None
        self._proc = None
        self._guard = None
        self._handle = None
        self._lock = threading.Lock()

    @property
    def log_path(self):
        return os.path.join(self.dir, 'server.log')

    def password(self, user):
        return self.users[user]

    @property
    def cafile(self):
        return self.pki.ca if self.pki is not None else None

    def port(self, mode):
        """The port for a client TLS mode (as Dovecot.port): 'ssl' with a pki, else 'notls'."""
        want = 'ssl' if self.tls else 'notls'
        if mode != want:
            raise HoodiecrowError('this instance speaks only %s' % want)
        return self._port

    def _config(self):
        cfg = {'users': self.users, 'folders': self.folder_defs,
               'messages': [m.to_json() for m in self.messages_in]}
        if self.plugins is not None:
            cfg['plugins'] = list(self.plugins)
        if self.appendlimit:
            cfg['appendlimit'] = self.appendlimit
        if self.greeting:
            cfg['greeting'] = self.greeting
        if self.tls:
            cfg['tls'] = {'cert': self.tls[0], 'key': self.tls[1]}
        return cfg

    # -- start and stop -------------------------------------------------------------------

    def start(self):
        if self._proc is not None:
            raise HoodiecrowError('already started')
        why = available()
        if why:
            raise HoodiecrowError(why)
        self._handle = cleanup.register(self.stop)
        try:
            self.dir = tempfile.mkdtemp(prefix='mhtest-hoodiecrow-')
            conf = os.path.join(self.dir, 'config.json')
            with open(conf, 'w') as f:
                json.dump(self._config(), f)
            with open(self.log_path, 'wb') as log:
                self._proc = subprocess.Popen(
                    ['node', SERVER_JS, conf, '0'], cwd=HC_DIR, stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=log, close_fds=True)
            self._guard = cleanup.Guard(self._proc.pid, [self.dir])
            self._port = self._wait_ready(HoodiecrowError, 'hoodiecrow')
            return self
        except BaseException:
            self.stop()
            raise

    def cli_args(self, side):
        """mailhaul sync options for this server as side 1 or 2 (cleartext: --notlsN)."""
        if not self.tls:
            return ['--host%d' % side, self.host, '--port%d' % side, str(self._port),
                    '--notls%d' % side]
        return ['--host%d' % side, self.host, '--port%d' % side, str(self._port),
                '--ssl%d' % side, '--cafile%d' % side, self.cafile]

    # -- reading back with imaplib -------------------------------------------------------

    def imap_client(self, user, password=None, timeout=30):
        """An imaplib connection logged in as user."""
        conn = imapcheck.connect(self.host, self._port, 'ssl' if self.tls else 'notls',
                                 self.cafile, timeout)
        conn.login(user, password if password is not None else self.users[user])
        return conn

    def folders(self, user):
        """{name: set of attributes (lower case)} from LIST "" "*"."""
        conn = self.imap_client(user)
        try:
            return {f.name: {a.lower() for a in f.attributes}
                    for f in imapcheck.folder_list(conn)}
        finally:
            conn.logout()

    def _fetch(self, conn, folder):
        typ, data = conn.select(imapcheck.quote(folder), readonly=True)
        if typ != 'OK':
            raise HoodiecrowError('SELECT %s failed: %r' % (folder, data))
        typ, data = conn.uid('FETCH', '1:*', '(UID FLAGS INTERNALDATE X-GM-MSGID X-GM-LABELS '
                                             'BODY.PEEK[])')
        if typ != 'OK':
            raise HoodiecrowError('FETCH in %s failed: %r' % (folder, data))
        out = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta, body = item
            uid = int(re.search(rb'UID (\d+)', meta).group(1))
            msgid = int(_FETCH_RE.search(meta).group(1))
            flags = re.search(rb'FLAGS \(([^)]*)\)', meta).group(1).decode().split()
            hdr = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(body)
            out.append(Fetched(uid, msgid, sorted(_parse_labels(meta)),
                               imapcheck.normalize_flags(flags),
                               imapcheck.parse_internaldate(meta),
                               imapcheck.sha256(body), hdr.get('Message-ID')))
        return out

    def messages(self, user, folder):
        """The messages of folder in UID order, as Fetched tuples."""
        conn = self.imap_client(user)
        try:
            return self._fetch(conn, folder)
        finally:
            conn.logout()

    def all_messages(self, user):
        """{folder: [Fetched]} for every selectable folder."""
        names = [n for n, attrs in self.folders(user).items() if '\\noselect' not in attrs]
        conn = self.imap_client(user)
        try:
            return {n: self._fetch(conn, n) for n in names}
        finally:
            conn.logout()

    def labels_by_msgid(self, user, folder='[Gmail]/All Mail'):
        """{X-GM-MSGID: sorted labels} of the messages in folder (default All Mail)."""
        return {m.msgid: m.labels for m in self.messages(user, folder)}

    def __repr__(self):
        return '<Hoodiecrow %s>' % (self._port if self._port else 'stopped')


def user_labels(labels):
    """The labels that are not Gmail system labels."""
    return sorted(x for x in labels if x not in SYSTEM_LABELS)
