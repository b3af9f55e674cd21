#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Folder names across personal namespaces: a source with no prefix ('/') into Dovecots whose
personal namespace is "INBOX." ('.', as Cyrus and Courier) and "INBOX/" ('/', as Cyrus with
unixhierarchysep): a folder below INBOX stays directly below INBOX (INBOX/Newsletters lands
as INBOX.Newsletters, never INBOX.INBOX.Newsletters), other folders go below the prefix, and
an unchanged rerun copies nothing. Checked with the independent imaplib checker."""
import contextlib

from mhtest import certs, dovecot, imapcheck, tap
from mhtest.synctest import Job

PW1, PW2 = 'Names-src-pw-2718', 'Names-dst-pw-3141'
S = {}

# Source folder -> its messages' numbers (imapcheck.make_message).
SOURCE = {
    'INBOX': (1,),
    'INBOX/Newsletters': (2, 3),
    'INBOX/Newsletters/2024': (4,),
    'Inbox2': (5,),
    'INBOXfoo': (6,),
    'Work/Projects': (7,),
}
# Where each lands, per destination prefix.
EXPECTED = {
    'INBOX.': {
        'INBOX': 'INBOX',
        'INBOX/Newsletters': 'INBOX.Newsletters',
        'INBOX/Newsletters/2024': 'INBOX.Newsletters.2024',
        'Inbox2': 'INBOX.Inbox2',
        'INBOXfoo': 'INBOX.INBOXfoo',
        'Work/Projects': 'INBOX.Work.Projects',
    },
    'INBOX/': {
        'INBOX': 'INBOX',
        'INBOX/Newsletters': 'INBOX/Newsletters',
        'INBOX/Newsletters/2024': 'INBOX/Newsletters/2024',
        'Inbox2': 'INBOX/Inbox2',
        'INBOXfoo': 'INBOX/INBOXfoo',
        'Work/Projects': 'INBOX/Work/Projects',
    },
}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={'nm': PW1}, separator='/', special_use=False)
        dot = dovecot.Dovecot(pki, users={'nm': PW2}, separator='.', special_use=False,
                              namespace_conf='  prefix = INBOX.')
        slash = dovecot.Dovecot(pki, users={'nm': PW2}, separator='/', special_use=False,
                                namespace_conf='  prefix = INBOX/')
        with dovecot.running(src, dot, slash):
            S.update(src=src, dsts={'INBOX.': dot, 'INBOX/': slash})
            S['expected'] = src.preload('nm', {
                name: [imapcheck.make_message(n) for n in numbers]
                for name, numbers in SOURCE.items()})
            yield


def into_prefixed(prefix):
    src, dst = S['src'], S['dsts'][prefix]
    job = Job(src, 'nm', dst, 'nm', name='names-' + prefix.replace('/', 'slash'))
    r = job.run()
    tap.eq(r.code, 0, 'exit code of the sync into an %s server\n%s' % (prefix, r))
    got = dst.snapshot_all('nm')
    want = {EXPECTED[prefix][name]: snap for name, snap in S['expected'].items()}
    doubled = sorted(n for n in got if n.upper().startswith('INBOX' + prefix[-1] + 'INBOX' +
                                                           prefix[-1]))
    tap.eq(doubled, [], 'folders named INBOX below INBOX on the destination')
    tap.eq(sorted(n for n in got if got[n]), sorted(want), 'folders holding messages')
    for name, snap in want.items():
        tap.eq(got.get(name), snap, 'messages of %s' % name)
    again = job.run()
    tap.eq(again.code, 0, 'exit code of the rerun\n%s' % again)
    tap.eq(again.totals.get('copied'), 0, 'messages copied by the unchanged rerun')
    tap.eq(dst.snapshot_all('nm'), got, 'the destination after the rerun')


@tap.test
def inbox_children_into_an_inbox_dot_server():
    into_prefixed('INBOX.')


@tap.test
def inbox_children_into_an_inbox_slash_server():
    into_prefixed('INBOX/')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
