#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul verify --content` against real servers. A Dovecot source holds crafted MIME
messages (base64 attachments, a text/html alternative, quoted-printable text in ISO-8859-1,
raw 8-bit header bytes, a message without a final line end, an RFC 2231 file name, a read
receipt request, a 3 MB attachment) and a folder of small ones. After `mailhaul sync` into
Dovecot, Cyrus (which replaces 8-bit header bytes with 'X') and Courier (which adds a final
CRLF) and into the Microsoft-like Dovecot with --office2 (whose fix-ups rewrite headers),
`verify --content` passes (exit 0), some pairs by bytes and the rewritten ones by MIME
structure; the test counts those from the report. Then the destination is altered through
IMAP (a changed copy APPENDed with the original's date and flags, the original expunged):
an attachment with other bytes of the same size, a message with a part removed; verify
--content exits 1 and names both, by folder, UIDs, Message-ID, Date and Subject. --sample
compares the stated number per folder, prints its seed, and the same --seed picks the same
messages again. A 50 MB message is compared with mailhaul's resident size staying below
the message's. The independent checker (mhtest.compare) confirms the migrations first."""
import base64
import contextlib
import hashlib
import random
import re
import subprocess
import sys
import time

from mhtest import certs, cli, compare, courier, cyrus, dovecot, imapcheck, imapserver, tap
from mhtest import providerlike as pl
from mhtest.synctest import Checks, Job, SyncResult

PW_SRC, PW_DST = 'Content-src-pw-5151', 'Content-dst-pw-5252'
S = {'synced': {}}
DATE = 'Tue, 04 Mar 2025 09:30:00 +0100'


def blob(seed, size):
    return random.Random(seed).randbytes(size)


def b64(data):
    text = base64.b64encode(data).decode()
    return '\r\n'.join(text[i:i + 76] for i in range(0, len(text), 76))


def head(n, subject, extra=()):
    lines = ['From: Sender <sender@example.com>', 'To: Alice <alice@example.com>',
             'Subject: %s' % subject, 'Date: %s' % DATE,
             'Message-ID: <content-%d@example.com>' % n, 'MIME-Version: 1.0']
    return '\r\n'.join(lines + list(extra)) + '\r\n'


def attachment(boundary, ctype, name, data, rfc2231=False):
    disp = ("attachment; filename*=utf-8''%s" % name) if rfc2231 else \
        'attachment; filename="%s"' % name
    return ('--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\n'
            'Content-Disposition: %s\r\n\r\n%s\r\n' % (boundary, ctype, disp, b64(data)))


def crafted():
    """{name: message bytes} of the INBOX messages."""
    m = {}
    b = 'b1-mixed'
    m['report'] = (head(1, 'Quarterly report', ['Content-Type: multipart/mixed; boundary="%s"'
                                                % b]) +
                   '\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\n'
                   'Content-Transfer-Encoding: quoted-printable\r\n\r\n'
                   'Hello Alice,=0D\r\nthe figures are attached. Gr=C3=BC=C3=9Fe\r\n' % b +
                   attachment(b, 'application/pdf', 'report.pdf', blob(1, 48213)) +
                   attachment(b, 'image/png', 'chart.png', blob(2, 5120)) +
                   '--%s--\r\n' % b).encode()
    b = 'b2-alt'
    m['alternative'] = (
        head(2, 'Caf\u00e9 menu', ['Content-Type: multipart/alternative; boundary="%s"' % b]) +
        '\r\n--%s\r\nContent-Type: text/plain; charset=iso-8859-1\r\n'
        'Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 menu   \r\n\r\n' % b +
        '--%s\r\nContent-Type: text/html; charset=utf-8\r\n'
        'Content-Transfer-Encoding: 8bit\r\n\r\n<p>Caf\u00e9 menu</p>\r\n--%s--\r\n' % (b, b)
    ).encode('utf-8')
    m['noeol'] = (head(3, 'No final line end', ['Content-Type: text/plain; charset=us-ascii']) +
                  '\r\nThe last line has no line end.').encode()
    b, inner = 'b4-outer', 'b4-inner'
    m['nested'] = (head(4, 'Nested parts', ['Content-Type: multipart/mixed; boundary="%s"' % b,
                                            'Disposition-Notification-To: sender@example.com']) +
                   '\r\n--%s\r\nContent-Type: multipart/alternative; boundary="%s"\r\n\r\n'
                   '--%s\r\nContent-Type: text/plain\r\n\r\nplain\r\n'
                   '--%s\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--%s--\r\n'
                   % (b, inner, inner, inner, inner) +
                   attachment(b, 'application/octet-stream', 'na%C3%AFve.bin', blob(4, 700),
                              rfc2231=True) +
                   '--%s--\r\n' % b).encode()
    b = 'b5-big'
    m['big'] = (head(5, 'Large attachment', ['Content-Type: multipart/mixed; boundary="%s"' % b])
                + '\r\n--%s\r\nContent-Type: text/plain\r\n\r\nsee the archive\r\n' % b +
                attachment(b, 'application/zip', 'archive.zip', blob(5, 3 * 1024 * 1024)) +
                '--%s--\r\n' % b).encode()
    return m


def bulk():
    return [imapcheck.make_message(100 + n, subject='Bulk note %d' % n) for n in range(30)]


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        users = ('clean', 'tamper', 'sample', 'large')
        servers = {
            'src': dovecot.Dovecot(pki, users={u: PW_SRC for u in users}, separator='/'),
            'dovecot': dovecot.Dovecot(pki, users={u: PW_DST for u in users}, separator='.'),
            'm365': pl.m365_like(pki, {'clean': PW_DST}),
        }
        S['missing'] = {}
        if cyrus.missing():
            S['missing']['cyrus'] = cyrus.missing()
        else:
            servers['cyrus'] = cyrus.Cyrus(pki, {'clean': PW_DST}, hierarchy='dot')
        if courier.missing():
            S['missing']['courier'] = courier.missing()
        else:
            servers['courier'] = courier.Courier(pki, {'clean': PW_DST})
        with imapserver.running(*servers.values()):
            S.update(servers)
            S['mail'] = crafted()
            for user in users[:-1]:
                with imapcheck.session(servers['src'], user) as conn:
                    for i, body in enumerate(S['mail'].values()):
                        imapcheck.append(conn, 'INBOX', body, ('\\Seen',),
                                         imapcheck.DEFAULT_DATE + 60 * i)
                    imapcheck.create_folder(conn, 'Bulk')
                    for i, body in enumerate(bulk()):
                        imapcheck.append(conn, 'Bulk', body, (), imapcheck.DEFAULT_DATE + i)
            yield


def server(kind):
    if kind in S['missing']:
        tap.skip('%s is not available here: %s' % (kind, S['missing'][kind]))
    return S[kind]


def job(kind, user):
    key = (kind, user)
    if key not in S['synced']:
        extra = ('--office2',) if kind == 'm365' else ()
        j = Job(S['src'], user, server(kind), user, name='content-%s-%s' % (kind, user))
        r = j.run(*(extra + (('--pace', '0') if extra else ())))
        checks = Checks()
        checks.attach(r)
        checks.code(r, 0, 'sync into %s' % kind)
        before = compare.take(S['src'], user, label='source', rewrites=True)
        after = compare.take(server(kind), user, label=kind, rewrites=True)
        mapping = {f: f if f == 'INBOX' else server(kind).folder(f)
                   for f in ('INBOX', 'Bulk') if f in before.selectable()}
        c = compare.compare(before, after, mapping, strict_folders=False, ignore_flags=True,
                            ignore_dates=True)
        # The Microsoft profile's fix-ups disarm the read receipt request of one message:
        # the checker, comparing bytes, sees it changed, and nothing else.
        changed = [l for l in c.text().splitlines() if l.lstrip().startswith(('missing',
                                                                               'extra'))]
        fixed = kind == 'm365' and len(changed) == 2 and all(
            '<content-4@example.com>' in l for l in changed)
        checks.check(c.ok or fixed, 'sync into %s: the checker disagrees:\n%s' % (kind,
                                                                                 c.text()))
        checks.done()
        S['synced'][key] = (j, extra)
    return S['synced'][key]


def verify(kind, user, *args):
    j, extra = job(kind, user)
    return j.run('--content', *(extra + args), command='verify', state=False)


def content(r, folder):
    return r.folder(folder).get('content') or {}


def clean_pass(kind, rewrites):
    r = verify(kind, 'clean')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0, 'verify --content after a clean sync into %s' % kind)
    inbox, blk = content(r, 'INBOX'), content(r, 'Bulk')
    n = len(S['mail'])
    checks.eq(inbox.get('checked'), n, 'INBOX: pairs compared')
    checks.eq(blk.get('checked'), 30, 'Bulk: pairs compared')
    checks.eq(r.totals.get('content_different'), 0, 'totals.content_different')
    checks.check(re.search(r'^Verdict: OK, .* the %d compared have the same content' % (n + 30),
                           r.stdout, re.M), 'no OK verdict naming the content')
    same_structure = r.totals.get('content_same_structure')
    if rewrites:
        checks.check(same_structure in rewrites, '%s rewrites messages: expected %s pairs equal '
                     'by structure, got %r' % (kind, rewrites, same_structure))
    else:
        checks.eq(same_structure, 0, 'pairs equal by structure (%s stores bytes as sent)' % kind)
    tap.diag('%s: %s pairs the same bytes, %s the same structure, verify %.1f s' % (
        kind, r.totals.get('content_same_bytes'), same_structure, r.seconds))
    checks.done()


