#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Gmail labels in `mailhaul sync`, against a Gmail-like server that speaks X-GM-EXT-1
(hoodiecrow-imap, tests/hoodiecrow; implicit TLS with the test CA) and a real Dovecot:

- Gmail -> Dovecot, --gmail-labels once (the default): every message exactly once over all
  destination folders, in the folder of its highest-priority label (user labels before
  INBOX, INBOX before Sent, All Mail only for unlabelled mail), nothing from Starred,
  Important, Spam or Trash, nothing marked \\Deleted, flags and INTERNALDATE kept; a second
  run copies nothing;
- the same without --gmail1 (the X-GM-EXT-1 capability alone marks the source as Gmail);
- --gmail-labels copy: one copy in each label's folder;
- --gmail-labels keywords: like once, plus the message's other user labels (all but the one
  its folder stands for) as keywords on the copy;
- Gmail -> Gmail (hoodiecrow on both sides): each message appended once and its other labels
  added with UID STORE +X-GM-LABELS, so every user label is kept and no X-GM-MSGID is
  duplicated; a second run changes nothing.

Everything is read back with imaplib (mhtest.hoodiecrow, mhtest.imapcheck), not mailhaul.
The Gmail-like server is hoodiecrow with the Gmail behaviour patched in (server.js says what);
it is the only server here that serves X-GM-MSGID and X-GM-LABELS."""
import collections
import contextlib

from mhtest import cli, certs, dovecot, hoodiecrow, imapcheck, synctest, tap
from mhtest.hoodiecrow import GmailMessage
from mhtest.synctest import Job

PW_SRC, PW_DST = 'Gmail-src-pw-4711', 'Dovecot-dst-pw-0815'
DST_USERS = ('once', 'detect', 'copy', 'kw')
S = {}

# The candidates for where the engine puts mail that has no label but All Mail (Dovecot
# has no \All folder: it keeps the name, with or without the [Gmail] prefix, or uses
# \Archive).
ALL_MAIL_TARGETS = ('[Gmail]/All Mail', 'All Mail', 'Archive')


def corpus():
    """(name, GmailMessage, expected once-mode folders on Dovecot or None for skipped)."""
    def m(n, labels, flags=()):
        return GmailMessage(imapcheck.make_message(n), labels=labels, flags=list(flags),
                            date=imapcheck.DEFAULT_DATE + 86400 * n + 17)
    return [
        ('inbox+work', m(1, ['\\Inbox', 'Work'], ['\\Seen']), ('Work',)),
        ('inbox', m(2, ['\\Inbox']), ('INBOX',)),
        ('sent', m(3, ['\\Sent'], ['\\Seen']), ('Sent',)),
        ('inbox+sent', m(4, ['\\Sent', '\\Inbox'], ['\\Seen', '\\Answered']), ('INBOX',)),
        ('archived', m(5, [], ['\\Seen']), ALL_MAIL_TARGETS),
        ('starred', m(6, ['\\Inbox', '\\Starred'], ['\\Flagged']), ('INBOX',)),
        ('two-user-labels', m(7, ['\\Important', 'Work', 'Projects/Alpha'], ['$Label1']),
         ('Work', 'Projects/Alpha')),
        ('spam', m(8, ['\\Spam']), None),
        ('trash', m(9, ['\\Trash'], ['\\Seen']), None),
        ('draft', m(10, ['\\Draft'], ['\\Draft', '\\Seen']), ('Drafts',)),
        ('deleted', m(11, ['\\Inbox', 'Work'], ['\\Deleted', '\\Seen']), None),
        ('nested-only', m(12, ['Projects/Alpha'], ['\\Seen']), ('Projects/Alpha',)),
        ('inbox+two-user-labels', m(13, ['Receipts', '\\Inbox', 'Work'], ['\\Seen']),
         ('Receipts', 'Work')),
    ]


def label_folders(msg):
    """The Dovecot folders of a message's labels in copy mode (None: skipped)."""
    names = {'\\Inbox': 'INBOX', '\\Sent': 'Sent', '\\Draft': 'Drafts'}
    out = set()
    for label in msg.labels:
        if label in ('\\Starred', '\\Important'):
            continue
        out.add(names.get(label, label))
    return out


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        msgs = corpus()
        src = hoodiecrow.Hoodiecrow(users={'alice': PW_SRC}, messages=[x[1] for x in msgs],
                                    pki=pki)
        gdst = hoodiecrow.Hoodiecrow(users={'bob': PW_DST}, pki=pki)
        dst = dovecot.Dovecot(pki, users={u: PW_DST for u in DST_USERS}, separator='/')
        with src, gdst, dst:
            S.update(src=src, gdst=gdst, dst=dst, msgs=msgs)
            yield


def expected_multiset():
    return collections.Counter(m.sha256 for _, m, where in S['msgs'] if where is not None)


