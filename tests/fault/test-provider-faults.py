#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul sync` against Microsoft 365's sign-in refusals and Gmail's collapsing rate, through
throttleproxy.py: a FAULT INJECTOR in front of a REAL Dovecot. Real servers will not say these
things on demand, so the proxy answers in the server's place with the providers' real texts
(docs/providers.md, Microsoft 365 "Sign-in" and Gmail "Limits and throttling"): Exchange's
`BAD User is authenticated but not connected.` after a successful login (an app-only token
that reaches no mailbox), its `NO AUTHENTICATE failed.` and `NO LOGIN failed.`; and it slows
the server's data to a trickle for a few seconds, as Gmail does once a bandwidth budget is
spent. All mail is the real Dovecot's and is checked with the independent imaplib checker
(mhtest.compare: sha256 multiset, INTERNALDATE and flags per folder).

The sign-in refusals are injected after password logins: the server's text is what matters,
not how the token was obtained.

What a user would check: a refused sign-in ends with exit 16 and one error line that quotes the
server and says what to do (the administrator's three steps for app-only access), with nothing
copied; a copy that slows below --min-rate says "pausing", waits at most --max-backoff,
reconnects and, once the server is fast again, finishes with every message copied exactly once.
"""
import contextlib
import datetime
import re
import time

import throttleproxy as tp
from mhtest import certs, cli, compare, dovecot, imapcheck, tap
from mhtest.synctest import Checks, Job

PW1, PW2 = 'Provfault-src-pw-3141', 'Provfault-dst-pw-2718'
USERS = ('f0', 'f1', 'f2', 'f3', 'f4')
MAX_BACKOFF = 1
BASE = ('--jobs', '1', '--nocompress', '--max-backoff', str(MAX_BACKOFF))
M365_DST = ('--provider2', 'm365', '--pace', '50')
RUN_TIMEOUT = 40  # each run takes seconds; a hang must not eat the file's budget
# Gmail's collapsing rate: the source sends ~2 KB/s for SLOW_SECONDS; mailhaul is told that
# under 20,000 bytes/s over 2 s means a spent budget.
SLOW_RATE = 2000
SLOW_SECONDS = 12.0
RATE_ARGS = ('--provider1', 'gmail', '--min-rate', '20000', '--rate-window', '2')
# What provider-errors.c advises for each text (the words a user acts on).
APP_ONLY_ADVICE = ('IMAP.AccessAsApp', 'New-ServicePrincipal', 'Add-MailboxPermission')
AUTHENTICATE_ADVICE = ('IMAP.AccessAsUser.All', 'FullAccess', 'IMAP is enabled')
LOGIN_ADVICE = ('basic auth', 'OAuth2', 'mailhaul login m365:')
S = {}


def mailbox(base, sizes):
    """Messages of the given sizes, spread over INBOX and Work, with varied flags."""
    flags = ((), ('\\Seen',), ('\\Seen', '\\Flagged'), ('\\Answered', '\\Seen'))
    folders = {'INBOX': [], 'Work': []}
    for i, size in enumerate(sizes):
        n = base + i + 1
        folders['INBOX' if i % 3 else 'Work'].append(imapcheck.Mail(
            imapcheck.make_message(n, size=size), flags[n % len(flags)]))
    return folders


SMALL = [1500 + 500 * (i % 4) for i in range(8)]
# 10-50 KB, the first ones small so that several messages start while the rate is low.
LARGE = [10000, 12000, 11000, 30000, 50000, 20000, 45000, 15000, 40000, 25000, 35000, 10000]


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={u: PW1 for u in USERS}, separator='/')
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in USERS}, separator='/')
        with dovecot.running(src, dst):
            S.update(pki=pki, src=src, dst=dst)
            for k, user in enumerate(USERS[1:4]):
                src.preload(user, mailbox(1000 * (k + 1), SMALL))
            src.preload('f4', mailbox(5000, LARGE))
            yield


def exchange_proxy(server, rules, drop=()):
    """A proxy that looks like Exchange: its greeting, its ten-errors limit, no CRAM-MD5, no
    MULTIAPPEND."""
    return tp.ThrottleProxy(server, rules=rules, mode='ssl', pki=S['pki'],
                            greeting=tp.EXCHANGE_GREETING, error_limit=10,
                            drop_capabilities=('AUTH=CRAM-MD5', 'MULTIAPPEND') + tuple(drop))


def check_error_line(checks, r, code, *words):
    """cli.expect_error's rules (exit code, exactly one error line, last on stderr, with
    every word), gathered into checks instead of failing at once."""
    try:
        tap.diag(cli.expect_error(r, code, *words))
    except tap.Failure as e:
        checks.check(False, str(e).split('\n', 1)[0])


def check_nothing_copied(checks, user):
    dst = compare.take(S['dst'], user, label='destination')
    checks.eq(dst.count(), 0, 'messages on the destination after a refused sign-in')


def logins(proxy):
    return [e for e in proxy.commands() if e.command in ('LOGIN', 'AUTHENTICATE')]


# -- the proxy's new rules themselves ---------------------------------------------------------

def timed_fetch(proxy, user, folder):
    """Seconds to fetch every message of folder through proxy, and the bytes fetched."""
    conn = imapcheck.imap_client(proxy, user)
    try:
        imapcheck.select(conn, folder, readonly=True)
        t0 = time.monotonic()
        typ, dat = conn.uid('FETCH', '1:*', '(BODY.PEEK[])')
        seconds = time.monotonic() - t0
        if typ != 'OK':
            raise imapcheck.CheckError('UID FETCH: %r' % (dat,))
        return seconds, sum(len(d[1]) for d in dat if isinstance(d, tuple))
    finally:
        conn.logout()


@tap.test
def proxy_injects_the_sign_in_texts_and_slows_down():
    src, pki = S['src'], S['pki']
    with tp.ThrottleProxy(src, rules=[tp.not_connected()], pki=pki) as px:
        conn = imapcheck.connect(px.host, px.port('ssl'), 'ssl', px.cafile)
        tap.eq(imapcheck.answer(conn, conn.noop)[0], 'OK', 'NOOP before the login (passed on)')
        tap.eq(imapcheck.answer(conn, conn.login, 'f1', PW1)[0], 'OK', 'login (relayed)')
        got = imapcheck.answer(conn, conn.select, 'INBOX')
        tap.check(got[0] == 'raised' and 'BAD' in got[1] and tp.NOT_CONNECTED in got[1],
                  'SELECT after the login: %r' % (got,))
        tap.eq(imapcheck.answer(conn, conn.logout)[0], 'BYE', 'LOGOUT (passed on)')
    with tp.ThrottleProxy(src, rules=[tp.not_connected()], pki=pki) as px:
        conn = imapcheck.connect(px.host, px.port('ssl'), 'ssl', px.cafile)
        imapcheck.answer(conn, conn.login, 'f1', 'not the password')
        tap.check('not connected' not in imapcheck.answer(conn, conn.noop)[1],
                  'a refused login counts as a login for not_connected')
    with tp.ThrottleProxy(src, rules=[tp.login_failed(first=2)], pki=pki) as px:
        conn = imapcheck.connect(px.host, px.port('ssl'), 'ssl', px.cafile)
        blob = ('\0f1\0%s' % PW1).encode()
        got = imapcheck.answer(conn, conn.authenticate, 'PLAIN', lambda _c: blob)
        tap.check(got[0] == 'raised' and tp.AUTHENTICATE_FAILED in got[1],
                  'AUTHENTICATE: %r' % (got,))
        got = imapcheck.answer(conn, conn.login, 'f1', PW1)
        tap.check(got[0] == 'raised' and tp.LOGIN_FAILED in got[1], 'LOGIN: %r' % (got,))
        tap.eq(imapcheck.answer(conn, conn.login, 'f1', PW1)[0], 'OK', 'third login (relayed)')
    full, nbytes = timed_fetch(src, 'f4', 'INBOX')
    tap.check(nbytes > 100000, 'test setup: only %d bytes in INBOX of f4' % nbytes)
    rate = 4 * nbytes  # the whole folder in about a quarter of a second
    slow = tp.slow_down(rate, literals_only=True)
    with tp.ThrottleProxy(src, rules=[slow], pki=pki) as px:
        took, _ = timed_fetch(px, 'f4', 'INBOX')
    tap.check(0.2 <= took <= 1.5 + full, 'fetching %d bytes at %d bytes/s took %.3f s '
              '(unlimited: %.3f s)' % (nbytes, rate, took, full))
    slow = tp.slow_down(1000, seconds=0.3)
    with tp.ThrottleProxy(src, rules=[slow], pki=pki) as px:
        took, _ = timed_fetch(px, 'f4', 'INBOX')
        kinds = [e.text for e in px.limits()]
    tap.check(took < 2.0 + full, 'a 0.3 s limit slowed %d bytes to %.3f s' % (nbytes, took))
    tap.eq(len(kinds), 2, 'limit events (began, ended): %r' % (kinds,))


# -- Microsoft 365: app-only token, mailbox not reachable ---------------------------------------

@tap.test
def not_connected_after_login_is_a_configuration_error():
    proxy = exchange_proxy(S['dst'], [tp.not_connected()])
    with proxy:
        job = Job(S['src'], 'f1', proxy, 'f1', name='not-connected')
        r = tp.run(job, proxy, *(BASE + M365_DST), timeout=RUN_TIMEOUT)
    checks = Checks()
    inj = proxy.injections('not-connected')
    checks.check(inj, 'the proxy never answered "User is authenticated but not connected"')
    if inj:
        tap.diag('the first command after the login: %s' % inj[0].command)
    check_error_line(checks, r, cli.EXIT_AUTH, tp.NOT_CONNECTED.rstrip('.'), *APP_ONLY_ADVICE)
    checks.check(len(logins(proxy)) <= 2, 'mailhaul logged in %d times into a mailbox it cannot '
                 'reach: a configuration error is not worth retrying' % len(logins(proxy)))
    check_nothing_copied(checks, 'f1')
    tp.finish(checks, proxy, r)


# -- Microsoft 365: the token or the password is refused ---------------------------------------

def check_login_refused(user, refused, text, advice, drop=()):
    """Every `refused` login (AUTHENTICATE or LOGIN) into the Microsoft-like destination gets
    Exchange's refusal: exit 16 with the server's text and advice, a refresh at most, nothing
    copied."""
    proxy = exchange_proxy(S['dst'], [tp.login_failed()], drop=drop)
    with proxy:
        job = Job(S['src'], user, proxy, user, name='%s-failed' % refused.lower())
        r = tp.run(job, proxy, *(BASE + M365_DST), timeout=RUN_TIMEOUT)
    checks = Checks()
    names = sorted({e.command for e in proxy.injections('login-failed')})
    checks.eq(names, [refused], 'logins the proxy refused')
    check_error_line(checks, r, cli.EXIT_AUTH, text.rstrip('.'), *advice)
    checks.check(len(logins(proxy)) <= 2, 'mailhaul tried %d logins after "%s" (a refresh at '
                 'most, then stop)' % (len(logins(proxy)), text.rstrip('.')))
    check_nothing_copied(checks, user)
    tp.finish(checks, proxy, r)


@tap.test
def authenticate_failed_is_explained():
    check_login_refused('f2', 'AUTHENTICATE', tp.AUTHENTICATE_FAILED, AUTHENTICATE_ADVICE)


@tap.test
def login_failed_is_explained():
    # Without SASL mechanisms on offer, mailhaul uses the LOGIN command.
    check_login_refused('f3', 'LOGIN', tp.LOGIN_FAILED, LOGIN_ADVICE,
                        drop=('AUTH=PLAIN', 'AUTH=LOGIN'))


# -- Gmail: the rate collapses for a while -----------------------------------------------------

PAUSING = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) warning: pausing for '
                     r'([\d.]+) s\b(.*)$', re.M)


def pauses(r, wall_minus_mono):
    """[(monotonic time, seconds, text)] of each "pausing for N s" line in the run's log."""
    try:
        with open(r.log_path, errors='replace') as f:
            log = f.read()
    except (OSError, TypeError):
        return []
    out = []
    for m in PAUSING.finditer(log):
        wall = datetime.datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S.%f').timestamp()
        out.append((wall - wall_minus_mono, float(m.group(2)), m.group(3)))
    return out


