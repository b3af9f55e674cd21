#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""COMPRESS=DEFLATE (RFC 4978) in a real migration: two Dovecots with the imap_zlib plugin,
`mailhaul sync --compress` (loopback servers are otherwise left uncompressed), and the
destination checked against the source by the independent checker."""
import contextlib

from mhtest import certs, compare, corpus, dovecot, synctest, tap

PW = 'Compress-pw-2718'
ZLIB = ('mail_plugins = $mail_plugins zlib\n'
        'protocol imap {\n  mail_plugins = $mail_plugins zlib imap_zlib\n}\n')
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={'alice': PW}, separator='/', extra_conf=ZLIB)
        dst = dovecot.Dovecot(pki, users={'bob': PW}, separator='.', extra_conf=ZLIB)
        with dovecot.running(src, dst):
            c = corpus.generate(seed=5, scale=120, mix=corpus.SMALL_MIX, extra=[(2, 600000)])
            corpus.load(src, 'alice', c.folders, fast=True)
            S.update(src=src, dst=dst, corpus=c)
            yield


@tap.test
def compressed_migration_is_exact():
    job = synctest.Job(S['src'], 'alice', S['dst'], 'bob', name='compress')
    r = job.run('--compress', '--debug', 'imap')
    tap.eq(r.code, 0, 'exit code of sync --compress\n' + r.stderr[-2000:])
    tap.check(r.stderr.count('COMPRESS=DEFLATE on') >= 2,
              'COMPRESS=DEFLATE was not switched on for both sides')
    diff = compare.compare(compare.take(S['src'], 'alice'), compare.take(S['dst'], 'bob'),
                           mapping=S['corpus'].mapping('.'))
    tap.check(diff.ok, diff.text())


@tap.test
def loopback_is_not_compressed_by_default():
    job = synctest.Job(S['src'], 'alice', S['dst'], 'bob', name='plain')
    r = job.run('--debug', 'imap')
    tap.eq(r.code, 0, 'exit code of sync\n' + r.stderr[-2000:])
    tap.eq(r.stderr.count('COMPRESS=DEFLATE on'), 0, 'compressed on loopback without --compress')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
