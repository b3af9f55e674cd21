#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul check` lists folders with their special-use attributes and message counts, on a
Dovecot with separator '/' (maildir LAYOUT=fs) and one with '.' (maildir++). What it prints is
compared with what Python's imaplib (the independent checker) sees on the same server."""
import contextlib
import re

from mhtest import certs, cli, dovecot, imapcheck, tap
from mhtest.imapcheck import Mail, make_message

USER, PASSWORD = 'alice', 'Alice-folders-pw-771'
SPECIAL = {'Sent': '\\Sent', 'Drafts': '\\Drafts', 'Trash': '\\Trash', 'Junk': '\\Junk',
           'Archive': '\\Archive'}
UNICODE = 'Entwürfe & Notizen ✓'
S = {}


def corpus(sep):
    """{folder: messages} with distinct counts per folder."""
    n = iter(range(1000))
    return {
        'INBOX': [make_message(next(n)) for _ in range(3)],
        'Work': [Mail(make_message(next(n)), ('\\Seen',))],
        'Work' + sep + '2020': [make_message(next(n), size=3000) for _ in range(5)],
        'Sent': [Mail(make_message(next(n)), ('\\Seen',)) for _ in range(2)],
        'Trash': [make_message(next(n))],
        UNICODE: [make_message(next(n)) for _ in range(4)],
        # Only the child is created: its parent exists as a container, not a mailbox.
        'Projects' + sep + 'Alpha': [make_message(next(n)) for _ in range(6)],
    }


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        slash = dovecot.Dovecot(pki, users={USER: PASSWORD}, separator='/')
        dot = dovecot.Dovecot(pki, users={USER: PASSWORD}, separator='.')
        with dovecot.running(slash, dot):
            for dv in (slash, dot):
                dv.preload(USER, corpus(dv.separator))
            S.update(slash=slash, dot=dot)
            yield


def check(dv, mode='ssl', extra=()):
    r = cli.run(cli.check_args(dv, USER, mode, extra=extra), password_env=PASSWORD)
    cli.expect_ok(r)
    out = cli.parse_check(r.stdout)
    tap.check(out.folders, 'no folder lines after "Folders:"\n%s' % r)
    return r, out


def folder_test(key):
    def expected_counts():
        dv = S[key]
        sep = dv.separator
        counts = {'INBOX': 3, 'Work': 1, 'Work' + sep + '2020': 5, 'Sent': 2, 'Trash': 1,
                  'Drafts': 0, 'Junk': 0, 'Archive': 0, UNICODE: 4,
                  'Projects' + sep + 'Alpha': 6}
        return dv, counts

    def counts_and_attributes():
        dv, counts = expected_counts()
        r, out = check(dv)
        for name, n in counts.items():
            tap.check(name in out.folders, 'folder %r missing\n%s' % (name, r))
            attrs, got = out.folders[name]
            tap.eq(got, n, 'message count of %s' % name)
            want = SPECIAL.get(name)
            specials = [a for a in attrs if a.lower() in
                        {s.lower() for s in SPECIAL.values()} | {'\\all', '\\flagged',
                                                                 '\\important'}]
            tap.eq(specials, [want] if want else [], 'special-use attributes of %s' % name)
            tap.check('\\Noselect' not in attrs, '%s shown as \\Noselect\n%s' % (name, r))
        tap.check(re.search(r'^Namespaces:.*separator\s+"%s"' % re.escape(dv.separator),
                            r.stdout, re.M),
                  'Namespaces line does not show separator %r\n%s' % (dv.separator, r))

    def containers_match_the_server():
        dv, _ = expected_counts()
        r, out = check(dv)
        with imapcheck.session(dv, USER) as conn:
            truth = sorted(f.name for f in imapcheck.folder_list(conn)
                           if not imapcheck.selectable(f))
        tap.check('Projects' in truth, 'the test corpus should make Projects a container')
        shown = sorted(name for name, (attrs, n) in out.folders.items() if n is None)
        tap.eq(shown, truth, 'folders shown as "(container)" (mailhaul vs imaplib)')

    def same_as_independent_checker():
        dv, _ = expected_counts()
        r, out = check(dv, 'tls')
        with imapcheck.session(dv, USER) as conn:
            truth = imapcheck.folder_counts(conn)
        listed = {name: n for name, (attrs, n) in out.folders.items() if n is not None}
        tap.eq(listed, truth, 'folders and counts (mailhaul vs imaplib)')

    for fn in (counts_and_attributes, containers_match_the_server,
               same_as_independent_checker):
        tap.test(fn, name='%s_separator_%s' % (key, fn.__name__))


folder_test('slash')
folder_test('dot')


@tap.test
def utf8_folder_name_is_decoded():
    for key in ('slash', 'dot'):
        r, out = check(S[key])
        tap.contains('  ' + UNICODE, r.stdout, 'check output')
        tap.not_contains('&APw-', r.stdout, 'check output (modified UTF-7 not decoded)')


@tap.test
def inbox_listed_once():
    r, out = check(S['slash'])
    section = re.split(r'^Folders\b[^:]*:\s*$', r.stdout, maxsplit=1, flags=re.M)[-1]
    names = [line.split()[0] for line in section.splitlines()
             if line.startswith('  ') and line.split()]
    tap.eq(names.count('INBOX'), 1, 'INBOX lines')


@tap.test
def counts_follow_changes():
    dv = S['slash']
    with imapcheck.session(dv, USER) as conn:
        imapcheck.append(conn, 'Junk', make_message(900), date=imapcheck.DEFAULT_DATE)
    try:
        r, out = check(dv)
        tap.eq(out.folders['Junk'][1], 1, 'Junk count after one APPEND')
    finally:
        with imapcheck.session(dv, USER) as conn:
            imapcheck.select(conn, 'Junk', readonly=False)
            conn.store('1:*', '+FLAGS', '(\\Deleted)')
            conn.expunge()


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
