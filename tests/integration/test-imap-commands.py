#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The IMAP client library against real Dovecot 2.3, through tests/integration/imap-driver (a
small program on the public API of src/imap). What the client did is checked with Python's
imaplib (mhtest.imapcheck), never only with the client's own view: folder names on the wire,
stored bytes, INTERNALDATE, flags, UIDs. Five private servers: separator '/', separator '.',
one whose capabilities lack LITERAL+ (synchronising literals), one offering LITERAL- and a
minimal one (IMAP4rev1 only: the client's fallbacks).
Where the wire bytes matter (literals, pipelining), a recording TCP proxy sits in between."""
import collections
import contextlib
import datetime
import hashlib
import json
import os
import re
import shlex
import socket
import subprocess
import threading
import time

from mhtest import certs, cli, dovecot, imapcheck, tap

USER, PASSWORD = 'alice', 'Alice-imap-cmds-pw-5150'
DRIVER = os.environ.get('IMAP_DRIVER') or os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'build', 'tests', 'integration',
    'imap-driver'))
# Dovecot 2.3.19's default list without LITERAL+ (top-level imap_capability replaces the
# capability list before and after login; imap-login still adds STARTTLS and AUTH=).
NO_LITERAL_PLUS = ('IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UIDPLUS NAMESPACE '
                   'CONDSTORE SPECIAL-USE LIST-EXTENDED ESEARCH')
# No ESEARCH, CONDSTORE, NAMESPACE, UIDPLUS, SPECIAL-USE or LITERAL+: the fallback paths.
MINIMAL_CAPS = 'IMAP4rev1 ID'
MIB = 1024 * 1024
S = {}


@contextlib.contextmanager
def setup():
    if not os.access(DRIVER, os.X_OK):
        raise RuntimeError('imap-driver not built: %s (set IMAP_DRIVER)' % DRIVER)
    with certs.TestPKI() as pki:
        users = {USER: PASSWORD}
        servers = {
            'slash': dovecot.Dovecot(pki, users=users, separator='/'),
            'dot': dovecot.Dovecot(pki, users=users, separator='.'),
            'nolit': dovecot.Dovecot(pki, users=users,
                                     extra_conf='imap_capability = ' + NO_LITERAL_PLUS),
            'litminus': dovecot.Dovecot(pki, users=users, extra_conf='imap_literal_minus = yes'),
            'minimal': dovecot.Dovecot(pki, users=users,
                                       extra_conf='imap_capability = ' + MINIMAL_CAPS),
            # Announces RFC 8474's OBJECTID, whose MAILBOXID this Dovecot refuses.
            'objectid': dovecot.Dovecot(pki, users=users,
                                        extra_conf='imap_capability = +OBJECTID'),
        }
        with dovecot.running(*servers.values()):
            S.update(servers)
            S['dir'] = cli.scratch_dir()
            S['pwfile'] = cli.write_passfile(S['dir'], PASSWORD)
            yield


# -- running the driver -------------------------------------------------------------------

Run = collections.namedtuple('Run', 'code records stderr seconds args')


def _script_line(op):
    return ' '.join(shlex.quote(str(a)) for a in op)


def drive(dv, *ops, mode='ssl', port=None, opts=(), check=True, timeout=120):
    """Run the driver against dv (or a proxy port) with ops, each a tuple of arguments.
    Returns Run(code, records, stderr, seconds, args); records are the parsed JSON lines."""
    script = os.path.join(S['dir'], 'ops-%d.txt' % time.monotonic_ns())
    with open(script, 'w') as f:
        f.write(''.join(_script_line(op) + '\n' for op in ops))
    if port is None:
        port = dv.port('ssl' if mode == 'ssl' else 'tls')
    args = [DRIVER] + list(opts) + ['--script', script, dv.host, str(port), mode,
                                    dv.cafile if mode != 'none' else '-', USER, S['pwfile']]
    t0 = time.monotonic()
    try:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        tap.fail('imap-driver did not finish within %d s: %s' % (timeout, ' '.join(args)))
    out = p.stdout.decode('utf-8', 'replace')
    records = []
    for line in out.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            tap.fail('imap-driver printed a line that is not JSON: %r\n%s' % (line, out))
    run = Run(p.returncode, records, p.stderr.decode('utf-8', 'replace'),
              time.monotonic() - t0, args)
    if check and p.returncode != 0:
        tap.fail('imap-driver failed (exit %s)\n%s' % (p.returncode, describe(run)))
    return run


def describe(run):
    recs = '\n'.join(json.dumps(r)[:300] for r in run.records[-15:])
    return 'command: %s\nexit: %s\nlast records:\n%s\nstderr:\n%s' % (
        ' '.join(run.args), run.code, recs, run.stderr[-3000:])


def records(run, op):
    return [r for r in run.records if r['op'] == op]


def one(run, op):
    found = records(run, op)
    if len(found) != 1:
        tap.fail('expected one "%s" record, got %d\n%s' % (op, len(found), describe(run)))
    return found[0]


def body(fetch, item='BODY[]'):
    """The body item of a fetch record: {item, len, sha256, streamed[, sink_*]}."""
    found = [b for b in fetch['bodies'] if b['item'] == item]
    if len(found) != 1:
        tap.fail('expected one %s in the FETCH result, got %r' % (item, fetch))
    return found[0]


def write_file(name, data):
    path = os.path.join(S['dir'], name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def sha(data):
    return hashlib.sha256(data).hexdigest()


def imap_epoch(text):
    """Seconds since the epoch of an IMAP date-time, computed here independently."""
    return int(datetime.datetime.strptime(text.strip(), '%d-%b-%Y %H:%M:%S %z').timestamp())


def sized_message(tag, n, size):
    """A message of exactly size bytes with varied content: CRLF lines (no bare CR or LF,
    which a server may rewrite) and no literal-like text, so a misplaced chunk changes its
    digest."""
    head = ('From: <big@example.com>\r\nSubject: %s %d\r\n'
            'Message-ID: <%s-%d@mailhaul.test>\r\n\r\n' % (tag, n, tag, n)).encode()
    parts, total, i = [head], len(head), 0
    if size < total + 2:
        raise ValueError('a %s message needs at least %d bytes' % (tag, total + 2))
    while size - total >= 66 + 2:
        parts.append(hashlib.sha256(b'%d-%d' % (n, i)).hexdigest().encode() + b'\r\n')
        total += 66
        i += 1
    parts.append(b'z' * (size - total - 2) + b'\r\n')
    return b''.join(parts)


# -- the independent view (imaplib) ---------------------------------------------------------

def raw_list(dv):
    """{raw wire name: (separator, attributes)} as imaplib sees LIST "" "*"."""
    with imapcheck.session(dv, USER) as conn:
        typ, dat = conn.list('""', '*')
    tap.eq(typ, 'OK', 'imaplib LIST')
    out = {}
    for line in dat:
        m = re.match(rb'\(([^)]*)\) (NIL|"(?:[^"\\]|\\.)*") (.*)$', line)
        tap.check(m, 'unparsable LIST line %r' % (line,))
        name = m.group(3)
        if name.startswith(b'"'):
            name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
        sep = None if m.group(2) == b'NIL' else m.group(2)[1:-1].decode()
        out[name.decode('ascii')] = (sep, m.group(1).decode())
    return out


def raw_lsub(dv):
    with imapcheck.session(dv, USER) as conn:
        typ, dat = conn.lsub('""', '*')
    tap.eq(typ, 'OK', 'imaplib LSUB')
    names = set()
    for line in dat:
        name = line.rsplit(b' ', 1)[-1] if not line.endswith(b'"') else \
            re.search(rb'"((?:[^"\\]|\\.)*)"$', line).group(1)
        names.add(name.decode('ascii'))
    return names


def imap_messages(dv, folder):
    with imapcheck.session(dv, USER) as conn:
        return imapcheck.fetch_messages(conn, folder)


def imap_status(dv, folder):
    with imapcheck.session(dv, USER) as conn:
        typ, dat = conn.status(imapcheck.quote(folder),
                               '(MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)')
    tap.eq(typ, 'OK', 'imaplib STATUS %s' % folder)
    return {k.decode(): int(v) for k, v in re.findall(rb'([A-Z]+) (\d+)', dat[0])}


def imap_uid_search(dv, folder, *criteria):
    with imapcheck.session(dv, USER) as conn:
        imapcheck.select(conn, folder)
        typ, dat = conn.uid('SEARCH', *criteria)
    tap.eq(typ, 'OK', 'imaplib UID SEARCH')
    return [int(x) for x in dat[0].split()]


# -- a recording proxy ----------------------------------------------------------------------

class Proxy:
    """Forwards a loopback port to a server and records both directions in arrival order:
    ('c', bytes) from the client, ('s', bytes) from the server. Each chunk is recorded before
    it is forwarded, so an answer is always recorded after what it answers."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.events = []
        self._lock = threading.Lock()
        self._socks = []
        self._threads = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(4)
        self._listener.settimeout(0.1)  # close() does not wake a blocked accept()
        self._stopping = False
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept)

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept(self):
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            server = socket.create_connection(self.target, timeout=60)
            client.settimeout(60)
            self._socks += [client, server]
            self._spawn(self._pump, client, server, 'c')
            self._spawn(self._pump, server, client, 's')

    def _pump(self, src, dst, direction):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b''
            if not data:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                return
            with self._lock:
                self.events.append((direction, data))
            try:
                dst.sendall(data)
            except OSError:
                return

    def stream(self, direction):
        with self._lock:
            return b''.join(d for k, d in self.events if k == direction)

    def close(self):
        self._stopping = True
        self._listener.close()
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes a pump blocked in recv()
            with contextlib.suppress(OSError):
                s.close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