@tap.test
def clean_migration_into_dovecot_passes_by_bytes():
    clean_pass('dovecot', None)


@tap.test
def clean_migration_into_cyrus_passes_by_structure():
    # 8-bit header bytes: the alternative message's Subject (and nothing else here).
    clean_pass('cyrus', (1,))


@tap.test
def clean_migration_into_courier_passes_by_structure():
    # the message without a final line end
    clean_pass('courier', (1,))


@tap.test
def clean_migration_into_microsoft_like_passes_by_structure():
    # --office2's fix-ups: the read receipt request is disarmed (nested)
    clean_pass('m365', (1,))


# -- an altered destination -------------------------------------------------------------

def replace_on_destination(srv, user, folder, message_id, change):
    """APPEND change(body) with the original's flags and INTERNALDATE, then expunge the
    original (by UID)."""
    with imapcheck.session(srv, user) as conn:
        conn.select(imapcheck.quote(folder))
        typ, data = conn.uid('SEARCH', None, 'HEADER', 'Message-ID', message_id)
        uid = data[0].split()[0].decode()
        typ, data = conn.uid('FETCH', uid, '(FLAGS INTERNALDATE BODY.PEEK[])')
        meta = data[0][0].decode()
        body = data[0][1]
        flags = re.search(r'FLAGS \(([^)]*)\)', meta).group(1)
        date = re.search(r'INTERNALDATE ("[^"]+")', meta).group(1)
        new = change(body)
        assert new != body
        typ, _ = conn.append(imapcheck.quote(folder), '(%s)' % flags if flags else None, date,
                             new)
        assert typ == 'OK'
        conn.uid('STORE', uid, '+FLAGS.SILENT', '(\\Deleted)')
        typ, _ = conn.uid('EXPUNGE', uid)
        assert typ == 'OK'
    return int(uid)