def locate(snapshot):
    """{sha256: [(folder, Message)]} over every folder of a Dovecot snapshot."""
    found = collections.defaultdict(list)
    for folder, items in snapshot.items():
        for item in items:
            found[item.sha256].append((folder, item))
    return found


def check_once(snapshot, r, keywords=False):
    """Each message once, in its folder, with its flags and date."""
    problems = []
    found = locate(snapshot)
    got = collections.Counter({h: len(v) for h, v in found.items()})
    if got != expected_multiset():
        extra = got - expected_multiset()
        missing = expected_multiset() - got
        names = {m.sha256: n for n, m, _ in S['msgs']}
        problems.append('messages on the destination differ: missing %s, extra/duplicated %s'
                        % (sorted(names.get(h, h) for h in missing.elements()),
                           sorted(names.get(h, h) for h in extra.elements())))
    for name, msg, where in S['msgs']:
        copies = found.get(msg.sha256, [])
        if where is None or len(copies) != 1:
            continue
        folder, item = copies[0]
        if folder not in where:
            problems.append('%s is in %r, expected %s' % (name, folder, ' or '.join(where)))
        flags = set(item.flags)
        want = set(imapcheck.normalize_flags(msg.flags))
        if keywords:
            # The folder carries its own label; every other user label must be a keyword.
            labels = set(hoodiecrow.user_labels(msg.labels)) - {folder}
            if not labels <= flags:
                problems.append('%s in %s: labels %s not all keywords in %s' % (
                    name, folder, sorted(labels), sorted(flags)))
        if flags != want and not keywords:
            problems.append('%s: flags %s, expected %s' % (name, sorted(flags), sorted(want)))
        elif keywords and not want <= flags:
            problems.append('%s: flags %s lack %s' % (name, sorted(flags), sorted(want)))
        if item.internaldate != msg.date:
            problems.append('%s: INTERNALDATE %s, expected %s' % (name, item.internaldate,
                                                                  msg.date))
    # The report names, per folder, each message left to another label and where it went.
    report = r.report or {}
    listed = [(f['source'], e) for f in report.get('folders', []) for e in f.get('labelled', [])]
    total = report.get('totals', {}).get('labelled_elsewhere')
    if r.code == 0 and report.get('totals', {}).get('copied'):
        if not listed or len(listed) != total:
            problems.append('report lists %d labelled messages, totals say %r'
                            % (len(listed), total))
        for source, e in listed:
            if not snapshot.get(e.get('copied_under')):
                problems.append('report: %s UID %s "copied under" %r, not a destination folder '
                                'with messages' % (source, e.get('uid'), e.get('copied_under')))
    for folder in ('[Gmail]/Starred', 'Starred', '[Gmail]/Important', 'Important'):
        if snapshot.get(folder):
            problems.append('%s has %d messages (Starred and Important are not copied)'
                            % (folder, len(snapshot[folder])))
    if problems:
        tap.fail('\n'.join(problems) + '\n\ndestination: %s\n%s' % (
            {f: len(v) for f, v in snapshot.items()}, r))


def sync(job, *extra):
    r = job.run(*extra)
    if r.code != 0:
        tap.fail('mailhaul sync %s: exit code %s\n%s' % (' '.join(extra), r.code, r))
    return r


def dovecot_job(user):
    return Job(S['src'], 'alice', S['dst'], user, mode1='ssl', mode2='ssl',
               name='gmail-' + user)


# -- Gmail -> Dovecot --------------------------------------------------------------------

@tap.test
def once_mode_copies_each_message_once_into_its_best_label_folder():
    job = dovecot_job('once')
    S['once_job'] = job
    r = sync(job, '--gmail1', '--gmail-labels', 'once')
    check_once(S['dst'].snapshot_all('once'), r)


@tap.test
def once_mode_second_run_copies_nothing():
    job = S.get('once_job')
    if job is None:
        tap.fail('the first once-mode run did not happen')
    before = S['dst'].snapshot_all('once')
    r = sync(job, '--gmail1', '--gmail-labels', 'once')
    copied = r.totals.get('copied')
    tap.eq(copied, 0, 'messages copied by the second run\n%s' % r)
    tap.eq(S['dst'].snapshot_all('once'), before, 'destination after the second run')


@tap.test
def gmail_source_is_detected_by_its_capability():
    job = dovecot_job('detect')
    r = sync(job)
    check_once(S['dst'].snapshot_all('detect'), r)
    # `check` names the profile it would use, and why.
    a = job.account_args()
    side1 = [a[i][:-1] if a[i].endswith('1') and a[i].startswith('--') else a[i]
             for i in range(a.index('--host2'))]
    c = cli.run(['check'] + side1)
    if c.code != 0 or 'Provider: gmail (detected: X-GM-EXT-1' not in c.stdout:
        tap.fail('mailhaul check does not name the detected Gmail profile:\n%s' % c)