Literal = collections.namedtuple('Literal', 'size sync waited same_chunk')
LITERAL_HEADER = re.compile(rb'\{(\d+)(\+?)\}\r\n')


def literals(proxy):
    """Every literal header the client sent: its size, whether it is synchronising, whether a
    server continuation ('+') was recorded between the header and the literal's first byte,
    and whether header and data came in one chunk."""
    spans, off = [], 0
    with proxy._lock:
        events = list(proxy.events)
    for i, (k, data) in enumerate(events):
        if k == 'c':
            spans.append((off, off + len(data), i))
            off += len(data)
    client = b''.join(d for k, d in events if k == 'c')
    conts = [i for i, (k, d) in enumerate(events) if k == 's' and re.search(rb'(^|\n)\+', d)]

    def event_at(pos):
        for start, end, i in spans:
            if start <= pos < end:
                return i
        return None
    out = []
    for m in LITERAL_HEADER.finditer(client):
        size, sync = int(m.group(1)), m.group(2) == b''
        head, first = event_at(m.end() - 1), event_at(m.end())
        waited = first is not None and any(head < j < first for j in conts)
        out.append(Literal(size, sync, waited, head == first))
    return out


def max_in_flight(proxy, verb):
    """The most commands with verb sent and not yet answered at once, as the proxy saw it."""
    with proxy._lock:
        events = list(proxy.events)
    sent, answered, most = set(), set(), 0
    cbuf = sbuf = b''
    for k, data in events:
        if k == 'c':
            cbuf += data
            sent |= {t for t in re.findall(rb'(?:^|\r\n)(A\d+) ' + verb.encode() + rb' ', cbuf)}
            cbuf = cbuf[-200:]
        else:
            sbuf += data
            answered |= set(re.findall(rb'(?:^|\n)(A\d+) (?:OK|NO|BAD)', sbuf))
            sbuf = sbuf[-200:]
        most = max(most, len(sent - answered))
    return most, len(sent)


# -- folders --------------------------------------------------------------------------------

TAIPEI_UTF7 = '&U,BTFw-'      # 台北: U+53F0 U+5317, UTF-16BE 53F0 5317, base64 "U/BTFw"
ENTWURFE_UTF7 = 'Entw&APw-rfe'  # Entwürfe: ü = U+00FC