@tap.test
def collapsing_rate_pauses_and_resumes():
    slow = tp.slow_down(SLOW_RATE, seconds=SLOW_SECONDS, literals_only=True)
    proxy = tp.ThrottleProxy(S['src'], rules=[slow], mode='ssl', pki=S['pki'],
                             drop_capabilities=('AUTH=CRAM-MD5', 'MULTIAPPEND'))
    wall_minus_mono = time.time() - time.monotonic()
    with proxy:
        job = Job(proxy, 'f4', S['dst'], 'f4', name='collapsing-rate')
        r = tp.run(job, proxy, *(BASE + RATE_ARGS), timeout=RUN_TIMEOUT)
        again = tp.run(job, proxy, *(BASE + RATE_ARGS), timeout=RUN_TIMEOUT)
    checks = Checks()
    checks.code(r, 0, 'exit code after the rate came back')
    start, end = slow.window()
    checks.check(start is not None and end is not None, 'the proxy never slowed the source '
                 'down, or the slowdown never ended: %r' % ((start, end),))
    said = [p for p in pauses(r, wall_minus_mono) if re.search(r'rate|min-rate', p[2], re.I)]
    checks.check(said, 'the log has no line "pausing for N s" that names the rate')
    for t, seconds, text in said:
        checks.check(seconds <= MAX_BACKOFF, 'mailhaul announced a pause of %g s, more than '
                     '--max-backoff %d: %s' % (seconds, MAX_BACKOFF, text))
        later = [e.t for e in logins(proxy) if e.t > t]
        if not later:
            checks.check(False, 'mailhaul did not log in again after pausing (%s)' % text)
            continue
        checks.check(seconds - 0.3 <= later[0] - t <= seconds + 1.5,
                     'mailhaul logged in again %.2f s after announcing a pause of %g s' % (
                         later[0] - t, seconds))
    if start is not None and end is not None and said:
        # The rate is measured over --rate-window (2 s) before each message: the headers
        # (~3.5 KB) and the first body (12 KB) at 2 KB/s end about 8 s after the slowdown
        # began, when the second body begins; the pause must come then, while the source is
        # still slow (until 12 s), not once the rest has trickled in or the server is fast.
        checks.check(said[0][0] < end, 'mailhaul announced its first pause %.1f s after the '
                     'slowdown began, only after it had ended (%.1f s)' % (
                         said[0][0] - start, end - start))
    if r.report is not None:
        for f in r.report.get('folders', []):
            for key in ('failed', 'missing'):
                checks.eq(f.get(key), 0, 'report %s of %s' % (key, f.get('source')))
    c = compare.compare(compare.take(S['src'], 'f4', label='source'),
                        compare.take(S['dst'], 'f4', label='destination'))
    checks.check(c.ok, 'the destination differs from the source:\n%s' % c.text())
    checks.code(again, 0, 'exit code of the rerun')
    if again.report is not None:
        checks.eq(again.totals.get('copied'), 0, 'messages copied by the rerun')
    tp.finish(checks, proxy, r, again)


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'openssl'))
