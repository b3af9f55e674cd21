#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The verification table's destination counts when STATUS on the selected mailbox is stale,
through throttleproxy.py: a FAULT INJECTOR in front of a REAL Dovecot. Courier answers STATUS
on the mailbox a connection has selected with the counters from before that connection's own
APPENDs (MESSAGES 0 after copying into an empty folder) until a NOOP, which RFC 3501 6.3.10
allows; Dovecot always answers it correctly, so the proxy rewrites MESSAGES and SIZE to 0 in
such answers. Everything else is the real Dovecot's.

What a user would check: after a sync into that destination, the table and the report give
the destination's real message counts and sizes (read independently with imaplib), the
verdict is OK, and `verify` agrees."""
import contextlib

import throttleproxy as tp
from mhtest import certs, compare, dovecot, imapcheck, synctest, tap
from mhtest.synctest import Checks, Job

PW1, PW2 = 'Stale-src-pw-8080', 'Stale-dst-pw-9090'
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={'alice': PW1}, separator='/')
        dst = dovecot.Dovecot(pki, users={'alice': PW2}, separator='/')
        with dovecot.running(src, dst):
            src.preload('alice', {
                'INBOX': [imapcheck.make_message(n, size=1500 + 100 * n) for n in range(1, 6)],
                'Work': [imapcheck.make_message(n, size=4000) for n in range(10, 13)]})
            proxy = tp.ThrottleProxy(dst, rules=[tp.stale_status()], mode='ssl', pki=pki)
            with proxy:
                S.update(src=src, dst=dst, proxy=proxy)
                yield


def real_counts(folder):
    """(messages, bytes) of a destination folder, read with imaplib from the real server."""
    with imapcheck.session(S['dst'], 'alice') as conn:
        typ, data = conn.select(imapcheck.quote(folder), readonly=True)
        n = int(data[0])
        if n == 0:
            return 0, 0
        typ, data = conn.fetch('1:*', '(RFC822.SIZE)')
        return n, sum(int(d.split(b'RFC822.SIZE ')[1].rstrip(b')')) for d in data)


@tap.test
def the_injector_makes_status_on_the_selected_mailbox_stale():
    proxy = S['proxy']
    with imapcheck.session(proxy, 'alice') as conn:
        conn.select('INBOX')
        imapcheck.append(conn, 'INBOX', imapcheck.make_message(99))
        typ, data = conn.status('INBOX', '(MESSAGES)')
        conn.uid('STORE', '1:*', '+FLAGS.SILENT', '(\\Deleted)')
        conn.expunge()
    tap.check(b'MESSAGES 0' in data[0], 'STATUS on the selected INBOX: %r' % data)
    tap.check(proxy.injections('stale-status'), 'the proxy rewrote no STATUS')


@tap.test
def table_counts_the_destination_right_when_status_is_stale():
    proxy = S['proxy']
    before = len(proxy.injections('stale-status'))
    job = Job(S['src'], 'alice', proxy, 'alice', name='stale-status')
    r = job.run('--jobs', '1', '--nocompress')
    checks = Checks()
    checks.attach(r)
    checks.code(r, 0, 'sync into a destination with stale STATUS')
    for folder in ('INBOX', 'Work'):
        n, size = real_counts(folder)
        checks.eq((r.table.get(folder) or [None] * 3)[2], str(n), 'Dst msgs of %s' % folder)
        f = r.folder(folder)
        checks.eq((f.get('destination_messages'), f.get('destination_bytes')), (n, size),
                  'report destination counts of %s' % folder)
    # The sync asks STATUS in place first (Dovecot answers it at once) and takes the answer
    # only when its count is the one the session knows: here every one was stale, so every
    # one was refused and asked again from outside; the right counts above show it.
    checks.check(proxy.injections('stale-status')[before:],
                 'the sync asked no STATUS on a selected mailbox: the stale case was not met')
    v = job.run('--nocompress', command='verify', state=False)
    checks.attach(v)
    checks.code(v, 0, 'verify')
    c, _, _ = compare.compare_servers(S['src'], 'alice', S['dst'], 'alice')
    checks.check(c.ok, 'the independent checker disagrees:\n' + c.text())
    checks.done()


if __name__ == '__main__':
    tap.main(setup=setup)