@tap.test
def create_nested_and_utf8_names_with_slash_separator():
    dv = S['slash']
    run = drive(dv, ('create', 'Work/2020'), ('create', 'Entwürfe'), ('create', '台北'),
                ('create', 'Entwürfe/台北'), ('subscribe', 'Work/2020'),
                ('subscribe', 'Entwürfe'), ('subscribe', '台北'), ('lsub',), ('list', '', '*'),
                ('append', '台北', write_file('taipei', sized_message('taipei', 0, 500))),
                ('status', '台北'), ('examine', 'Entwürfe/台北'))
    wire = raw_list(dv)
    for raw in ('Work/2020', ENTWURFE_UTF7, TAIPEI_UTF7, ENTWURFE_UTF7 + '/' + TAIPEI_UTF7):
        tap.check(raw in wire, 'imaplib LIST lacks %r: %r' % (raw, sorted(wire)))
        tap.eq(wire[raw][0], '/', 'separator of %s' % raw)
    tap.check(not any('ü' in n or '台' in n for n in wire),
              'raw 8-bit folder name on the wire: %r' % sorted(wire))
    subscribed = raw_lsub(dv)
    for raw in ('Work/2020', ENTWURFE_UTF7, TAIPEI_UTF7):
        tap.check(raw in subscribed, 'imaplib LSUB lacks %r: %r' % (raw, sorted(subscribed)))
    tap.check(ENTWURFE_UTF7 + '/' + TAIPEI_UTF7 not in subscribed,
              'a folder never subscribed shows in LSUB: %r' % sorted(subscribed))
    names = one(run, 'lsub')['names']
    for name in ('Work/2020', 'Entwürfe', '台北'):
        tap.check(name in names, 'driver LSUB lacks %r: %r' % (name, names))
    listed = {r['name']: r for r in records(run, 'list')}
    tap.eq(listed.get('Entwürfe/台北', {}).get('raw'), ENTWURFE_UTF7 + '/' + TAIPEI_UTF7,
           'raw name the client reports for Entwürfe/台北')
    tap.eq(listed['Work/2020']['sep'], '/', 'separator the client reports')
    tap.eq(one(run, 'status')['messages'], 1, 'STATUS of 台北 after one APPEND')
    tap.eq(imap_status(dv, '台北')['MESSAGES'], 1, 'messages in 台北 (imaplib)')
    tap.eq(one(run, 'examine')['exists'], 0, 'EXAMINE Entwürfe/台北')


@tap.test
def create_nested_and_utf8_names_with_dot_separator():
    dv = S['dot']
    run = drive(dv, ('create', 'Work.2020'), ('create', 'Entwürfe.台北'),
                ('subscribe', 'Work.2020'), ('lsub',), ('list', '', '*'), ('namespace',))
    wire = raw_list(dv)
    for raw in ('Work.2020', ENTWURFE_UTF7 + '.' + TAIPEI_UTF7):
        tap.check(raw in wire, 'imaplib LIST lacks %r: %r' % (raw, sorted(wire)))
        tap.eq(wire[raw][0], '.', 'separator of %s' % raw)
    tap.check('Work.2020' in raw_lsub(dv), 'Work.2020 not subscribed')
    tap.check('Work.2020' in one(run, 'lsub')['names'], 'driver LSUB lacks Work.2020')
    listed = {r['name']: r for r in records(run, 'list')}
    tap.eq(listed.get('Entwürfe.台北', {}).get('sep'), '.', 'separator the client reports')
    tap.eq(one(run, 'namespace')['personal'], [{'prefix': '', 'sep': '.'}], 'NAMESPACE')


@tap.test
def create_of_an_existing_folder_succeeds():
    dv = S['slash']
    drive(dv, ('create', 'Twice'))
    run = drive(dv, ('create', 'Twice'), check=False)
    tap.eq(run.code, 0, 'exit code of a second CREATE (ALREADYEXISTS)\n' + describe(run))
    tap.check('Twice' in raw_list(dv), 'Twice missing')


EDGE_NAMES = {  # UTF-8 name: wire name (as imaplib sees it, unquoted)
    'Spaced Name': 'Spaced Name',
    'Quote"d': 'Quote"d',
    'back\\slash': 'back\\slash',
    'R&D': 'R&-D',
    'pct%': 'pct%',
    '{5}': '{5}',
    'Ärger & Co': '&AMQ-rger &- Co',
    'NIL': 'NIL',
    'two  spaces': 'two  spaces',
}


@tap.test
def folder_names_that_need_quoting_or_escaping():
    dv = S['slash']
    ops = [('create', name) for name in EDGE_NAMES] + [('list', '', '*')]
    ops += [('status', name) for name in EDGE_NAMES]
    run = drive(dv, *ops)
    wire = raw_list(dv)
    for name, raw in EDGE_NAMES.items():
        tap.check(raw in wire, 'imaplib LIST lacks %r (for %r): %r' % (raw, name, sorted(wire)))
    listed = {r['name']: r['raw'] for r in records(run, 'list')}
    for name, raw in EDGE_NAMES.items():
        tap.eq(listed.get(name), raw, 'LIST as the client parsed it, for %r' % name)
    tap.eq([r['mailbox'] for r in records(run, 'status')], list(EDGE_NAMES), 'STATUS answers')


# -- APPEND and FETCH -----------------------------------------------------------------------

def latin_8bit_message():
    body = bytes(b for b in range(0x80, 0x100)) + b'\r\n' + 'Grüße aus Köln ✓\r\n'.encode()
    return (b'From: <a@example.com>\r\nSubject: 8bit\r\nMessage-ID: <8bit@mailhaul.test>\r\n'
            b'Content-Type: text/plain; charset=iso-8859-1\r\n'
            b'Content-Transfer-Encoding: 8bit\r\n\r\n' + body + b'\xe4\xf6\xfc\r\n')


APPENDS = [  # (name, bytes, flags or None, IMAP date-time or None)
    ('flagged', lambda: imapcheck.make_message(1), '\\Seen \\Flagged $Label1',
     '14-Mar-2009 07:08:09 +0530'),
    ('8bit', latin_8bit_message, None, '01-Jul-1998 23:59:59 -0700'),
    ('2mib', lambda: sized_message('big', 2, 2 * MIB + 123), '\\Answered',
     '29-Feb-2016 12:00:00 +0100'),
    ('empty-body', lambda: b'Subject: empty\r\n\r\n', '$Label1', '05-Jan-2020 00:00:00 -0330'),
]


def appended():
    """APPEND the APPENDS set to folder Appends once; returns [(name, data, flags, date,
    append record)]."""
    if 'appended' in S:
        return S['appended']
    dv = S['slash']
    ops, items = [('create', 'Appends')], []
    for name, make, flags, date in APPENDS:
        data = make()
        items.append((name, data, flags, date))
        ops.append(('append', 'Appends', write_file('append-' + name, data), flags or '-',
                    date or '-'))
    run = drive(dv, *ops)
    recs = records(run, 'append')
    tap.eq(len(recs), len(items), 'append records')
    S['appended'] = [item + (rec,) for item, rec in zip(items, recs)]
    return S['appended']


