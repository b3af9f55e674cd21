#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The sync tests' own tools, checked without mailhaul: the generated corpus (mhtest.corpus)
loads into Dovecot exactly as generated (maildir fast path and IMAP APPEND), a tiny imaplib
copier moves it between a '/' and a '.' server, the independent checker (mhtest.compare) finds
both copies equal, and after each kind of damage it names exactly that damage."""
import collections
import contextlib
import re

from mhtest import certs, compare, corpus, dovecot, imapcheck, tap

PW = 'Checker-pw-3141'
S = {}


def imaplib_copy(src, src_user, dst, dst_user, mapping):
    """Copy every mapped folder with its messages, flags and INTERNALDATEs (plain imaplib)."""
    with imapcheck.session(src, src_user) as a, imapcheck.session(dst, dst_user) as b:
        for s_name, d_name in mapping.items():
            if d_name.upper() != 'INBOX':
                imapcheck.create_folder(b, d_name)
            for m in imapcheck.fetch_messages(a, s_name):
                imapcheck.append(b, d_name, m['body'], m['flags'], m['internaldate'])


def remove(conn, folder, seqs):
    """Expunge the messages with these sequence numbers and only them (UID EXPUNGE: messages
    already flagged \\Deleted stay)."""
    imapcheck.select(conn, folder, readonly=False)
    typ, dat = conn.fetch(','.join(map(str, seqs)), '(UID)')
    uids = ','.join(re.search(rb'UID (\d+)', d).group(1).decode() for d in dat)
    conn.uid('STORE', uids, '+FLAGS.SILENT', '(\\Deleted)')
    typ, dat = conn.uid('EXPUNGE', uids)
    if typ != 'OK':
        tap.fail('UID EXPUNGE %s in %s: %r' % (uids, folder, dat))


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        users = {u: PW for u in ('src', 'imap', 'copy', 'back', 'hurt')}
        slash = dovecot.Dovecot(pki, users=users, separator='/')
        dot = dovecot.Dovecot(pki, users=users, separator='.')
        with dovecot.running(slash, dot):
            c = corpus.generate(seed=11, scale=160, mix=corpus.SMALL_MIX)
            S.update(slash=slash, dot=dot, corpus=c,
                     expected=corpus.load(slash, 'src', c.folders, fast=True))
            yield


@tap.test
def corpus_is_deterministic_and_complete():
    c = S['corpus']
    again = corpus.generate(seed=11, scale=160, mix=corpus.SMALL_MIX)
    tap.check(again.folders == c.folders, 'the same seed gave different messages')
    other = corpus.generate(seed=12, scale=160, mix=corpus.SMALL_MIX)
    tap.check(other.folders != c.folders, 'another seed gave the same messages')
    tap.eq(c.messages, 160, 'number of messages')
    for note in ('duplicate', 'duplicate_other_flags', 'no_message_id',
                 'same_headers_no_message_id', 'same_message_id', 'eight_bit', 'all_flags',
                 'no_final_newline', 'tiny'):
        tap.check(c.notes.get(note), 'the corpus has no %s message' % note)
    flags = {f for ms in c.folders.values() for m in ms for f in m.flags}
    for f in corpus.SYSTEM_FLAGS + corpus.KEYWORDS:
        tap.check(f in flags, 'no message has flag %s' % f)
    dates = [m.date for ms in c.folders.values() for m in ms]
    tap.check(max(dates) - min(dates) > 8 * 365 * 86400, 'dates span less than 8 years')
    zones = {re.search(rb'^Date: .* ([+-]\d{4})\r$', m.body, re.M).group(1)
             for ms in c.folders.values() for m in ms if re.search(rb'^Date: ', m.body, re.M)}
    tap.check(len(zones) >= 8, 'only %d time zones in Date headers' % len(zones))
    depth = max(f.count('/') for f in c.folders)
    tap.eq(depth, 2, 'deepest folder level - 1')
    for name in ('Entwürfe', 'Réunions 2019', '日本', 'Work/v2.0 plans', 'Notes.old'):
        tap.check(name in c.folders, 'folder %s missing' % name)
    tap.eq(c.mapping('.')['Work/v2.0 plans'], 'Work.v2_0 plans', 'mapped name')
    tap.eq(c.mapping('.')['Notes.old'], 'Notes_old', 'mapped name')
    sizes = [len(m.body) for ms in c.folders.values() for m in ms]
    tap.check(250 <= min(sizes) <= 400, 'smallest message %d bytes' % min(sizes))
    subject8 = [m for _f, m in c.notes['eight_bit']]
    tap.check(all(re.search(rb'^Subject: .*[\x80-\xff]', m, re.M) for m in subject8),
              'eight_bit messages without raw UTF-8 in Subject')
    for _f, m in c.notes['no_message_id']:
        tap.check(b'\r\nMessage-ID:' not in m, 'a no_message_id message has a Message-ID')
    _f, a, b = c.notes['same_message_id'][0]
    mid = re.compile(rb'^Message-ID: (.*)\r$', re.M)
    tap.check(a != b and mid.search(a).group(1) == mid.search(b).group(1),
              'same_message_id messages')
    big = corpus.generate(seed=2, scale=20, mix=corpus.SMALL_MIX, big_attachment=True)
    folder, body = big.notes['big'][0]
    tap.check(19e6 < len(body) < 23e6, 'big attachment message is %d bytes' % len(body))
    tap.check(b'Content-Transfer-Encoding: base64' in body and b'multipart/mixed' in body,
              'big message is not a multipart with a base64 attachment')


@tap.test
def default_mix_matches_the_benchmark_size():
    c = corpus.generate(seed=5, scale=1000)
    mean = c.bytes / c.messages
    tap.check(45000 < mean < 62000, 'mean size %.0f bytes (5,000 messages should be about '
              '265 MB)' % mean)
    tap.check(max(len(m.body) for ms in c.folders.values() for m in ms) < 260000,
              'default mix has messages over 250 KB')


@tap.test
def fast_preload_is_exact():
    snap = compare.take(S['slash'], 'src')
    for name, exp in S['expected'].items():
        got = [imapcheck.Message(i.sha256, i.internaldate, i.flags)
               for i in snap.messages.get(name, [])]
        tap.eq(got, exp, 'folder %s after the fast preload' % name)
    tap.check('Lists' in snap.containers(), 'Lists should be a container')


@tap.test
def imap_preload_with_time_zones_is_exact():
    c = corpus.generate(seed=21, scale=40, mix=corpus.SMALL_MIX)
    expected = corpus.load(S['dot'], 'imap', {corpus.map_name(f, '/', '.'): ms
                                              for f, ms in c.folders.items()}, fast=False)
    snap = compare.take(S['dot'], 'imap')
    for name, exp in expected.items():
        got = [imapcheck.Message(i.sha256, i.internaldate, i.flags)
               for i in snap.messages.get(name, [])]
        tap.eq(got, exp, 'folder %s after the IMAP preload' % name)


@tap.test
def imaplib_copy_compares_equal_both_ways():
    src = compare.take(S['slash'], 'src')
    mapping = compare.default_mapping(src, '.')
    tap.eq(mapping['Work/v2.0 plans'], 'Work.v2_0 plans', 'mapping')
    imaplib_copy(S['slash'], 'src', S['dot'], 'copy', mapping)
    dst = compare.take(S['dot'], 'copy')
    c = compare.assert_same(src, dst, 'the imaplib copy')
    tap.eq(c.text(), 'no differences', 'text of an equal comparison')
    tap.eq(len(c.diffs), len(src.selectable()), 'folders compared')
    # And back to a '/' server: names keep '_' (nothing maps back to '.').
    back_map = compare.default_mapping(dst, '/')
    imaplib_copy(S['dot'], 'copy', S['slash'], 'back', back_map)
    back = compare.take(S['slash'], 'back')
    compare.assert_same(dst, back, 'the copy back')
    tap.check('Work/v2_0 plans' in back.messages, 'Work/v2_0 plans missing on the way back')


@tap.test
def damage_is_named():
    slash, dot = S['slash'], S['dot']
    src = compare.take(slash, 'src')
    mapping = compare.default_mapping(src, '.')
    imaplib_copy(slash, 'src', dot, 'hurt', mapping)
    before = compare.take(dot, 'hurt')
    tap.check(before.same_as(compare.take(dot, 'hurt')), 'two snapshots of the same account')
    alpha = 'Work.Projects.Alpha'
    dup_folder, dup_body = S['corpus'].notes['duplicate'][0]
    with imapcheck.session(dot, 'hurt') as conn:
        # 1. a message removed from Work.Projects.Alpha (its 2nd)
        remove(conn, alpha, [2])
        # 2. a flag changed in Sent (first message loses \Seen)
        imapcheck.select(conn, 'Sent', readonly=False)
        conn.store('1', '-FLAGS.SILENT', '(\\Seen)')
        # 3. a copy of an existing Trash message appended again (a duplicate)
        first_trash = imapcheck.fetch_messages(conn, 'Trash')[0]
        imapcheck.append(conn, 'Trash', first_trash['body'], first_trash['flags'],
                         first_trash['internaldate'])
        # 4. a message nobody sent to Junk
        stranger = imapcheck.append(conn, 'Junk', imapcheck.make_message(4242), (), 1600000000)
        # 5. INBOX's exact duplicate pair loses one copy
        msgs = imapcheck.fetch_messages(conn, 'INBOX')
        seqs = [n + 1 for n, m in enumerate(msgs) if m['body'] == dup_body]
        tap.eq(len(seqs), 2, 'exact duplicates in INBOX')
        remove(conn, 'INBOX', [seqs[1]])
        # 6. a folder deleted, 7. a folder no source has
        conn.delete(imapcheck.quote('日本'))
        imapcheck.create_folder(conn, 'Stray')
    after = compare.take(dot, 'hurt')
    tap.check(not before.same_as(after) and before.diff_text(after),
              'snapshots before and after the damage look equal')
    c = compare.compare(src, after)
    tap.check(not c.ok, 'the damaged copy compares equal')
    text = c.text()
    tap.diag(text)
    tap.eq(c.folder('Work/Projects/Alpha').missing_count, 1, 'Alpha missing')
    tap.eq(c.folder('Work/Projects/Alpha').extra_count, 0, 'Alpha extra')
    sent = c.folder('Sent')
    tap.eq((len(sent.changed), len(sent.missing), len(sent.extra)), (1, 0, 0),
           'Sent changed/missing/extra')
    tap.contains('flags (\\Seen) -> ()', sent.changed[0][2], 'Sent change')
    trash = c.folder('Trash')
    tap.eq([(s, d) for _i, s, d in trash.duplicated], [(1, 2)], 'Trash duplicated')
    junk = c.folder('Junk')
    tap.eq([(i.sha256, n) for i, n in junk.extra], [(stranger.sha256, 1)], 'Junk extra')
    inbox = c.folder('INBOX')
    tap.eq([(i.sha256, n) for i, n in inbox.missing], [(imapcheck.sha256(dup_body), 1)],
           'INBOX: one copy of the pair missing')
    tap.eq((inbox.extra, inbox.changed, inbox.duplicated), ([], [], []), 'INBOX others')
    tap.check(c.folder('日本').absent, '日本 should be reported absent')
    tap.eq(c.missing_folders, ['日本'], 'missing folders')
    tap.eq(c.extra_folders, ['Stray'], 'extra folders')
    bad = {d.source for d in c.diffs.values() if not d.ok}
    tap.eq(sorted(bad), sorted(['Work/Projects/Alpha', 'Sent', 'Trash', 'Junk', 'INBOX',
                                '日本']), 'folders with differences')
    for word in ('Work/Projects/Alpha -> Work.Projects.Alpha', 'missing', 'duplicated',
                 'extra', 'does not exist', 'Stray'):
        tap.contains(word, text, 'diff text')
    counts = collections.Counter(d.ok for d in c.diffs.values())
    tap.check(counts[True] > 10, 'too few equal folders: %r' % counts)
    loose = compare.compare(src, after, strict_folders=False, ignore_flags=True)
    tap.eq(loose.folder('Sent').ok, True, 'Sent with ignore_flags')
    tap.eq(loose.extra_folders, ['Stray'], 'extra folders are still listed')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