def flip_attachment(body):
    """report.pdf with other bytes, the same size and the same base64 layout."""
    start = body.index(b'filename="report.pdf"')
    data_at = body.index(b'\r\n\r\n', start) + 4
    end = body.index(b'\r\n--', data_at)
    raw = bytearray(base64.b64decode(body[data_at:end]))
    for i in range(1000, 1010):
        raw[i] ^= 0xFF
    return body[:data_at] + b64(bytes(raw)).encode() + body[end:]


def drop_chart(body):
    start = body.index(b'--b1-mixed\r\nContent-Type: image/png')
    end = body.index(b'--b1-mixed', start + 10)
    return body[:start] + body[end:]


@tap.test
def altered_attachment_and_removed_part_are_named():
    srv = S['dovecot']
    job('dovecot', 'tamper')
    replace_on_destination(srv, 'tamper', 'INBOX', '<content-1@example.com>',
                           lambda b: drop_chart(flip_attachment(b)))
    replace_on_destination(srv, 'tamper', 'INBOX', '<content-4@example.com>',
                           lambda b: re.sub(rb'--b4-outer\r\nContent-Type: application/octet'
                                            rb'.*?(?=--b4-outer--)', b'', b, flags=re.S))
    r = verify('dovecot', 'tamper')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 1, 'verify --content with two altered messages')
    inbox = content(r, 'INBOX')
    checks.eq(inbox.get('different'), 2, 'INBOX: different pairs')
    diffs = {d.get('message_id'): d for d in inbox.get('different_messages', [])}
    report = diffs.get('<content-1@example.com>', {})
    what = report.get('differences', [])
    checks.check('attachment report.pdf: SHA-256 differs (same size 48213)' in what,
                 'report.pdf not named as changed: %r' % what)
    checks.check('attachment chart.png missing on the destination' in what,
                 'chart.png not named as missing: %r' % what)
    checks.eq(report.get('subject'), 'Quarterly report', 'Subject of the altered message')
    checks.eq(report.get('date'), DATE, 'Date of the altered message')
    checks.check(report.get('uid') and report.get('destination_uid'),
                 'UIDs of the altered message: %r' % report)
    nested = diffs.get('<content-4@example.com>', {}).get('differences', [])
    checks.check('attachment na\u00efve.bin missing on the destination' in nested,
                 'the removed part is not named: %r' % nested)
    checks.check('Differs: INBOX UID' in r.stdout and
                 '  - attachment report.pdf: SHA-256 differs (same size 48213)' in r.stdout,
                 'the differences are not on stdout')
    checks.check(re.search(r'^Verdict: NOT OK, 2 messages differ in content', r.stdout, re.M),
                 'no NOT OK verdict for the content')
    checks.eq(r.totals.get('missing'), 0, 'nothing missing (only changed)')
    checks.check('report.pdf' in r.everything_said(), 'the difference is not in the log')
    checks.done()