@tap.test
def append_keeps_bytes_flags_and_internaldate():
    items = appended()
    stored = imap_messages(S['slash'], 'Appends')
    tap.eq(len(stored), len(items), 'messages in Appends (imaplib)')
    for (name, data, flags, date, rec), msg in zip(items, stored):
        tap.eq(rec['sha256'], sha(data), '%s: digest the driver sent' % name)
        tap.eq(sha(msg['body']), sha(data), '%s: stored bytes (sha256)' % name)
        tap.eq(len(msg['body']), len(data), '%s: stored size' % name)
        tap.eq(msg['internaldate'], imap_epoch(date), '%s: INTERNALDATE of %s' % (name, date))
        tap.eq(msg['flags'], imapcheck.normalize_flags((flags or '').split()),
               '%s: flags' % name)


@tap.test
def appenduid_matches_the_uids_imaplib_sees():
    items = appended()
    stored = imap_messages(S['slash'], 'Appends')
    status = imap_status(S['slash'], 'Appends')
    tap.eq([it[4]['uid'] for it in items], [m['uid'] for m in stored], 'APPENDUID uids')
    for it in items:
        tap.eq(it[4]['uidvalidity'], status['UIDVALIDITY'], '%s: APPENDUID uidvalidity' % it[0])


@tap.test
def uid_fetch_returns_the_appended_messages():
    items = appended()
    # Literals of 1 MiB and more go to the sink (the parser keeps up to 1 MiB in memory).
    run = drive(S['slash'], ('examine', 'Appends'),
                ('fetch-sink', '1:*', 'UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]', MIB))
    got = {r['uid']: r for r in records(run, 'fetch')}
    tap.eq(sorted(got), sorted(it[4]['uid'] for it in items), 'UIDs fetched')
    for name, data, flags, date, rec in items:
        f = got[rec['uid']]
        b = body(f)
        tap.eq(b['sha256'], sha(data), '%s: fetched bytes' % name)
        tap.eq(b['len'], len(data), '%s: fetched length' % name)
        tap.eq(f['size'], len(data), '%s: RFC822.SIZE' % name)
        tap.eq(b['streamed'], len(data) >= MIB, '%s: streamed through the sink' % name)
        tap.eq(f['internaldate_unix'], imap_epoch(date), '%s: INTERNALDATE' % name)
        tap.eq(imapcheck.normalize_flags(f['flags']),
               imapcheck.normalize_flags((flags or '').split()), '%s: FLAGS' % name)
        tap.eq(imap_epoch(f['internaldate_formatted']), imap_epoch(f['internaldate']),
               '%s: INTERNALDATE formatted back' % name)


