#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul sync` against Gmail's and Microsoft 365's throttling, through throttleproxy.py:
a FAULT INJECTOR in front of a REAL Dovecot. Real servers will not throttle on demand, so the
proxy answers chosen commands with the providers' real texts (Exchange's `Request is
throttled. Suggested Backoff Time: 1200 milliseconds` + `* BYE Connection closed. 14`, its
ten-errors session limit and its size refusal; Gmail's `[ALERT] Too many simultaneous
connections`, also on login, and `[OVERQUOTA] Account exceeded command or bandwidth limits`);
all mail is the real Dovecot's and is checked with the independent imaplib checker
(mhtest.compare: sha256 multiset, INTERNALDATE and flags per folder).

What a user would check: mailhaul says what happened ("throttled", "too many simultaneous
connections", "pausing"), waits at least what the server suggested (capped by --max-backoff),
reconnects and finishes with every message copied exactly once; it gives up with exit 10 and
one line after five waits without progress, and never calls a busy server a wrong password.
"""
import contextlib
import re
import time

import throttleproxy as tp
from mhtest import certs, cli, compare, dovecot, imapcheck, tap
from mhtest.synctest import Checks, Job

PW1, PW2 = 'Throttle-src-pw-4711', 'Throttle-dst-pw-5822'
USERS = ('t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9')
BIG = 8 * 1024 * 1024  # more than loopback's socket buffers hold: still sending at the close
MAX_BACKOFF = 2
BASE = ('--jobs', '1', '--nocompress', '--max-backoff', str(MAX_BACKOFF))
M365_DST = ('--provider2', 'm365', '--pace', '50')
GMAIL_DST = ('--provider2', 'gmail')
REFUSE_MARK = b'X-Mhtest-Refuse: yes'
RUN_TIMEOUT = 45  # each run takes a few seconds; a hang must not eat the file's budget
S = {}


def mailbox(base, refused=False):
    """20 small messages in INBOX, Work and Work/Clients with varied flags and sizes; with
    refused, INBOX gets 20 more of which 12 carry REFUSE_MARK (three in every five)."""
    flags = ((), ('\\Seen',), ('\\Seen', '\\Flagged'), ('\\Answered', '\\Seen'),
             ('Project-X',))
    folders = {'INBOX': [], 'Work': [], 'Work/Clients': []}
    n = base
    for folder, count in (('INBOX', 8), ('Work', 6), ('Work/Clients', 6)):
        for i in range(count):
            n += 1
            folders[folder].append(imapcheck.Mail(
                imapcheck.make_message(n, size=1500 + 700 * (n % 5)), flags[n % len(flags)]))
    for i in range(20 if refused else 0):
        n += 1
        headers = (REFUSE_MARK.decode(),) if i % 5 in (0, 1, 3) else ()
        folders['INBOX'].append(imapcheck.Mail(
            imapcheck.make_message(n, size=2000, headers=headers), flags[n % len(flags)]))
    return folders


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={u: PW1 for u in USERS}, separator='/')
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in USERS}, separator='/')
        with dovecot.running(src, dst):
            S.update(pki=pki, src=src, dst=dst)
            for k, user in enumerate(USERS[1:-1]):
                src.preload(user, mailbox(1000 * (k + 1), refused=user == 't6'))
            src.preload('t9', {'INBOX': [imapcheck.Mail(imapcheck.make_message(9000 + i,
                                                                               size=BIG))
                                         for i in range(3)]})
            yield


def proxy_for(server, rules, provider, error_limit=None):
    """A proxy in front of server that looks like the provider: Exchange's greeting and
    ten-errors limit for 'm365'; neither offers CRAM-MD5 nor MULTIAPPEND (docs/providers.md,
    "Connection and capabilities" and "Limits and throttling")."""
    return tp.ThrottleProxy(server, rules=rules, mode='ssl', pki=S['pki'],
                            greeting=tp.EXCHANGE_GREETING if provider == 'm365' else None,
                            error_limit=error_limit,
                            drop_capabilities=('AUTH=CRAM-MD5', 'MULTIAPPEND'))


def source_without(user, drop=None):
    s = compare.take(S['src'], user, label='source')
    if drop is None:
        return s
    return compare.Snapshot(s.folders, {f: [i for i in items if not drop(f, i)]
                                        for f, items in s.messages.items()}, s.label)


def check_copied_once(checks, user, what, drop=None):
    """The destination holds exactly the source's messages (less drop), once each."""
    c = compare.compare(source_without(user, drop),
                        compare.take(S['dst'], user, label='destination'))
    checks.check(c.ok, '%s: the destination differs from the source:\n%s' % (what, c.text()))


def check_nothing_left_out(checks, r):
    """The report lists no message as skipped, failed or missing."""
    if r.report is None:
        checks.check(False, 'no JSON report')
        return
    for f in r.report.get('folders', []):
        for key in ('failed', 'missing'):
            checks.eq(f.get(key), 0, 'report %s of %s' % (key, f.get('source')))
        checks.eq(f.get('skipped'), [], 'report skipped of %s' % f.get('source'))


def first_connect_after(proxy, t):
    later = [c for c in proxy.connect_times() if c > t]
    return later[0] if later else None


def says(text, pattern):
    return re.search(pattern, text, re.I) is not None


# -- the proxy itself --------------------------------------------------------------------------

def closed_by_server(conn):
    """True if the server has closed conn (end of stream within 2 s)."""
    conn.sock.settimeout(2)
    try:
        return conn.file.read(1) == b''
    except OSError:
        return False


@tap.test
def proxy_relays_and_injects_the_real_texts():
    dst, pki = S['dst'], S['pki']
    body = imapcheck.make_message(1, size=5000)
    refused = imapcheck.make_message(2, headers=(REFUSE_MARK.decode(),))
    rules = [tp.too_many_connections(first=1), tp.refuse(lambda m: REFUSE_MARK in m),
             tp.throttle_nth('APPEND', 2)]
    with tp.ThrottleProxy(dst, rules=rules, pki=pki, greeting=tp.EXCHANGE_GREETING) as px:
        conn = imapcheck.connect(px.host, px.port('ssl'), 'ssl', px.cafile)
        tap.contains(b'Microsoft Exchange IMAP4', conn.welcome, 'greeting')
        blob = ('\0t0\0%s' % PW2).encode()
        got = imapcheck.answer(conn, conn.authenticate, 'PLAIN', lambda _c: blob)
        tap.check(got[0] == 'raised' and tp.TOO_MANY in got[1], 'first login: %r' % (got,))
        answers = [b't0', PW2.encode()]  # AUTHENTICATE LOGIN: two rounds relayed to Dovecot
        got = imapcheck.answer(conn, conn.authenticate, 'LOGIN', lambda _c: answers.pop(0))
        tap.eq(got[0], 'OK', 'second login (relayed)')
        tap.eq(imapcheck.answer(conn, conn.append, 'INBOX', '(\\Seen)', None, body)[0], 'OK',
               'APPEND with a synchronizing literal')
        tap.eq(imapcheck.answer(conn, conn.append, 'INBOX', None, None, refused),
               ('NO', tp.MAX_SIZE), 'refused APPEND')
        tap.eq(imapcheck.answer(conn, conn.append, 'INBOX', None, None, body),
               ('NO', tp.THROTTLED.format(ms=1200)), 'second APPEND (throttled)')
        got = imapcheck.answer(conn, conn.noop)
        tap.check(got[0] == 'raised' and 'Connection closed. 14' in got[1],
                  'after the throttled APPEND: %r' % (got,))
        tap.check(closed_by_server(conn), 'the connection stayed open after the BYE')
    with imapcheck.session(dst, 't0') as conn:
        tap.eq([m.sha256 for m in imapcheck.mailbox_snapshot(conn, 'INBOX')],
               [imapcheck.sha256(body)], 'what reached the real server')
    with tp.ThrottleProxy(dst, rules=[tp.session_expired_after(3),
                                      tp.overquota_after(0, 1.0)], pki=pki,
                          error_limit=3) as px:
        conn = imapcheck.imap_client(px, 't0')            # CAPABILITY, LOGIN
        got = imapcheck.answer(conn, conn.noop)
        tap.check(got[0] == 'raised' and 'Session expired, please login again' in got[1],
                  'third command: %r' % (got,))
        tap.check(closed_by_server(conn), 'the connection stayed open after the BYE')
        conn = imapcheck.imap_client(px, 't0')
        tap.eq(imapcheck.answer(conn, conn.append, 'INBOX', None, None, body),
               ('NO', tp.OVERQUOTA), 'APPEND within the [OVERQUOTA] window')
        time.sleep(1.0)
        tap.eq(imapcheck.answer(conn, conn.append, 'INBOX', None, None, body)[0], 'OK',
               'APPEND after the window')
        for _ in range(2):
            imapcheck.answer(conn, conn.select, 'No such folder')
        got = imapcheck.answer(conn, conn.noop)
        tap.check(got[0] == 'raised' and 'Connection closed. 14' in got[1],
                  'after the third NO with error_limit=3: %r' % (got,))
        tap.check(closed_by_server(conn), 'the connection stayed open after the BYE')
        kinds = [(e.rule, e.text) for e in px.injections()]
    tap.eq(kinds, [('session-expired', tp.SESSION_EXPIRED), ('overquota', 'NO ' + tp.OVERQUOTA),
                   ('error-limit', tp.EXCHANGE_BYE)], 'the transcript of injections')


# -- Microsoft 365: throttled with a suggested back-off ---------------------------------------

def check_one_throttle_waited_out(checks, proxy, user, r, again=None):
    """One throttled answer, logged; mailhaul reconnected no sooner than the suggested
    1200 ms; everything copied once; a rerun (if any) copies nothing."""
    inj = proxy.injections('throttled')
    checks.eq(len(inj), 1, 'throttled answers the proxy gave')
    checks.check(says(r.everything_said(), r'throttled'),
                 'neither stderr nor the log has a line with "throttled"')
    if inj:
        nxt = first_connect_after(proxy, inj[0].t)
        checks.check(nxt is not None and nxt - inj[0].t >= 1.2,
                     'mailhaul reconnected %s after the BYE; the server suggested 1200 '
                     'milliseconds' % ('never' if nxt is None else '%.3f s' % (nxt - inj[0].t)))
    check_nothing_left_out(checks, r)
    check_copied_once(checks, user, 'after the throttled run')
    if again is not None:
        checks.code(again, 0, 'exit code of the rerun')
        if again.report is not None:
            checks.eq(again.totals.get('copied'), 0, 'messages copied by the rerun')
        check_copied_once(checks, user, 'after the rerun')
    tp.finish(checks, proxy, r, *(() if again is None else (again,)))


@tap.test
def throttled_append_then_bye_waits_and_resumes():
    proxy = proxy_for(S['dst'], [tp.throttle_nth('APPEND', 5)], 'm365', error_limit=10)
    with proxy:
        job = Job(S['src'], 't1', proxy, 't1', name='throttled-append')
        r = tp.run(job, proxy, *(BASE + M365_DST), timeout=RUN_TIMEOUT)
        again = tp.run(job, proxy, *(BASE + M365_DST), timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(r, 0, 'exit code after a throttled APPEND')
    check_one_throttle_waited_out(checks, proxy, 't1', r, again)


@tap.test
def throttled_while_still_sending_waits_and_resumes():
    # The answer and the BYE arrive while mailhaul is still sending the message: the send
    # fails, but what the server said before hanging up decides the wait.
    rule = tp.throttle_nth('APPEND', 2, early=True)
    proxy = proxy_for(S['dst'], [rule], 'm365', error_limit=10)
    with proxy:
        job = Job(S['src'], 't9', proxy, 't9', name='throttled-while-sending')
        r = tp.run(job, proxy, *(BASE + M365_DST), timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(r, 0, 'exit code after a throttled APPEND cut off mid-message')
    check_one_throttle_waited_out(checks, proxy, 't9', r)


@tap.test
def throttled_source_fetch_as_bad_waits_and_resumes():
    # Bodies come in one ranged UID FETCH per folder: the second is Work's.
    rule = tp.throttle_nth('UID FETCH', 2, status='BAD', match=rb'BODY\.PEEK\[\]')
    proxy = proxy_for(S['src'], [rule], 'm365', error_limit=10)
    with proxy:
        job = Job(proxy, 't2', S['dst'], 't2', name='throttled-fetch')
        r = tp.run(job, proxy, *(BASE + ('--provider1', 'm365')), timeout=RUN_TIMEOUT)
        again = tp.run(job, proxy, *(BASE + ('--provider1', 'm365')), timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(r, 0, 'exit code after a throttled UID FETCH (BAD)')
    check_one_throttle_waited_out(checks, proxy, 't2', r, again)


# -- Gmail: too many simultaneous connections ---------------------------------------------------

WRONG_PASSWORD = (r'(wrong|bad|invalid|incorrect) (password|credentials)|'
                  r'authentication (failed|refused)|AUTHENTICATIONFAILED|password.*(wrong|refused)')


@tap.test
def too_many_connections_at_login_is_waited_out():
    proxy = proxy_for(S['dst'], [tp.too_many_connections(first=3)], 'gmail')
    with proxy:
        job = Job(S['src'], 't3', proxy, 't3', name='too-many-connections')
        r = tp.run(job, proxy, *(BASE + GMAIL_DST), timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.check(r.code != cli.EXIT_AUTH, 'exit 16: a busy server was taken for a refused login')
    checks.code(r, 0, 'exit code after three refused logins')
    refusals = proxy.injections('too-many-connections')
    checks.eq(len(refusals), 3, 'logins refused with "Too many simultaneous connections"')
    said = r.everything_said()
    checks.check(says(said, r'too many simultaneous connections'),
                 'neither stderr nor the log says "too many simultaneous connections"')
    bad = re.search(WRONG_PASSWORD, said, re.I)
    checks.check(bad is None, 'mailhaul calls the busy server a login failure: %r' % (
        bad.group(0) if bad else None))
    logins = [e.t for e in proxy.commands() if e.command in ('LOGIN', 'AUTHENTICATE')]
    last = refusals[-1].t if refusals else None
    retry = [t for t in logins if last is not None and t > last]
    checks.check(retry and retry[0] - last >= 0.25,
                 'mailhaul logged in again %s after the third refusal instead of waiting' % (
                     '%.3f s' % (retry[0] - last) if retry else 'never'))
    check_nothing_left_out(checks, r)
    check_copied_once(checks, 't3', 'after the refused logins')
    tp.finish(checks, proxy, r)


@tap.test
def too_many_connections_forever_is_a_connection_error():
    proxy = proxy_for(S['dst'], [tp.too_many_connections(first=None)], 'gmail')
    with proxy:
        job = Job(S['src'], 't4', proxy, 't4', name='too-many-forever')
        r = tp.run(job, proxy, '--jobs', '1', '--nocompress', '--max-backoff', '1', *GMAIL_DST,
                   timeout=RUN_TIMEOUT)
    try:
        cli.expect_error(r, cli.EXIT_CONNECT, 'too many simultaneous connections')
    except tap.Failure as e:
        tap.fail('%s\n%s' % (e, proxy.summary()))
    bad = re.search(WRONG_PASSWORD, r.everything_said(), re.I)
    tap.check(bad is None, 'mailhaul calls the busy server a login failure: %r\n%s' % (
        bad.group(0) if bad else None, r))


# -- Gmail: the bandwidth budget is spent for a while -----------------------------------------

@tap.test
def overquota_pauses_and_resumes():
    window = 3.0
    proxy = proxy_for(S['dst'], [tp.overquota_after(15000, window)], 'gmail')
    with proxy:
        job = Job(S['src'], 't5', proxy, 't5', name='overquota')
        r = tp.run(job, proxy, *(BASE + GMAIL_DST), timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(r, 0, 'exit code after the bandwidth budget came back')
    refusals = [e.t for e in proxy.injections('overquota')]
    checks.check(refusals, 'the proxy never answered [OVERQUOTA] (the rule did not fire)')
    checks.check(says(r.everything_said(), r'pausing'),
                 'neither stderr nor the log has a line with "pausing"')
    # Refusals of APPENDs already in flight come together; between bursts mailhaul waited.
    bursts = []
    for t in refusals:
        if not bursts or t - bursts[-1][-1] > 0.5:
            bursts.append([t])
        else:
            bursts[-1].append(t)
    for a, b in zip(bursts, bursts[1:]):
        checks.check(b[0] - a[-1] >= 1.0, 'mailhaul tried again %.3f s after an [OVERQUOTA] '
                     'answer without pausing' % (b[0] - a[-1]))
    appends = [e.t for e in proxy.commands('APPEND')]
    for t in (b[-1] for b in bursts):
        later = [a for a in appends if a > t + 0.5] or [a for a in appends if a > t]
        if later:
            checks.check(later[0] - t <= MAX_BACKOFF + 2.5, 'mailhaul paused %.1f s: more than '
                         '--max-backoff %d allows' % (later[0] - t, MAX_BACKOFF))
    check_nothing_left_out(checks, r)
    check_copied_once(checks, 't5', 'after the pause')
    tp.finish(checks, proxy, r)


@tap.test
def session_expired_pauses_and_resumes():
    proxy = proxy_for(S['dst'], [tp.session_expired_after(3, commands=('APPEND',))], 'gmail')
    with proxy:
        job = Job(S['src'], 't8', proxy, 't8', name='session-expired')
        r = tp.run(job, proxy, *(BASE + GMAIL_DST), timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(r, 0, 'exit code after "Session expired"')
    bye = proxy.injections('session-expired')
    checks.eq(len(bye), 1, 'sessions the proxy expired (at their third APPEND)')
    checks.check(says(r.everything_said(), r'pausing'),
                 'neither stderr nor the log has a line with "pausing"')
    if bye:
        nxt = first_connect_after(proxy, bye[0].t)
        checks.check(nxt is not None and 1.0 <= nxt - bye[0].t <= MAX_BACKOFF + 2.5,
                     'mailhaul reconnected %s after "Session expired"; expected a pause of '
                     'about --max-backoff %d s' % (
                         'never' if nxt is None else '%.3f s' % (nxt - bye[0].t), MAX_BACKOFF))
    check_nothing_left_out(checks, r)
    check_copied_once(checks, 't8', 'after the expired session')
    tp.finish(checks, proxy, r)


# -- Exchange: refused messages and the ten-errors session limit ------------------------------

@tap.test
def refused_messages_survive_the_ten_errors_limit():
    proxy = proxy_for(S['dst'], [tp.refuse(lambda m: REFUSE_MARK in m)], 'm365', error_limit=10)
    with proxy:
        job = Job(S['src'], 't6', proxy, 't6', name='ten-errors')
        r = tp.run(job, proxy, *(BASE + M365_DST), timeout=RUN_TIMEOUT)
    with imapcheck.session(S['src'], 't6') as conn:
        marked = marked_uids(conn, 'INBOX')
    checks = Checks()
    checks.eq(len(marked), 12, 'source messages the proxy refuses (test setup)')
    checks.code(r, 114, 'exit code when the destination refused APPENDs (README: 114)')
    if r.report is not None:
        checks.eq(r.totals.get('failed'), 12, 'report totals.failed')
        entry = r.folder('INBOX')
        named = ' '.join(entry.get('errors') or []) + ' '.join(
            str(s.get('uid')) for s in entry.get('skipped') or [])
        unnamed = [u for u in marked if not re.search(r'\b%d\b' % u, named)]
        checks.check(not unnamed, 'the report of INBOX does not name the refused UIDs %s: %r'
                     % (unnamed, entry.get('errors')))
    checks.check(len(proxy.injections('refused')) >= 12, 'the proxy refused %d APPENDs, '
                 'expected at least 12' % len(proxy.injections('refused')))
    tap.diag('sessions the ten-errors limit closed: %d' % len(proxy.injections('error-limit')))
    marked_set = set(marked)
    check_copied_once(checks, 't6', 'all but the refused messages',
                      drop=lambda f, i: f == 'INBOX' and i.uid in marked_set)
    tp.finish(checks, proxy, r)


def marked_uids(conn, folder):
    imapcheck.select(conn, folder, readonly=True)
    typ, dat = conn.uid('SEARCH', 'HEADER', 'X-Mhtest-Refuse', 'yes')
    if typ != 'OK':
        raise imapcheck.CheckError('UID SEARCH: %r' % (dat,))
    return [int(x) for x in b' '.join(d for d in dat if d).split()]


# -- Exchange: throttled forever --------------------------------------------------------------

@tap.test
def throttled_forever_gives_up_after_five_waits():
    proxy = proxy_for(S['dst'], [tp.throttle_nth('APPEND', 1, forever=True)], 'm365',
                      error_limit=10)
    with proxy:
        job = Job(S['src'], 't7', proxy, 't7', name='throttled-forever')
        r = tp.run(job, proxy, *(BASE + M365_DST), timeout=RUN_TIMEOUT)
    try:
        cli.expect_error(r, cli.EXIT_CONNECT, ('throttl', 'back off', 'backoff'))
    except tap.Failure as e:
        tap.fail('%s\n%s' % (e, proxy.summary()))
    times = [e.t for e in proxy.injections('throttled')]
    # Five waits: five throttled answers waited out, the sixth ends the run (or the fifth,
    # if mailhaul counts the wait it will not make).
    tap.check(5 <= len(times) <= 6, 'throttled answers before giving up: %d, expected 5 '
              'waits\n%s\n%s' % (len(times), proxy.summary(), r))
    short = ['%.3f' % (b - a) for a, b in zip(times, times[1:]) if b - a < 1.2]
    tap.check(not short, 'mailhaul retried sooner than the suggested 1.2 s: after %s s\n%s' % (
        ', '.join(short), proxy.summary()))
    check_unfinished_report(r, 'INBOX')


def check_unfinished_report(r, started):
    """A run that gave up in folder `started` (with --jobs 1) says so: that folder is
    unfinished, the others were not reached, and neither shows counts it does not know."""
    folders = r.need_report()['folders']
    unfinished = [f['source'] for f in folders if f['unfinished']]
    unreached = [f['source'] for f in folders if f['not_reached']]
    tap.eq(unfinished, [f['source'] for f in folders if not f['container_only']],
           'unfinished folders in the report')
    tap.eq(unreached, [name for name in unfinished if name != started],
           'folders the report calls not reached')
    tap.eq(r.report['totals']['unfinished_folders'], len(unfinished), 'unfinished_folders')
    tap.eq(r.verdict, 'Verdict: NOT OK, %d folder(s) unfinished; run the same command again '
           'to finish.' % len(unfinished), 'verdict')
    tap.eq(r.table.get(started + ' (unfinished)'), ['0', '0', '0'],
           'the row of %s (copied, flags, skipped; no counts) in\n%s' % (started, r.stdout))
    for name in unreached:
        tap.eq(r.table.get(name), ['not reached'], 'the table row of %s' % name)


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'openssl'))