@tap.test
def sample_compares_the_stated_number_and_repeats_with_its_seed():
    srv = S['dovecot']
    job('dovecot', 'sample')
    # ten Bulk messages altered, so that which were sampled shows
    for n in range(0, 30, 3):
        replace_on_destination(srv, 'sample', 'Bulk', '<mhtest-%d-%s@example.com>' % (
            100 + n, hashlib.sha256(('Bulk note %d' % n).encode()).hexdigest()[:12]),
            lambda b: b.replace(b'This is test message', b'This is a changed message'))
    r1 = verify('dovecot', 'sample', '--sample', '4')
    checks = Checks()
    checks.attach(r1)
    checks.eq(content(r1, 'INBOX').get('checked'), 4, 'INBOX: sample of 4')
    checks.eq(content(r1, 'Bulk').get('checked'), 4, 'Bulk: sample of 4')
    checks.eq(content(r1, 'Bulk').get('paired'), 30, 'Bulk: pairs found')
    m = re.search(r'^Sample: 4 of the pairs per folder, seed (\d+) \(--seed \1', r1.stdout, re.M)
    checks.check(m, 'the seed is not printed')
    seed = m.group(1) if m else '1'
    checks.eq(str((r1.report.get('content') or {}).get('seed')), seed, 'report: content.seed')

    def picked(r):
        return sorted(d['uid'] for d in content(r, 'Bulk').get('different_messages', []))

    r2 = verify('dovecot', 'sample', '--sample', '4', '--seed', seed)
    checks.attach(r2)
    checks.eq(picked(r2), picked(r1), 'the same seed finds the same differences')
    checks.code(r2, r1.code, 'the same seed, the same exit code')
    r3 = verify('dovecot', 'sample', '--sample', '50%', '--seed', '7')
    checks.eq(content(r3, 'Bulk').get('checked'), 15, 'Bulk: 50% of 30')
    checks.eq(content(r3, 'INBOX').get('checked'), 3, 'INBOX: 50% of 5, rounded up')
    r4 = verify('dovecot', 'sample', '--sample', '100%')
    checks.eq(content(r4, 'Bulk').get('different'), 10, 'Bulk: every altered message found')
    checks.code(r4, 1, 'differences: exit 1')
    tap.diag('sample of 4 found %d of 10 altered Bulk messages (seed %s)' % (len(picked(r1)),
                                                                             seed))
    checks.done()


