# SPDX-License-Identifier: MIT
"""An independent IMAP checker on Python's imaplib: preload mailboxes and read them back.

This is what tests use to put mail on a server and to verify what mailhaul did, so it stays
small and uses nothing of mailhaul. A server is anything with .host, .port(mode), .cafile and
.password(user) (mhtest.dovecot.Dovecot is one).

    conn = imap_client(server, 'alice')                 # IMAP4_SSL, logged in (IMAP LOGIN)
    conn = imap_client(server, 'alice', mode='tls', mech='CRAM-MD5')
    conn = imap_client(server, 'alice', authuser='admin')   # PLAIN, authzid alice
    with session(server, 'alice') as conn: ...          # logs out at the end

    folder_list(conn)          -> [Folder(name, separator, attributes)] (names decoded)
    folder_counts(conn)        -> {name: MESSAGES} for selectable folders
    mailbox_snapshot(conn, f)  -> [Message(sha256, internaldate, flags)] in UID order
    snapshot_all(conn)         -> {name: mailbox_snapshot} for selectable folders
    preload(conn, {folder: [bytes | Mail(body, flags, date)]}) -> expected snapshots
    make_message(n, ...)       -> a small deterministic RFC 5322 message (CRLF)

internaldate is seconds since the epoch (time zones do not matter); flags is a sorted tuple
without \\Recent; sha256 is the hex digest of the message bytes as the server returns them.
"""
import base64
import collections
import contextlib
import datetime
import hashlib
import imaplib
import re
import ssl

Message = collections.namedtuple('Message', 'sha256 internaldate flags')
Folder = collections.namedtuple('Folder', 'name separator attributes')
Mail = collections.namedtuple('Mail', 'body flags date')
Mail.__new__.__defaults__ = ((), None)

MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')
DEFAULT_DATE = 1577880000  # 2020-01-01 12:00:00 UTC; preload adds an hour per message


class CheckError(Exception):
    pass


# -- modified UTF-7 (RFC 3501 5.1.3) -----------------------------------------------------

def mutf7_encode(name):
    out, pending = [], []

    def flush():
        if pending:
            raw = ''.join(pending).encode('utf-16-be')
            out.append('&' + base64.b64encode(raw).decode().rstrip('=').replace('/', ',') + '-')
            pending.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append('&-' if ch == '&' else ch)
        else:
            pending.append(ch)
    flush()
    return ''.join(out)


def mutf7_decode(name):
    if isinstance(name, bytes):
        name = name.decode('ascii')
    out, i = [], 0
    while i < len(name):
        ch = name[i]
        if ch != '&':
            out.append(ch)
            i += 1
            continue
        j = name.index('-', i)
        chunk = name[i + 1:j]
        if not chunk:
            out.append('&')
        else:
            chunk = chunk.replace(',', '/')
            chunk += '=' * (-len(chunk) % 4)
            out.append(base64.b64decode(chunk).decode('utf-16-be'))
        i = j + 1
    return ''.join(out)


def quote(name):
    """A folder name as an IMAP quoted string (modified UTF-7 inside)."""
    enc = mutf7_encode(name)
    return '"' + enc.replace('\\', '\\\\').replace('"', '\\"') + '"'


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# -- connecting ---------------------------------------------------------------------------

def ssl_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def connect(host, port, mode='ssl', cafile=None, timeout=30):
    """An unauthenticated imaplib connection: mode 'ssl', 'tls' (STARTTLS) or 'notls'."""
    if mode == 'ssl':
        return imaplib.IMAP4_SSL(host, port, ssl_context=ssl_context(cafile), timeout=timeout)
    conn = imaplib.IMAP4(host, port, timeout=timeout)
    if mode == 'tls':
        conn.starttls(ssl_context(cafile))
    elif mode != 'notls':
        conn.shutdown()
        raise ValueError('unknown mode %r' % (mode,))
    return conn