@tap.test
def copy_mode_puts_one_copy_in_each_label_folder():
    job = dovecot_job('copy')
    r = sync(job, '--gmail1', '--gmail-labels', 'copy')
    snapshot = S['dst'].snapshot_all('copy')
    found = locate(snapshot)
    problems = []
    for name, msg, where in S['msgs']:
        copies = found.get(msg.sha256, [])
        if where is None:
            if copies:
                problems.append('%s was copied to %s' % (name, [f for f, _ in copies]))
            continue
        want = label_folders(msg)
        got = collections.Counter(f for f, _ in copies)
        if not want:  # unlabelled: its only place is All Mail
            if len(copies) != 1 or copies[0][0] not in ALL_MAIL_TARGETS:
                problems.append('%s (no label) is in %s, expected once in one of %s' % (
                    name, dict(got), ALL_MAIL_TARGETS))
            continue
        if dict(got) != {f: 1 for f in want}:
            problems.append('%s is in %s, expected once in each of %s' % (
                name, dict(got), sorted(want)))
        for folder, item in copies:
            if set(item.flags) != set(imapcheck.normalize_flags(msg.flags)):
                problems.append('%s in %s: flags %s, expected %s' % (
                    name, folder, item.flags, msg.flags))
            if item.internaldate != msg.date:
                problems.append('%s in %s: INTERNALDATE %s, expected %s' % (
                    name, folder, item.internaldate, msg.date))
    if problems:
        tap.fail('\n'.join(problems) + '\n\ndestination: %s\n%s' % (
            {f: len(v) for f, v in snapshot.items()}, r))


@tap.test
def keywords_mode_adds_the_labels_as_keywords():
    job = dovecot_job('kw')
    r = sync(job, '--gmail1', '--gmail-labels', 'keywords')
    check_once(S['dst'].snapshot_all('kw'), r, keywords=True)


# -- Gmail -> Gmail ----------------------------------------------------------------------

@tap.test
def gmail_to_gmail_keeps_every_label_and_one_message_per_msgid():
    src, gdst = S['src'], S['gdst']
    job = Job(src, 'alice', gdst, 'bob', mode1='ssl', mode2='ssl', name='gmail-gmail')
    r = sync(job, '--gmail1', '--gmail2')
    problems = []
    everything = gdst.all_messages('bob')
    by_sha = collections.defaultdict(set)
    for folder, items in everything.items():
        per_folder = collections.Counter(i.sha256 for i in items)
        for sha, n in per_folder.items():
            if n > 1:
                problems.append('%s holds the same message %d times' % (folder, n))
        for i in items:
            by_sha[i.sha256].add(i.msgid)
    names = {m.sha256: n for n, m, _ in S['msgs']}
    for sha, ids in by_sha.items():
        if len(ids) != 1:
            problems.append('%s exists as %d messages (X-GM-MSGID %s)' % (
                names.get(sha, sha), len(ids), sorted(ids)))
    all_mail = {i.sha256: i for i in everything.get('[Gmail]/All Mail', [])}
    for name, msg, where in S['msgs']:
        if where is None:
            if msg.sha256 in by_sha:
                problems.append('%s was copied' % name)
            continue
        got = all_mail.get(msg.sha256)
        if got is None:
            problems.append('%s is not in the destination\'s All Mail' % name)
            continue
        want = hoodiecrow.user_labels(msg.labels)
        have = hoodiecrow.user_labels(got.labels)
        if have != want:
            problems.append('%s: user labels %s, expected %s' % (name, have, want))
        if ('\\Inbox' in msg.labels) != ('\\Inbox' in got.labels):
            problems.append('%s: labels %s, expected \\Inbox as in %s' % (
                name, got.labels, msg.labels))
        if set(got.flags) != set(imapcheck.normalize_flags(msg.flags)):
            problems.append('%s: flags %s, expected %s' % (name, got.flags, msg.flags))
        if got.date != msg.date:
            problems.append('%s: INTERNALDATE %s, expected %s' % (name, got.date, msg.date))
    if problems:
        tap.fail('\n'.join(problems) + '\n\ndestination: %s\n%s' % (
            {f: len(v) for f, v in everything.items()}, r))
    S['g2g_job'] = job


@tap.test
def gmail_to_gmail_second_run_changes_nothing():
    job, gdst = S.get('g2g_job'), S['gdst']
    if job is None:
        tap.fail('the first Gmail to Gmail run did not pass')
    before = gdst.all_messages('bob')
    r = sync(job, '--gmail1', '--gmail2')
    tap.eq(r.totals.get('copied'), 0, 'messages copied by the second run\n%s' % r)
    tap.eq(gdst.all_messages('bob'), before, 'destination after the second run')


if __name__ == '__main__':
    # Without tests/hoodiecrow/node_modules the setup fails and says so (scripts/test runs
    # npm ci there): a missing part of our own tree is a failure, not a skip.
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl', 'node'))