# Runs a program and writes its largest resident size to stderr. The program must be
# forked from a small process: Linux counts the resident size a process had before exec
# (here, the test's own, with the 50 MB message in it) in the one it has after.
MEASURE = ('import os, sys\n'
           'pid = os.fork()\n'
           'if pid == 0:\n'
           '    os.execv(sys.argv[1], sys.argv[1:])\n'
           '_, status, usage = os.wait4(pid, 0)\n'
           'sys.stderr.write("\\nmax-rss-kb %d\\n" % usage.ru_maxrss)\n'
           'sys.exit(os.waitstatus_to_exitcode(status))\n')


def verify_measured(kind, user):
    """verify --content as verify(), and the largest resident size of that process (KB)."""
    j, extra = job(kind, user)
    args = ['-c', MEASURE, cli.binary()] + j.args('--content', *extra, command='verify',
                                                   state=False)
    t0 = time.monotonic()
    p = subprocess.run([sys.executable] + args, env=cli.environment(),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    r = cli.Result(args[2:], p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
    m = re.search(rb'max-rss-kb (\d+)', p.stderr)
    return SyncResult(r, j.report_path, j.log_path), int(m.group(1)) if m else None


@tap.test
def a_50_mb_message_is_compared_without_holding_it():
    b = 'b6-huge'
    body = (head(6, 'Fifty megabytes', ['Content-Type: multipart/mixed; boundary="%s"' % b]) +
            '\r\n--%s\r\nContent-Type: text/plain\r\n\r\nthe disk image\r\n' % b +
            attachment(b, 'application/octet-stream', 'disk.img', blob(6, 37 * 1024 * 1024)) +
            '--%s--\r\n' % b).encode()
    with imapcheck.session(S['src'], 'large') as conn:
        imapcheck.append(conn, 'INBOX', body, (), imapcheck.DEFAULT_DATE)
    r, rss_kb = verify_measured('dovecot', 'large')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0, 'verify --content of a %d MB message' % (len(body) >> 20))
    checks.eq(content(r, 'INBOX').get('same_bytes'), 1, 'INBOX: the same bytes')
    with open(cli.binary(), 'rb') as f:
        sanitized = b'__asan_init' in f.read()
    if not sanitized:  # ASan's shadow memory and quarantine are not the program's own
        checks.check(rss_kb is not None and rss_kb * 1024 < len(body),
                     'mailhaul grew to %d MB for a %d MB message' % ((rss_kb or 0) >> 10,
                                                                   len(body) >> 20))
    tap.diag('%d MB message: verify --content %.1f s, %d MB resident at most' % (
        len(body) >> 20, r.seconds, (rss_kb or 0) >> 10))
    checks.done()


if __name__ == '__main__':
    tap.main(setup=setup)