def imap_client(server, user, password=None, mode='ssl', mech=None, authuser=None, timeout=30):
    """An imaplib connection to server, logged in as user.

    mech: None = the IMAP LOGIN command; 'PLAIN', 'LOGIN' or 'CRAM-MD5' = AUTHENTICATE.
    authuser: log in as authuser with authuser's password, acting as user (PLAIN authzid).
    """
    if password is None:
        password = server.password(authuser or user)
    conn = connect(server.host, server.port(mode), mode, server.cafile, timeout)
    try:
        if authuser is not None:
            blob = ('%s\0%s\0%s' % (user, authuser, password)).encode()
            conn.authenticate('PLAIN', lambda _challenge: blob)
        elif mech is None:
            conn.login(user, password)
        elif mech.upper() == 'PLAIN':
            blob = ('\0%s\0%s' % (user, password)).encode()
            conn.authenticate('PLAIN', lambda _challenge: blob)
        elif mech.upper() == 'LOGIN':
            answers = [user.encode(), password.encode()]
            conn.authenticate('LOGIN', lambda _challenge: answers.pop(0))
        elif mech.upper() == 'CRAM-MD5':
            conn.login_cram_md5(user, password)
        else:
            raise ValueError('unknown mechanism %r' % (mech,))
    except BaseException:
        try:
            conn.shutdown()
        except Exception:
            pass
        raise
    return conn


@contextlib.contextmanager
def session(server, user, **kw):
    conn = imap_client(server, user, **kw)
    try:
        yield conn
    finally:
        try:
            conn.logout()
        except Exception:
            pass


def _ok(typ, dat, what):
    if typ != 'OK':
        raise CheckError('%s failed: %s %r' % (what, typ, dat))
    return dat


def capabilities(conn):
    dat = _ok(*conn.capability(), 'CAPABILITY')
    return set(dat[-1].decode().upper().split())


# -- folders ------------------------------------------------------------------------------

_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"')


def _unquote(b):
    return re.sub(rb'\\(.)', rb'\1', b)


def _parse_list_item(head, literal=None):
    m = re.match(rb'\(([^)]*)\) ', head)
    if not m:
        raise CheckError('cannot parse LIST response %r' % (head,))
    attrs = tuple(a.decode() for a in m.group(1).split())
    rest = head[m.end():]
    if rest.startswith(b'NIL'):
        sep, rest = None, rest[3:]
    else:
        q = _QUOTED.match(rest)
        if not q:
            raise CheckError('cannot parse LIST separator in %r' % (head,))
        sep, rest = _unquote(q.group(1)).decode(), rest[q.end():]
    rest = rest.lstrip(b' ')
    if literal is not None:
        raw = literal
    elif rest.startswith(b'"'):
        q = _QUOTED.match(rest)
        if not q:
            raise CheckError('cannot parse LIST name in %r' % (head,))
        raw = _unquote(q.group(1))
    else:
        raw = rest.split(b' ', 1)[0]
    return Folder(mutf7_decode(raw), sep, attrs)


def _list_items(dat):
    items, skip_tail = [], False
    for entry in dat:
        if entry is None:
            continue
        if isinstance(entry, tuple):
            items.append(_parse_list_item(entry[0], entry[1]))
            skip_tail = True
            continue
        if skip_tail and not entry.strip():
            skip_tail = False
            continue
        skip_tail = False
        items.append(_parse_list_item(entry))
    return items


def folder_list(conn, pattern='*'):
    """All folders as [Folder(name, separator, attributes)], in the server's order.

    Asks for special-use attributes (LIST ... RETURN (CHILDREN SPECIAL-USE)) when the server
    offers SPECIAL-USE and LIST-EXTENDED, otherwise sends a plain LIST.
    """
    caps = capabilities(conn)
    pat = quote(pattern)
    if 'SPECIAL-USE' in caps and 'LIST-EXTENDED' in caps:
        typ, dat = conn._simple_command('LIST', '""', pat, 'RETURN', '(CHILDREN SPECIAL-USE)')
    else:
        typ, dat = conn._simple_command('LIST', '""', pat)
    typ, dat = conn._untagged_response(typ, dat, 'LIST')
    return _list_items(_ok(typ, dat, 'LIST'))


def selectable(folder):
    attrs = {a.lower() for a in folder.attributes}
    return not attrs & {'\\noselect', '\\nonexistent'}


def status_messages(conn, name):
    dat = _ok(*conn.status(quote(name), '(MESSAGES)'), 'STATUS %s' % name)
    # Look only outside literals (a folder name sent as a literal could contain anything).
    text = b' '.join(d[0] if isinstance(d, tuple) else d for d in dat if d is not None)
    m = re.search(rb'\(([^()]*)\)\s*$', text)
    m = m and re.search(rb'MESSAGES (\d+)', m.group(1))
    if not m:
        raise CheckError('no MESSAGES in STATUS reply %r' % (dat,))
    return int(m.group(1))