@tap.test
def date_time_parse_and_format():
    cases = ['14-Mar-2009 07:08:09 +0530', '01-Jan-2000 00:00:00 -0330',
             '31-Dec-1999 23:59:59 +1400', '29-Feb-2016 12:00:00 +0000',
             '17-Jul-1996 02:44:25 -0700']
    ops = [('date', c) for c in cases]
    p = subprocess.run([DRIVER, '-'] + [_script_line(op) for op in ops], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    tap.eq(p.returncode, 0, 'driver exit (%s)' % p.stderr.decode())
    recs = [json.loads(line) for line in p.stdout.decode().splitlines()]
    for c, r in zip(cases, recs):
        tap.eq(r['formatted'], c, 'format(parse(%s))' % c)
        tap.eq(r['unix'], imap_epoch(c), 'instant of %s' % c)
    p = subprocess.run([DRIVER, '-', _script_line(('date', ' 5-Jan-2020 10:00:00 +0100'))],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    tap.eq(p.returncode, 0, 'driver exit for a space-padded day (%s)' % p.stderr.decode())
    r = json.loads(p.stdout)
    tap.eq((r['formatted'], r['unix']), ('05-Jan-2020 10:00:00 +0100',
                                         imap_epoch('05-Jan-2020 10:00:00 +0100')),
           'date-day-fixed with a leading space (RFC 3501)')
    for bad in ('32-Jan-2020 00:00:00 +0000', '01-Foo-2020 00:00:00 +0000',
                '01-Jan-2020 00:00:00 0000', 'yesterday'):
        p = subprocess.run([DRIVER, '-', _script_line(('date', bad))], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        tap.eq(p.returncode, 1, 'driver exit for malformed date %r' % bad)


# -- literals: synchronising, LITERAL-, and pipelining ------------------------------------

def sized_messages(tag, sizes):
    return [sized_message(tag, i, size) for i, size in enumerate(sizes)]


@tap.test
def synchronising_literals_without_literal_plus():
    dv = S['nolit']
    msgs = sized_messages('sync', [400, 5000, 300])
    msgs.insert(1, latin_8bit_message())
    paths = [write_file('sync-%d' % i, m) for i, m in enumerate(msgs)]
    ops = [('create', 'Sync')]
    ops += [('append', 'Sync', p) for p in paths[:2]]
    ops += [('submit-append', 'Sync', p) for p in paths[2:]] + [('submit', 'NOOP'), ('drain',)]
    with Proxy(dv.host, dv.imap_port) as proxy:
        run = drive(dv, *ops, mode='none', port=proxy.port)
    caps = one(run, 'login')['caps']
    tap.check('LITERAL+' not in caps and 'LITERAL-' not in caps,
              'precondition: the server offers no non-synchronising literals: %r' % caps)
    lits = literals(proxy)
    tap.eq([lit.size for lit in lits], [len(m) for m in msgs], 'literal sizes sent')
    for lit in lits:
        tap.check(lit.sync, 'a {%d+} literal without LITERAL+' % lit.size)
        tap.check(lit.waited and not lit.same_chunk,
                  'the client sent a %d-byte literal before the server said "+"' % lit.size)
    dones = records(run, 'done')
    tap.eq([d['status'] for d in dones], ['OK'] * 3, 'pipelined commands completed')
    stored = imap_messages(dv, 'Sync')
    tap.eq([sha(m['body']) for m in stored], [sha(m) for m in msgs], 'stored bytes in order')


@tap.test
def literal_minus_up_to_4096_bytes_only():
    dv = S['litminus']
    sizes = [100, 4096, 4097, 6000]
    msgs = sized_messages('minus', sizes)
    tap.eq([len(m) for m in msgs], sizes, 'message sizes')
    ops = [('create', 'Minus')] + [('append', 'Minus', write_file('minus-%d' % i, m))
                                   for i, m in enumerate(msgs)]
    with Proxy(dv.host, dv.imap_port) as proxy:
        run = drive(dv, *ops, mode='none', port=proxy.port)
    caps = one(run, 'login')['caps']
    tap.check('LITERAL-' in caps and 'LITERAL+' not in caps,
              'precondition: LITERAL- only: %r' % caps)
    lits = literals(proxy)
    tap.eq([(lit.size, lit.sync) for lit in lits],
           [(100, False), (4096, False), (4097, True), (6000, True)],
           '(size, synchronising) of each literal')
    for lit in lits:
        if lit.sync:
            tap.check(lit.waited, 'the client did not wait for "+" before %d bytes' % lit.size)
    tap.eq([sha(m['body']) for m in imap_messages(dv, 'Minus')], [sha(m) for m in msgs],
           'stored bytes')


@tap.test
def two_hundred_pipelined_appends():
    dv = S['slash']
    n = 200
    paths = []
    for i in range(n):
        msg = ('From: <p@example.com>\r\nSubject: pipelined %d\r\n'
               'Message-ID: <pipe-%03d@mailhaul.test>\r\n\r\nbody %d\r\n' % (i, i, i)).encode()
        paths.append(write_file('pipe-%03d' % i, msg))
    ops = [('create', 'Pipeline')] + [('submit-append', 'Pipeline', p) for p in paths]
    ops.append(('drain',))
    with Proxy(dv.host, dv.imap_port) as proxy:
        run = drive(dv, *ops, mode='none', port=proxy.port)
    dones = records(run, 'done')
    tap.eq(len(dones), n, 'completed commands')
    tap.eq([d['id'] for d in dones], list(range(1, n + 1)), 'completion order')
    tap.eq({d['status'] for d in dones}, {'OK'}, 'statuses')
    uids = [int(d['code_args'][1]) for d in dones if d['code'] == 'APPENDUID']
    tap.eq(len(uids), n, 'APPENDUID codes')
    tap.check(uids == sorted(set(uids)), 'APPENDUIDs not strictly ascending: %r' % uids[:20])
    seconds = one(run, 'drain')['seconds']
    most, sent = max_in_flight(proxy, 'APPEND')
    tap.diag('200 APPENDs: %.2f s from first submit to drained; at most %d in flight'
             % (seconds, most))
    tap.eq(sent, n, 'APPEND commands on the wire')
    tap.check(1 < most <= 16, 'commands in flight at once: %d (want 2..16, the default cap)'
              % most)
    tap.check(seconds < 10, '200 pipelined APPENDs took %.1f s' % seconds)
    with imapcheck.session(dv, USER) as conn:
        imapcheck.select(conn, 'Pipeline')
        typ, dat = conn.uid('FETCH', '1:*', '(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
    tap.eq(typ, 'OK', 'imaplib FETCH')
    got = [(int(re.search(rb'UID (\d+)', d[0]).group(1)),
            re.search(rb'<pipe-(\d+)@', d[1]).group(1).decode()) for d in dat
           if isinstance(d, tuple)]
    got.sort()
    tap.eq([mid for _uid, mid in got], ['%03d' % i for i in range(n)],
           'Message-IDs in UID order (all there, in order, no duplicates)')
    tap.eq([uid for uid, _mid in got], uids, 'UIDs imaplib sees vs APPENDUID')


@tap.test
def zero_byte_append_is_refused_and_the_connection_goes_on():
    empty = write_file('zero', b'')
    small = write_file('after-zero', sized_message('after-zero', 0, 200))
    for key in ('slash', 'nolit'):
        dv = S[key]
        with Proxy(dv.host, dv.imap_port) as proxy:
            run = drive(dv, ('create', 'Zero'), ('try', 'append', 'Zero', empty),
                        ('append', 'Zero', small), mode='none', port=proxy.port)
        err = one(run, 'error')
        tap.eq((err['tried'], err['code_name']), (True, 'NO'),
               '%s: error for a zero-byte APPEND: %s' % (key, err['message']))
        tap.eq(len(records(run, 'append')), 1, '%s: the APPEND after it\n%s'
               % (key, describe(run)))
        sizes = [lit.size for lit in literals(proxy)]
        tap.eq(sizes, [0, 200], '%s: literal sizes on the wire' % key)
        tap.eq([sha(m['body']) for m in imap_messages(dv, 'Zero')],
               [sha(sized_message('after-zero', 0, 200))], '%s: stored messages' % key)


@tap.test
def append_to_a_missing_folder_fails_with_trycreate_and_pipeline_goes_on():
    dv = S['slash']
    paths = [write_file('try-%d' % i, sized_message('try', i, 300)) for i in range(3)]
    run = drive(dv, ('create', 'TryCreate'), ('try', 'append', 'No such folder', paths[0]),
                ('submit-append', 'TryCreate', paths[0]),
                ('submit-append', 'Missing folder', paths[1]),
                ('submit-append', 'TryCreate', paths[2]), ('drain',))
    err = one(run, 'error')
    tap.eq(err['code_name'], 'NO', 'APPEND to a missing folder: %s' % err['message'])
    tap.contains('TRYCREATE', err['message'], 'error message (the response code)')
    dones = records(run, 'done')
    tap.eq([(d['id'], d['status'], d['code']) for d in dones],
           [(1, 'OK', 'APPENDUID'), (2, 'NO', 'TRYCREATE'), (3, 'OK', 'APPENDUID')],
           'pipelined APPENDs around a refused one')
    tap.eq([sha(m['body']) for m in imap_messages(dv, 'TryCreate')],
           [sha(sized_message('try', i, 300)) for i in (0, 2)], 'stored messages')


@tap.test
def id_enable_and_namespace():
    run = drive(S['slash'], ('id',), ('enable', 'CONDSTORE'), ('namespace',))
    tap.eq(one(run, 'id')['server_name'], 'Dovecot', 'ID: the server name')
    tap.eq(one(run, 'enable')['utf8'], False, 'UTF8=ACCEPT not enabled by ENABLE CONDSTORE')
    ns = one(run, 'namespace')
    tap.eq((ns['personal'], ns['other'], ns['shared']), ([{'prefix': '', 'sep': '/'}], [], []),
           'NAMESPACE')


@tap.test
def mailbox_id_is_the_servers_own_and_a_refusal_is_not_an_error():
    dv = S['slash']
    guid = dv.doveadm('mailbox', 'status', '-u', USER, 'guid', 'INBOX').strip()
    run = drive(dv, ('mailbox-id', 'INBOX'), ('mailbox-id', 'No such folder'))
    got = records(run, 'mailbox-id')
    tap.eq([(r['item'], r['id'], r['errors']) for r in got],
           [('X-GUID', guid.split('=', 1)[1], 0), ('X-GUID', None, 0)],
           'X-GUID of INBOX as doveadm says it; a folder that does not exist has none, and '
           'its NO is not counted as a refusal')
    run = drive(S['objectid'], ('mailbox-id', 'INBOX'), ('status', 'No such folder'),
                check=False)
    got = records(run, 'mailbox-id')
    tap.eq([(r['item'], r['id'], r['errors']) for r in got], [('MAILBOXID', None, 0)],
           'MAILBOXID where OBJECTID is announced; refused (BAD), it is not counted')
    tap.check('No such folder' in run.stderr,
              'a plain STATUS of a missing folder still fails:\n%s' % describe(run))


STREAMED = [  # (message, flags, date as a source server may send it, chunk size)
    (lambda: sized_message('stream', 0, 300), '\\Seen', '14-Mar-2009 07:08:09 +0530', None),
    (latin_8bit_message, None, None, 7),
    (lambda: sized_message('stream', 2, 3 * MIB + 7), '\\Flagged $Label1',
     ' 5-Jan-2020 10:00:00 +0100', 65536),
    (lambda: b'Subject: tiny\r\n\r\n', '$Label1', '29-Feb-2016 12:00:00 +0000', 1),
]


@tap.test
def streamed_appends_with_and_without_literal_plus():
    msgs = [(make(), flags, date, chunk) for make, flags, date, chunk in STREAMED]
    for key in ('slash', 'nolit'):
        dv = S[key]
        ops = [('create', 'Streamed')]
        for i, (data, flags, date, chunk) in enumerate(msgs):
            ops.append(('stream-append', 'Streamed', write_file('stream-%d' % i, data),
                        flags or '-', date or '-', chunk or '-'))
        with Proxy(dv.host, dv.imap_port) as proxy:
            run = drive(dv, *ops, ('drain',), mode='none', port=proxy.port)
        dones = records(run, 'done')
        tap.eq([(d['id'], d['status'], d['code']) for d in dones],
               [(i, 'OK', 'APPENDUID') for i in range(1, len(msgs) + 1)],
               '%s: streamed APPENDs completed' % key)
        stored = imap_messages(dv, 'Streamed')
        tap.eq([m['uid'] for m in stored], [int(d['code_args'][1]) for d in dones],
               '%s: APPENDUID vs the UIDs imaplib sees' % key)
        for i, ((data, flags, date, _chunk), m) in enumerate(zip(msgs, stored)):
            tap.eq(sha(m['body']), sha(data), '%s: message %d bytes' % (key, i))
            tap.eq(m['flags'], imapcheck.normalize_flags((flags or '').split()),
                   '%s: message %d flags' % (key, i))
            if date:
                tap.eq(m['internaldate'], imap_epoch(date), '%s: message %d date' % (key, i))
        lits = literals(proxy)
        tap.eq([(lit.size, lit.sync) for lit in lits], [(len(m[0]), key == 'nolit') for m in msgs],
               '%s: (size, synchronising) of each streamed literal' % key)
        if key == 'nolit':
            tap.check(all(lit.waited for lit in lits), 'a streamed literal did not wait for "+"')
        else:
            most, _sent = max_in_flight(proxy, 'APPEND')
            tap.check(most >= 2, 'streamed APPENDs are not pipelined (at most %d in flight)'
                      % most)


@tap.test
def streamed_append_refused_before_the_literal_or_aborted():
    dv = S['nolit']
    data = sized_message('abort', 0, 5000)
    path = write_file('stream-abort', data)
    with Proxy(dv.host, dv.imap_port) as proxy:
        run = drive(dv, ('create', 'Aborted'), ('try', 'stream-append', 'No such folder', path),
                    ('append', 'Aborted', path),
                    ('stream-append', 'Aborted', path, '-', '-', '1000', '2500'),
                    ('try', 'status', 'Aborted'), mode='none', port=proxy.port)
    ops = [(r['op'], r.get('id'), r.get('code_name') or r.get('status')) for r in run.records
           if r['op'] in ('done', 'error', 'append', 'stream-append')]
    tap.eq(ops, [('done', 1, 'NO'), ('error', None, 'NO'), ('append', None, None),
                 ('done', 2, 'DISCONNECTED'), ('stream-append', None, None),
                 ('error', None, 'DISCONNECTED')], '(record, id, status) in order')
    tap.contains('TRYCREATE', records(run, 'error')[0]['message'], 'refusal')
    tap.eq([lit.size for lit in literals(proxy)], [5000, 5000, 5000], 'literal headers sent')
    # The refused APPEND sends no literal bytes; the aborted one's first 2500 bytes may
    # still sit in the output buffer when abort closes the connection.
    client = proxy.stream('c')
    refused = client.index(b' APPEND "No such folder" {5000}\r\n')
    plain = client.index(b' APPEND Aborted {5000}\r\n')
    tap.check(refused < plain < client.index(data[:100]),
              'literal bytes sent for the refused APPEND:\n%r' % client[refused:plain + 40])
    tap.eq(client.count(data), 1, 'whole messages sent (the plain APPEND)')
    tap.eq([sha(m['body']) for m in imap_messages(dv, 'Aborted')], [sha(data)],
           'stored: the plain APPEND only, nothing of the aborted one')


# -- SELECT, STATUS, SEARCH, STORE, EXPUNGE ------------------------------------------------

@tap.test
def select_examine_and_status():
    items = appended()
    dv = S['slash']
    run = drive(dv, ('select', 'Appends'), ('examine', 'Appends'), ('status', 'Appends'))
    want = imap_status(dv, 'Appends')
    sel, exa, st = one(run, 'select'), one(run, 'examine'), one(run, 'status')
    for what, r in (('SELECT', sel), ('EXAMINE', exa)):
        tap.eq(r['exists'], len(items), '%s exists' % what)
        tap.eq(r['uidvalidity'], want['UIDVALIDITY'], '%s uidvalidity' % what)
        tap.eq(r['uidnext'], want['UIDNEXT'], '%s uidnext' % what)
        tap.check(r['highestmodseq'] > 0, '%s highestmodseq (CONDSTORE): %r' % (what, r))
        tap.eq(r['highestmodseq'], want['HIGHESTMODSEQ'], '%s highestmodseq' % what)
    tap.eq(sel['read_only'], False, 'SELECT read-only')
    tap.eq(exa['read_only'], True, 'EXAMINE read-only')
    tap.check('\\*' in sel['permanentflags'], 'PERMANENTFLAGS lacks \\*: %r'
              % sel['permanentflags'])
    tap.check('$Label1' in sel['flags'], 'FLAGS lacks $Label1: %r' % sel['flags'])
    tap.eq((st['messages'], st['unseen'], st['uidnext'], st['uidvalidity'], st['highestmodseq']),
           (want['MESSAGES'], want['UNSEEN'], want['UIDNEXT'], want['UIDVALIDITY'],
            want['HIGHESTMODSEQ']), 'STATUS (messages unseen uidnext uidvalidity modseq)')
    tap.eq(st['messages'], len(items), 'STATUS MESSAGES')
    tap.eq(st['unseen'], len(items) - 1, 'STATUS UNSEEN (one message is \\Seen)')
    tap.eq(st['size'], sum(len(it[1]) for it in items), 'STATUS SIZE (RFC 8438)')


def preload_search_folder():
    if 'search' in S:
        return S['search']
    dates = [imapcheck.parse_internaldate(b'INTERNALDATE "%s"' % d.encode()) for d in (
        '01-Jan-2010 10:00:00 +0000', '15-Jun-2014 23:30:00 +0000', '01-Jan-2015 00:00:00 +0000',
        '02-Jan-2015 08:00:00 +0200', '20-Mar-2021 12:00:00 -0500')]
    flags = [('\\Seen',), (), ('\\Seen', '\\Flagged'), (), ('\\Seen',)]
    mails = [imapcheck.Mail(imapcheck.make_message(100 + i), f, d)
             for i, (f, d) in enumerate(zip(flags, dates))]
    S['slash'].preload(USER, {'Search': mails})
    uids = [m['uid'] for m in imap_messages(S['slash'], 'Search')]
    S['search'] = (uids, flags, dates)
    return S['search']


@tap.test
def uid_search_all_seen_since():
    uids, flags, dates = preload_search_folder()
    dv = S['slash']
    run = drive(dv, ('examine', 'Search'), ('search', 'ALL'), ('search', 'SEEN'),
                ('search', 'SINCE', '1-Jan-2015'), ('search', 'UNSEEN', 'SINCE', '1-Jan-2015'),
                ('search', 'SUBJECT', 'no-such-subject'))
    got = {r['criteria']: r['uids'] for r in records(run, 'search')}
    tap.eq(got['ALL'], uids, 'UID SEARCH ALL')
    tap.eq(got['SEEN'], [u for u, f in zip(uids, flags) if '\\Seen' in f], 'UID SEARCH SEEN')
    tap.eq(got['SEEN'], imap_uid_search(dv, 'Search', 'SEEN'), 'SEEN vs imaplib')
    since = imap_uid_search(dv, 'Search', 'SINCE', '1-Jan-2015')
    tap.eq(got['SINCE 1-Jan-2015'], since, 'SINCE vs imaplib')
    tap.check(uids[0] not in since and uids[4] in since, 'SINCE selects by date: %r' % since)
    tap.eq(got['UNSEEN SINCE 1-Jan-2015'], imap_uid_search(dv, 'Search', 'UNSEEN', 'SINCE',
                                                          '1-Jan-2015'), 'UNSEEN SINCE')
    tap.eq(got['SUBJECT no-such-subject'], [], 'a search without matches')


@tap.test
def uid_store_adds_and_removes_flags():
    dv = S['slash']
    dv.preload(USER, {'Store': [imapcheck.Mail(imapcheck.make_message(200 + i), ('\\Seen',))
                                for i in range(3)]})
    uids = [m['uid'] for m in imap_messages(dv, 'Store')]
    drive(dv, ('select', 'Store'),
          ('store', str(uids[0]), '+FLAGS', '\\Flagged $Todo'),
          ('store', str(uids[1]), '-FLAGS', '\\Seen'),
          ('store', '%d:%d' % (uids[1], uids[2]), '+FLAGS.SILENT', '\\Answered'))
    got = {m['uid']: m['flags'] for m in imap_messages(dv, 'Store')}
    tap.eq(got[uids[0]], ('$Todo', '\\Flagged', '\\Seen'), 'flags after +FLAGS')
    tap.eq(got[uids[1]], ('\\Answered',), 'flags after -FLAGS \\Seen, +FLAGS.SILENT')
    tap.eq(got[uids[2]], ('\\Answered', '\\Seen'), 'flags after +FLAGS.SILENT')


@tap.test
def uid_expunge_removes_only_the_given_uid():
    dv = S['slash']
    dv.preload(USER, {'Expunge': [imapcheck.make_message(300 + i) for i in range(3)]})
    uids = [m['uid'] for m in imap_messages(dv, 'Expunge')]
    run = drive(dv, ('select', 'Expunge'),
                ('store', '%d:%d' % (uids[0], uids[1]), '+FLAGS', '\\Deleted'),
                ('expunge', str(uids[1])), ('search', 'ALL'))
    left = {m['uid']: m['flags'] for m in imap_messages(dv, 'Expunge')}
    tap.eq(sorted(left), [uids[0], uids[2]], 'UIDs left after UID EXPUNGE %d' % uids[1])
    tap.check('\\Deleted' in left[uids[0]], 'the other \\Deleted message lost its flag')
    tap.eq(one(run, 'search')['uids'], [uids[0], uids[2]], 'UIDs the client sees afterwards')


@tap.test
def fallbacks_on_a_server_with_only_imap4rev1():
    dv = S['minimal']
    paths = [write_file('min-%d' % i, m) for i, m in enumerate(sized_messages('min', [300] * 3))]
    ops = [('create', 'Min')] + [('append', 'Min', p) for p in paths]
    ops += [('select', 'Min'), ('search', 'ALL'), ('store', '1:2', '+FLAGS', '\\Deleted'),
            ('expunge', '2'), ('search', 'ALL'), ('namespace',), ('list', '', 'Min')]
    with Proxy(dv.host, dv.imap_port) as proxy:
        run = drive(dv, *ops, mode='none', port=proxy.port)
    caps = one(run, 'login')['caps']
    tap.eq(sorted(c.upper() for c in caps), ['ID', 'IMAP4REV1'], 'precondition: capabilities')
    client = proxy.stream('c')
    for want in (rb' UID SEARCH ALL\r\n', rb' EXPUNGE\r\n', rb' LIST "" ""\r\n',
                 rb' SELECT Min\r\n', rb' LIST "" Min\r\n'):
        tap.check(re.search(rb'A\d+' + want, client), 'the client did not send %r' % want)
    for unwanted in (rb'RETURN', rb'CONDSTORE', rb'UID EXPUNGE', rb'NAMESPACE', rb'\+\}'):
        tap.check(not re.search(unwanted, client), 'the client sent %r to a server without '
                  'the capability' % unwanted)
    sel = one(run, 'select')
    tap.eq((sel['exists'], sel['highestmodseq']), (3, 0), 'SELECT exists, highestmodseq')
    searches = records(run, 'search')
    uids = [m['uid'] for m in imap_messages(dv, 'Min')]
    tap.eq(searches[0]['uids'], [1, 2, 3], 'plain UID SEARCH ALL')
    tap.eq(searches[1]['uids'], uids, 'UIDs after EXPUNGE (client)')
    tap.eq(uids, [3], 'EXPUNGE without UIDPLUS removes every \\Deleted message (imaplib)')
    tap.eq(one(run, 'namespace')['personal'], [{'prefix': '', 'sep': '/'}],
           'namespace from LIST "" ""')
    tap.eq([r['name'] for r in records(run, 'list')], ['Min'], 'LIST without RETURN')


# -- a 20 MiB literal ------------------------------------------------------------------------

def twenty_mib():
    if 'big' not in S:
        data = sized_message('big', 20, 20 * MIB)
        path = write_file('twenty-mib', data)
        run = drive(S['slash'], ('create', 'Big'), ('append', 'Big', path, '\\Seen', '-'))
        S['big'] = (data, one(run, 'append')['uid'])
    return S['big']


@tap.test
def twenty_mib_message_streams_through_the_sink():
    data, uid = twenty_mib()
    stored = imap_messages(S['slash'], 'Big')
    tap.eq([sha(m['body']) for m in stored], [sha(data)], 'stored 20 MiB message (imaplib)')
    header = data[:data.index(b'\r\n\r\n') + 4]
    run = drive(S['slash'], ('examine', 'Big'),
                ('fetch-sink', str(uid), 'UID RFC822.SIZE BODY.PEEK[]', MIB),
                ('fetch-sink', str(uid), 'BODY.PEEK[HEADER] BODY.PEEK[] FLAGS', 1))
    f, both = records(run, 'fetch')
    b = body(f)
    tap.eq(f['uid'], uid, 'UID')
    tap.eq(f['size'], len(data), 'RFC822.SIZE')
    tap.eq(b['streamed'], True, 'streamed')
    tap.eq(b['len'], len(data), 'literal size')
    tap.eq(b['sink_bytes'], len(data), 'bytes the sink received')
    tap.eq(b['sha256'], sha(data), 'sha256 of what the sink received')
    tap.eq(b['sink_prev_atom'], 'BODY[]', 'atom before the literal')
    tap.check(b['sink_chunks'] > 1, 'a 20 MiB literal came in %d chunk(s)' % b['sink_chunks'])
    tap.diag('20 MiB literal: %d sink chunks, fetch run %.2f s' % (b['sink_chunks'],
                                                                  run.seconds))
    # Two streamed literals in one FETCH response, and items after them.
    h = body(both, 'BODY[HEADER]')
    tap.eq((h['streamed'], h['len'], h['sha256'], h['sink_prev_atom']),
           (True, len(header), sha(header), 'BODY[HEADER]'), 'BODY[HEADER] through the sink')
    tap.eq((body(both)['sha256'], body(both)['sink_bytes']), (sha(data), len(data)),
           'BODY[] after BODY[HEADER] in the same response')
    tap.eq(imapcheck.normalize_flags(both.get('flags', ['missing'])), ('\\Seen',),
           'FLAGS in the same response')


@tap.test
def twenty_mib_literal_without_sink_is_a_protocol_error():
    data, uid = twenty_mib()
    run = drive(S['slash'], ('examine', 'Big'), ('fetch', str(uid), 'BODY.PEEK[]'), check=False)
    tap.eq(run.code, 1, 'exit code (1 = a reported error, not a crash)\n' + describe(run))
    err = one(run, 'error')
    tap.eq(err['code_name'], 'PROTOCOL', 'error kind: %s' % err['message'])
    tap.contains(str(len(data)), err['message'], 'error message (the literal size)')
    tap.check(re.search(r'limit|exceed', err['message']),
              'error message does not explain the cap: %s' % err['message'])
    tap.eq(records(run, 'fetch'), [], 'no FETCH result without the body')


@tap.test
def in_memory_literal_limit_is_one_mib():
    sizes = [MIB, MIB + 1]
    ops = [('create', 'Limit')]
    ops += [('append', 'Limit', write_file('limit-%d' % n, sized_message('limit', n, n)))
            for n in sizes]
    run = drive(S['slash'], *ops)
    uids = [r['uid'] for r in records(run, 'append')]
    ok = drive(S['slash'], ('examine', 'Limit'), ('fetch', str(uids[0]), 'BODY.PEEK[]'))
    b = body(one(ok, 'fetch'))
    tap.eq((b['streamed'], b['len'], b['sha256']),
           (False, MIB, sha(sized_message('limit', MIB, MIB))), 'a 1 MiB literal in memory')
    over = drive(S['slash'], ('examine', 'Limit'), ('fetch', str(uids[1]), 'BODY.PEEK[]'),
                 check=False)
    tap.eq((over.code, one(over, 'error')['code_name']), (1, 'PROTOCOL'),
           'a literal of 1 MiB + 1 without a sink\n' + describe(over))
    small = drive(S['slash'], ('examine', 'Limit'), ('fetch', str(uids[0]), 'BODY.PEEK[]'),
                  opts=('--max-literal', str(MIB - 1)), check=False)
    tap.eq(one(small, 'error')['code_name'], 'PROTOCOL', 'settings.limits.max_literal')


if __name__ == '__main__':
    tap.main(setup=setup)