def folder_counts(conn):
    """{folder name: number of messages} for every selectable folder."""
    return {f.name: status_messages(conn, f.name) for f in folder_list(conn) if selectable(f)}


def create_folder(conn, name, subscribe=True):
    """CREATE name (fine if it exists already) and SUBSCRIBE it."""
    typ, dat = conn.create(quote(name))
    if typ != 'OK' and b'ALREADYEXISTS' not in b' '.join(d for d in dat if d) \
            and b'exists' not in b' '.join(d for d in dat if d):
        raise CheckError('CREATE %s failed: %r' % (name, dat))
    if subscribe:
        conn.subscribe(quote(name))


# -- messages -----------------------------------------------------------------------------

def format_internaldate(epoch):
    t = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
    return '"%02d-%s-%04d %02d:%02d:%02d +0000"' % (t.day, MONTHS[t.month - 1], t.year,
                                                   t.hour, t.minute, t.second)


_DATE = re.compile(rb'INTERNALDATE "\s?(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) '
                   rb'([+-])(\d\d)(\d\d)"')


def parse_internaldate(text):
    """Seconds since the epoch from a FETCH response containing INTERNALDATE "..."."""
    m = _DATE.search(text)
    if not m:
        raise CheckError('no INTERNALDATE in %r' % (text,))
    day, mon, year, hh, mm, ss, sign, tzh, tzm = m.groups()
    month = MONTHS.index(mon.decode().capitalize()) + 1
    offset = datetime.timedelta(hours=int(tzh), minutes=int(tzm))
    if sign == b'-':
        offset = -offset
    t = datetime.datetime(int(year), month, int(day), int(hh), int(mm), int(ss),
                          tzinfo=datetime.timezone(offset))
    return int(t.timestamp())


def normalize_flags(flags):
    return tuple(sorted(f for f in flags if f.lower() != '\\recent'))


def _parse_flags(text):
    m = re.search(rb'FLAGS \(([^)]*)\)', text)
    if not m:
        raise CheckError('no FLAGS in %r' % (text,))
    return normalize_flags(f.decode() for f in m.group(1).split())


def select(conn, folder, readonly=True):
    """SELECT (or EXAMINE) folder; return the number of messages."""
    dat = _ok(*conn.select(quote(folder), readonly=readonly), 'SELECT %s' % folder)
    return int(dat[0])


def _metadata(conn, folder, n):
    meta = {}
    for entry in _ok(*conn.fetch('1:*', '(UID FLAGS INTERNALDATE)'), 'FETCH'):
        if not isinstance(entry, bytes) or b'INTERNALDATE' not in entry:
            continue  # unsolicited flag updates and the like
        seq = int(entry.split(b' ', 1)[0])
        uid = int(re.search(rb'UID (\d+)', entry).group(1))
        meta[seq] = {'uid': uid, 'flags': _parse_flags(entry),
                     'internaldate': parse_internaldate(entry)}
    if sorted(meta) != list(range(1, n + 1)):
        raise CheckError('%s: %d messages, FETCH returned sequence numbers %s' %
                         (folder, n, sorted(meta)))
    return meta


def _bodies(conn, folder, n, batch=200):
    """Yield (sequence number, message bytes), fetching batch messages at a time."""
    for first in range(1, n + 1, batch):
        last = min(n, first + batch - 1)
        got = set()
        for entry in _ok(*conn.fetch('%d:%d' % (first, last), '(BODY.PEEK[])'), 'FETCH BODY'):
            if isinstance(entry, tuple) and b'BODY[]' in entry[0]:
                seq = int(entry[0].split(b' ', 1)[0])
                got.add(seq)
                yield seq, entry[1]
        if got != set(range(first, last + 1)):
            raise CheckError('%s: bodies missing for %s' %
                             (folder, sorted(set(range(first, last + 1)) - got)))


def fetch_messages(conn, folder):
    """[{'uid', 'flags', 'internaldate', 'body'}] of folder, in UID order (read-only)."""
    n = select(conn, folder)
    if n == 0:
        return []
    meta = _metadata(conn, folder, n)
    for seq, body in _bodies(conn, folder, n):
        meta[seq]['body'] = body
    return [meta[s] for s in sorted(meta, key=lambda s: meta[s]['uid'])]


def mailbox_snapshot(conn, folder, digest=sha256):
    """[Message(sha256, internaldate, flags)] of folder in UID order (read-only).

    Bodies are fetched in batches and only their digests kept, so large mailboxes are fine.
    digest: bytes -> hex digest (mhtest.compare.rewrite_digest ignores what servers are known
    to rewrite).
    """
    n = select(conn, folder)
    if n == 0:
        return []
    meta = _metadata(conn, folder, n)
    for seq, body in _bodies(conn, folder, n):
        meta[seq]['sha256'] = digest(body)
    return [Message(m['sha256'], m['internaldate'], m['flags'])
            for m in sorted(meta.values(), key=lambda m: m['uid'])]


def snapshot_all(conn):
    """{folder: mailbox_snapshot} for every selectable folder."""
    return {f.name: mailbox_snapshot(conn, f.name) for f in folder_list(conn) if selectable(f)}


def append(conn, folder, body, flags=(), date=None):
    """APPEND body to folder with flags and INTERNALDATE date (epoch seconds, default now).

    Returns the expected Message; body is normalised to CRLF line ends first (as imaplib
    does anyway), so the returned sha256 is that of the stored bytes.
    """
    if isinstance(body, str):
        body = body.encode()
    body = imaplib.MapCRLF.sub(b'\r\n', body)
    if date is None:
        date = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
    flags = tuple(flags)
    flag_arg = '(%s)' % ' '.join(flags) if flags else None
    _ok(*conn.append(quote(folder), flag_arg, format_internaldate(date), body),
        'APPEND to %s' % folder)
    return Message(sha256(body), int(date), normalize_flags(flags))


def preload(conn, folders):
    """Create folders and APPEND messages; return {folder: expected mailbox_snapshot}.

    folders: {name: [message]} where a message is bytes/str or Mail(body, flags, date).
    Without a date, message i of a folder gets DEFAULT_DATE + i hours, so the expectation
    is exact. Existing messages in a folder are not part of the returned expectation.
    """
    expected = {}
    for name, messages in folders.items():
        if name.upper() != 'INBOX':
            create_folder(conn, name)
        out = expected.setdefault(name, [])
        for i, msg in enumerate(messages):
            if not isinstance(msg, Mail):
                msg = Mail(msg)
            date = msg.date if msg.date is not None else DEFAULT_DATE + 3600 * i
            out.append(append(conn, name, msg.body, msg.flags, date))
    return expected


def make_message(n, subject=None, body=None, size=None, sender='sender@example.com',
                 to='alice@example.com', date=None, headers=()):
    """A deterministic RFC 5322 message (bytes, CRLF). size pads the body to that length."""
    if date is None:
        date = DEFAULT_DATE + 3600 * n
    when = datetime.datetime.fromtimestamp(int(date), datetime.timezone.utc)
    subject = subject if subject is not None else 'Test message %d' % n
    lines = ['From: Sender <%s>' % sender,
             'To: <%s>' % to,
             'Subject: %s' % subject,
             'Date: %s, %02d %s %04d %02d:%02d:%02d +0000' % (
                 ('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')[when.weekday()],
                 when.day, MONTHS[when.month - 1], when.year, when.hour, when.minute,
                 when.second),
             'Message-ID: <mhtest-%d-%s@example.com>' % (n, sha256(subject.encode())[:12]),
             'MIME-Version: 1.0',
             'Content-Type: text/plain; charset=utf-8']
    lines += list(headers)
    text = body if body is not None else 'This is test message number %d.\n' % n
    data = ('\r\n'.join(lines) + '\r\n\r\n' + text.replace('\r\n', '\n').replace(
        '\n', '\r\n')).encode()
    if size is not None and size > len(data):
        pad, line = size - len(data), b'x' * 76 + b'\r\n'
        data += line * (pad // len(line)) + b'y' * (pad % len(line))
    return data


def answer(conn, fn, *args):
    """(status, text) of an imaplib call, also when imaplib raises for NO/BAD/BYE."""
    try:
        typ, dat = fn(*args)
        return typ, b' '.join(d if isinstance(d, bytes) else d[0] for d in dat if d).decode()
    except (imaplib.IMAP4.abort, imaplib.IMAP4.error) as e:
        return 'raised', str(e)
