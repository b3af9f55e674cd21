#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`mailhaul sync` between different IMAP server implementations: Dovecot ('/' separator, no
prefix), Cyrus with `unixhierarchysep: no` (INBOX.x), Cyrus with `unixhierarchysep: yes`
(INBOX/x) and Courier (INBOX.x), for every ordered pair of two different kinds.

Each source account holds a generated corpus (mhtest.corpus: 8-bit headers, a message without
a final line end, duplicates, flags, keywords; on Dovecot also a folder INBOX/Newsletters) and CPython's email test messages (written by
others; Debian's libpython3.11-testsuite) when they are installed. For each pair, one test per
check, judged by the independent checker (mhtest.compare with rewrites=True: Cyrus's 'X' for
8-bit header bytes and Courier's added CRLF are the same message, a lost or duplicated one is
not):

  <pair>_initial      the first sync copies everything the destination accepts; the exit code,
                      the report and the destination say so
  <pair>_verify       verify right after it: exit 0, nothing missing (refused messages apart)
  <pair>_rerun        an unchanged rerun copies 0
  <pair>_fresh_state  a rerun with the state file deleted copies 0
  <pair>_kill9        SIGKILL in the middle of a first run (once 30 to 60 % of the messages
                      have reached the destination, counted on its disk), then a rerun:
                      nothing lost, no duplicate

and once per source server, <kind>_through_its_two_ports_is_refused: the source account on
both sides through the server's two ports, with --delete1, is refused (exit 64) before
anything changes, by the server's own INBOX identifier where it has one; and
<kind>_flag_changes_reach_the_others: flags set and cleared on the source after a copy
reach each destination of the group on the rerun, one UID STORE per flag and direction.

A pair is named <source>_to_<destination> with dovecot, cyrus_dot, cyrus_slash, courier;
MH_TEST_ONLY takes names and patterns: MH_TEST_ONLY='dovecot_to_courier_*' or '*_kill9'.
Each check first runs what it needs (the initial sync) when it was not selected.

The pairs come in groups by source, one meson test each so that they run side by side (a
group loads its source once and starts only the servers its pairs use): the argument names
the source kind (dovecot, cyrus_dot, cyrus_slash, courier); the dovecot group also runs the
checker's own test on every kind of server. Without an argument, all of them.

A message the destination refuses (Cyrus: "Message contains invalid header") is found by the
test itself (an APPEND of each source message of the CPython folder by imaplib) and must be
reported by mailhaul as refused: exit 114, counted in the report's failed total and not in its
missing total, named on stdout ("Error: FOLDER: message UID N: ..."), and absent from the
destination; the checker leaves it out of the expectation. verify, which cannot know what was
refused, may count them as missing, and nothing else.

Under AddressSanitizer (a second run of the suite in build-san) the matrix is smaller: the
pairs with Dovecot on one side and Courier <-> Cyrus once each way (8 of 12); the file sees it
from the binary ($MAILHAUL links the ASan runtime). MH_SERVERS_FULL=1 forces all 12.
"""
import contextlib
import glob
import imaplib
import os
import random
import re
import signal
import sys

from mhtest import certs, compare, corpus, courier, cyrus, dovecot, imapcheck, imapserver, tap
from mhtest import cli
from mhtest.synctest import (Checks, Job, flags_by_message_id, signal_at_count,
                              store_flags)

KINDS = ('dovecot', 'cyrus_dot', 'cyrus_slash', 'courier')
PW = {k: 'Servers-%s-pw-%d' % (k, i) for i, k in enumerate(KINDS)}
CPYTHON = '/usr/lib/python3.11/test/test_email/data'
SEED = 9090
EXIT_REFUSED = 114
S = {'servers': {}, 'loaded': {}, 'runs': {}, 'refused': {}, 'hits': []}
GROUP = sys.argv[1] if len(sys.argv) > 1 else None  # a source kind, or None for all
if GROUP is not None and GROUP not in KINDS:
    sys.exit('unknown group %r: one of %s' % (GROUP, ', '.join(KINDS)))
# The checker's own test on every kind of server runs with a group that starts them all.
CHECKER_TEST = GROUP in (None, 'dovecot')


def sanitized():
    try:
        with open(cli.binary(), 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


def pairs():
    every = [(s, d) for s in KINDS for d in KINDS if s != d]
    if sanitized() and not os.environ.get('MH_SERVERS_FULL'):
        every = [(s, d) for s, d in every if 'dovecot' in (s, d)] + \
            [('courier', 'cyrus_dot'), ('cyrus_slash', 'courier')]
    if GROUP is not None:
        every = [(s, d) for s, d in every if s == GROUP]
    return every


def kinds_needed():
    if CHECKER_TEST:
        return set(KINDS)
    return {k for pair in pairs() for k in pair}


def users_for(kind):
    users = {'src': PW[kind], 'probe': PW[kind], 'check': PW[kind], 'flags': PW[kind]}
    for other in KINDS:
        if other != kind:
            users['from_' + other] = PW[kind]
            users['kill_' + other] = PW[kind]
            users['flags_' + other] = PW[kind]
    return users


@contextlib.contextmanager
def setup():
    needed = kinds_needed()
    with certs.TestPKI() as pki:
        servers = {}
        if 'dovecot' in needed:
            servers['dovecot'] = dovecot.Dovecot(pki, users=users_for('dovecot'),
                                                 separator='/')
        missing = {}
        for kind, hierarchy in (('cyrus_dot', 'dot'), ('cyrus_slash', 'slash')):
            if kind not in needed:
                continue
            if cyrus.missing():
                missing[kind] = cyrus.missing()
            else:
                servers[kind] = cyrus.Cyrus(pki, users_for(kind), hierarchy=hierarchy)
        if 'courier' in needed:
            if courier.missing():
                missing['courier'] = courier.missing()
            else:
                servers['courier'] = courier.Courier(pki, users_for('courier'))
        for kind, reason in missing.items():
            tap.diag('%s: not available: %s' % (kind, reason))
        with imapserver.running(*servers.values()):
            S['servers'] = servers
            S['missing'] = missing
            tap.diag('pairs: %d%s%s' % (len(pairs()), ' of group %s' % GROUP if GROUP else '',
                                        ' (smaller matrix under ASan)' if sanitized() else ''))
            yield


def server(kind):
    if kind in S['missing']:
        tap.skip('%s is not available here: %s' % (kind, S['missing'][kind]))
    return S['servers'][kind]


def prefix(srv):
    return getattr(srv, 'prefix', '')


def on_server(srv, name, sep):
    """The name on srv of corpus folder name (written with separator sep)."""
    if name.upper() == 'INBOX':
        return 'INBOX'
    return prefix(srv) + srv.separator.join(name.split(sep))


def dest_name(name, src, dst):
    """Where source folder name must land: the source's personal prefix off, separators
    translated (a destination separator inside a name becomes '_'), the destination's on."""
    if name.upper() == 'INBOX':
        return 'INBOX'
    rel = name[len(prefix(src)):] if prefix(src) and name.startswith(prefix(src)) else name
    if rel.upper().startswith('INBOX' + src.separator):
        rel = rel[len('INBOX') + 1:]  # a child of INBOX is a personal folder on either side
    parts = rel.split(src.separator)
    if src.separator != dst.separator:
        parts = [p.replace(dst.separator, '_') for p in parts]
    return prefix(dst) + dst.separator.join(parts)


def cpython_messages():
    if not os.path.isdir(CPYTHON):
        return []
    out = []
    for path in sorted(glob.glob(os.path.join(CPYTHON, 'msg_*.txt'))):
        with open(path, 'rb') as f:
            out.append((os.path.basename(path), f.read()))
    return out


def load_source(kind):
    """Load the source account of kind once; returns its snapshot (rewrites=True)."""
    if kind in S['loaded']:
        return S['loaded'][kind]
    srv = server(kind)
    sep = srv.separator
    c = corpus.generate(seed=SEED, scale=60, sep=sep, mix=corpus.SMALL_MIX,
                        extra=[(4, 250000)])
    folders = {on_server(srv, f, sep): ms for f, ms in c.folders.items()}
    if not prefix(srv):
        # A child of INBOX where INBOX is not a prefix: on a server with an INBOX. personal
        # namespace it is INBOX.Newsletters (not INBOX.INBOX.Newsletters).
        folders[srv.folder('INBOX', 'Newsletters')] = corpus.new_messages(SEED, 2)
    corpus.load(srv, 'src', folders, fast=None if kind == 'dovecot' else False)
    refused_here = []
    extra = cpython_messages()
    if extra:
        with imapcheck.session(srv, 'src') as conn:
            box = on_server(srv, 'CPython', sep)
            imapcheck.create_folder(conn, box)
            for i, (name, body) in enumerate(extra):
                try:
                    imapcheck.append(conn, box, body, (), imapcheck.DEFAULT_DATE + 3600 * i)
                except (imapcheck.CheckError, imaplib.IMAP4.error) as e:
                    refused_here.append('%s (%s)' % (name, e))
    else:
        tap.diag('CPython email test messages not installed (%s): corpus only' % CPYTHON)
    snap = compare.take(srv, 'src', label='%s source' % kind, rewrites=True)
    tap.diag('%s source: %d messages in %d folders; CPython messages: %d, refused by %s '
             'itself: %d%s' % (kind, snap.count(), len(snap.selectable()), len(extra), kind,
                               len(refused_here), ''.join('\n  ' + r for r in refused_here)))
    S['loaded'][kind] = snap
    return snap


def refused_by(src_kind, dst_kind):
    """{source folder: [Item]} of the source's CPython messages that the destination server
    refuses, found by APPENDing each one there with imaplib (user 'probe')."""
    key = (src_kind, dst_kind)
    if key in S['refused']:
        return S['refused'][key]
    src, dst = server(src_kind), server(dst_kind)
    snap = load_source(src_kind)
    box = on_server(src, 'CPython', src.separator)
    refused = {}
    if box in snap.messages:
        probe = on_server(dst, 'probe_' + src_kind, dst.separator)
        with imapcheck.session(src, 'src') as sconn, imapcheck.session(dst, 'probe') as dconn:
            imapcheck.create_folder(dconn, probe, subscribe=False)
            for item, msg in zip(snap.messages[box], imapcheck.fetch_messages(sconn, box)):
                typ, text = imapcheck.answer(dconn, dconn.append, imapcheck.quote(probe),
                                             None, None, msg['body'])
                if typ != 'OK':
                    refused.setdefault(box, []).append(item)
                    tap.diag('%s refuses %s (%s): %s' % (dst_kind, compare.describe(item),
                                                         src_kind, text))
    S['refused'][key] = refused
    return refused


def expectation(src_kind, dst_kind):
    """The source snapshot without what the destination refuses, and the folder mapping."""
    src, dst = server(src_kind), server(dst_kind)
    snap = load_source(src_kind)
    refused = refused_by(src_kind, dst_kind)
    messages = {}
    for f, items in snap.messages.items():
        left = list(items)
        for item in refused.get(f, []):
            left.remove(item)
        messages[f] = left
    expected = compare.Snapshot(snap.folders, messages, snap.label)
    mapping = {f: dest_name(f, src, dst) for f in snap.selectable()}
    return expected, mapping, sum(len(v) for v in refused.values())


def check_destination(checks, src_kind, dst_kind, user, what, full=False):
    expected, mapping, _ = expectation(src_kind, dst_kind)
    dst = server(dst_kind)
    after = compare.take(dst, user, label='%s on %s' % (user, dst_kind), rewrites=True)
    c = compare.compare(expected, after, mapping, strict_folders=False, ignore_flags=True,
                        ignore_dates=True)
    # Folders nobody asked for; an empty one where the source has a container is fine (Courier
    # and Cyrus make the parents of a new folder selectable).
    containers = {dest_name(n, server(src_kind), dst) for n in expected.containers()}
    stray = [n for n in c.extra_folders if not (n in containers and not after.messages.get(n))]
    c.extra_folders = []  # told below, without the containers
    checks.check(c.ok and not stray, '%s: messages lost, duplicated or misplaced '
                 '(checker):\n%s%s' % (what, c.text() if not c.ok else '',
                                       '\nfolders without a source folder: %s' %
                                       ', '.join(stray) if stray else ''))
    if full and c.ok:
        c2 = compare.compare(expected, after, mapping, strict_folders=False)
        checks.check(c2.ok, '%s: dates or flags differ:\n%s' % (what, c2.text()))
    return c


def job(src_kind, dst_kind, user_prefix='from_'):
    key = (src_kind, dst_kind, user_prefix)
    if key not in S['runs']:
        S['runs'][key] = Job(server(src_kind), 'src', server(dst_kind),
                             user_prefix + src_kind, name='%s-%s' % (src_kind, dst_kind))
    return S['runs'][key]


def refused_expectations(checks, r, n_refused, what):
    """What mailhaul must say about messages the destination refused."""
    if n_refused:
        checks.code(r, EXIT_REFUSED, '%s: exit code with %d refused messages' % (
            what, n_refused))
        failed = r.totals.get('failed') if r.report else None
        checks.eq(failed, n_refused, '%s: report totals.failed (refused messages)' % what)
        missing = r.totals.get('missing') if r.report else None
        checks.eq(missing, 0, '%s: report totals.missing (refused messages are counted as '
                  'refused, not as differences)' % what)
        errors = [l for l in r.stdout.splitlines() if l.startswith('Error:')]
        checks.check(len(errors) >= n_refused, '%s: %d refused messages but %d "Error:" '
                     'lines on stdout' % (what, n_refused, len(errors)))
    else:
        checks.code(r, 0, '%s: exit code' % what)


def initial(src_kind, dst_kind):
    """The first sync of the pair (once); returns (SyncResult, seconds)."""
    key = ('initial', src_kind, dst_kind)
    if key not in S['runs']:
        load_source(src_kind)
        r = job(src_kind, dst_kind).run()
        S['runs'][key] = r
        tap.diag('%s -> %s: initial sync exit %s in %.1f s, copied %s' % (
            src_kind, dst_kind, r.code, r.seconds,
            r.totals.get('copied') if r.report else '(no report)'))
    return S['runs'][key]


def copied(r):
    return r.totals.get('copied') if r.report is not None else None


# -- the checks ---------------------------------------------------------------------------

def t_initial(src_kind, dst_kind):
    r = initial(src_kind, dst_kind)
    _, _, n_refused = expectation(src_kind, dst_kind)
    checks = Checks()
    checks.attach(r)
    refused_expectations(checks, r, n_refused, 'initial sync')
    check_destination(checks, src_kind, dst_kind, 'from_' + src_kind, 'after the initial sync',
                      full=True)
    checks.done()


def t_verify(src_kind, dst_kind):
    initial(src_kind, dst_kind)
    _, _, n_refused = expectation(src_kind, dst_kind)
    r = job(src_kind, dst_kind).run(command='verify', state=False)
    checks = Checks()
    checks.attach(r)
    missing = r.totals.get('missing') if r.report else None
    checks.eq(missing, n_refused, 'verify: totals.missing (the refused messages only)')
    checks.code(r, 0 if not n_refused else 1, 'verify: exit code (%d refused)' % n_refused)
    checks.done()


def t_rerun(src_kind, dst_kind):
    initial(src_kind, dst_kind)
    _, _, n_refused = expectation(src_kind, dst_kind)
    r = job(src_kind, dst_kind).run()
    tap.diag('%s -> %s: unchanged rerun copied %s, exit %s' % (src_kind, dst_kind, copied(r),
                                                               r.code))
    checks = Checks()
    checks.attach(r)
    checks.eq(copied(r), 0, 'unchanged rerun: copied')
    refused_expectations(checks, r, n_refused, 'unchanged rerun')
    check_destination(checks, src_kind, dst_kind, 'from_' + src_kind, 'after the rerun')
    checks.done()


def t_fresh_state(src_kind, dst_kind):
    initial(src_kind, dst_kind)
    _, _, n_refused = expectation(src_kind, dst_kind)
    j = job(src_kind, dst_kind)
    if os.path.exists(j.state):
        os.unlink(j.state)
    r = j.run()
    tap.diag('%s -> %s: rerun with the state file deleted copied %s, exit %s' % (
        src_kind, dst_kind, copied(r), r.code))
    checks = Checks()
    checks.attach(r)
    checks.eq(copied(r), 0, 'rerun with the state file deleted: copied')
    refused_expectations(checks, r, n_refused, 'rerun with the state file deleted')
    check_destination(checks, src_kind, dst_kind, 'from_' + src_kind,
                      'after a rerun with the state file deleted')
    checks.done()


def t_kill9(src_kind, dst_kind):
    initial(src_kind, dst_kind)
    expected, _, n_refused = expectation(src_kind, dst_kind)
    j = job(src_kind, dst_kind, 'kill_')
    dst = server(dst_kind)
    # Only this run writes to the destination server now: count all of its messages (Cyrus
    # cannot tell them by user on disk) from what it holds before the run.
    at = int(random.Random('%s%s' % (src_kind, dst_kind)).uniform(0.3, 0.6) *
             expected.count())
    before = dst.received_count()
    p = j.start()
    hit, seen = signal_at_count(p, dst, before + at)
    killed = j.finish(p, timeout=120)
    S['hits'].append(hit)
    r = j.run()
    tap.diag('%s -> %s: SIGKILL at %d of %d messages received (%s), the rerun copied %s, '
             'exit %s' % (src_kind, dst_kind, seen - before, expected.count(),
                          'killed' if hit else 'had finished', copied(r), r.code))
    checks = Checks()
    checks.attach(r)
    if hit:
        checks.check(killed.code == -signal.SIGKILL, 'the killed run ended with %s' %
                     killed.code)
    refused_expectations(checks, r, n_refused, 'rerun after SIGKILL')
    check_destination(checks, src_kind, dst_kind, 'kill_' + src_kind,
                      'after SIGKILL and a rerun')
    checks.done()


CHECKS = (('initial', t_initial), ('verify', t_verify), ('rerun', t_rerun),
          ('fresh_state', t_fresh_state), ('kill9', t_kill9))


def register(src_kind, dst_kind):
    for check, fn in CHECKS:
        def run(fn=fn):
            fn(src_kind, dst_kind)
        tap.test(run, name='%s_to_%s_%s' % (src_kind, dst_kind, check))


def checker_sees_server_rewrites_as_the_same_message():
    """The checker itself on real servers: the same message stored by Dovecot, Cyrus and
    Courier is one message; a lost or a duplicated one is not."""
    msgs = [imapcheck.make_message(1, subject='Grüße aus Köln', body='no final line end'),
            imapcheck.make_message(2)]
    msgs[0] = msgs[0].rstrip(b'\r\n')
    kinds = [k for k in KINDS if k not in S['missing']]
    snaps = {}
    for k in kinds:
        srv = S['servers'][k]
        box = on_server(srv, 'Rewrites', '/')
        srv.preload('check', {box: msgs})
        snaps[k] = compare.take(srv, 'check', folders=[box], rewrites=True, label=k)
    ref = 'dovecot'
    for k in kinds:
        if k == ref:
            continue
        src, dst = S['servers'][ref], S['servers'][k]
        mapping = {on_server(src, 'Rewrites', '/'): on_server(dst, 'Rewrites', '/')}
        c = compare.compare(snaps[ref], snaps[k], mapping, strict_folders=False)
        tap.check(c.ok, 'dovecot and %s differ for the same messages:\n%s' % (k, c.text()))
        box = on_server(dst, 'Rewrites', '/')
        lost = compare.Snapshot(snaps[k].folders, {box: snaps[k].messages[box][1:]}, k)
        c = compare.compare(snaps[ref], lost, mapping, strict_folders=False)
        tap.eq(c.missing_count, 1, 'a lost message seen on %s' % k)
        dup = compare.Snapshot(snaps[k].folders, {box: snaps[k].messages[box] +
                                                  snaps[k].messages[box][:1]}, k)
        c = compare.compare(snaps[ref], dup, mapping, strict_folders=False)
        tap.check(not c.ok and c.extra_count == 1, 'a duplicate seen on %s: %s' % (
            k, c.text()))


# How each server shows that its two ports lead to one mailbox: its own identifier of INBOX
# where it has one (Dovecot's X-GUID, Cyrus's RFC 8474 MAILBOXID), else the counters.
SAME_BY = {'dovecot': 'INBOX has the same X-GUID', 'cyrus_dot': 'INBOX has the same MAILBOXID',
           'cyrus_slash': 'INBOX has the same MAILBOXID', 'courier': 'the same UIDVALIDITY'}
EXIT_USAGE = 64


def t_two_ports(kind):
    """One account through the server's two ports (as two SSH tunnels would give), with
    --delete1: refused before anything changes, saying how it was decided."""
    srv = server(kind)
    before = load_source(kind)
    # Courier offers STARTTLS only with a system user of its own (mhtest.courier).
    job = Job(srv, 'src', srv, 'src', mode1='ssl', mode2='notls' if kind == 'courier' else 'tls',
              name='%s-two-ports' % kind)
    r = job.run('--delete1', state=False)
    checks = Checks()
    checks.attach(r)
    checks.code(r, EXIT_USAGE)
    checks.check('same mailbox' in r.stderr and SAME_BY[kind] in r.stderr,
                 'the error does not say "%s":\n%s' % (SAME_BY[kind], r.stderr))
    after = compare.take(srv, 'src', label='%s source after' % kind, rewrites=True)
    checks.check(before.same_as(after), 'the mailbox changed:\n%s' % before.diff_text(after))
    checks.done()


# (flags when copied, added on the source afterwards, removed on the source afterwards)
FLAG_PLAN = [((), ('\\Flagged',), ()),
             (('\\Seen',), ('\\Flagged',), ('\\Seen',)),
             (('\\Answered', '\\Seen'), (), ('\\Answered',)),
             (('\\Answered',), ('\\Seen',), ())]
FLAG_STORES = ['+FLAGS.SILENT (\\Flagged)', '+FLAGS.SILENT (\\Seen)',
               '-FLAGS.SILENT (\\Answered)', '-FLAGS.SILENT (\\Seen)']


def t_flag_changes(kind):
    """Flags set and cleared on the source after a copy reach each other kind of server
    on the rerun, one UID STORE per flag and direction; from a source with CONDSTORE to a
    destination whose SELECT says UIDNEXT, the rerun lists no UIDs of the source (the
    narrow pass of sync-folder-list.c)."""
    srv = server(kind)
    dests = [d for s, d in pairs() if s == kind and d not in S['missing']]
    with imapcheck.session(srv, 'flags') as conn:
        for i, (flags, _, _) in enumerate(FLAG_PLAN):
            imapcheck.append(conn, 'INBOX', imapcheck.make_message(700 + i), flags)
    jobs = {d: Job(srv, 'flags', server(d), 'flags_' + kind, name='%s-%s-flags' % (kind, d))
            for d in dests}
    checks = Checks()
    for d, j in jobs.items():
        r = j.run()
        checks.attach(r)
        checks.code(r, 0, '%s: the first copy' % d)
    with imapcheck.session(srv, 'flags') as conn:
        for uid, (_, add, remove) in enumerate(FLAG_PLAN, start=1):
            store_flags(conn, 'INBOX', uid, add, remove)
    want = flags_by_message_id(srv, 'flags')
    for d, j in jobs.items():
        r = j.run('--debug', 'wire')
        checks.attach(r)
        checks.code(r, 0, '%s: the rerun' % d)
        checks.eq(r.totals.get('flag_updates') if r.report else None, len(FLAG_PLAN),
                  '%s: report totals.flag_updates' % d)
        checks.eq(sorted(re.findall(r'host2 C: \S+ UID STORE \S+ (.*)', r.stderr)),
                  FLAG_STORES, '%s: the UID STOREs' % d)
        checks.eq(flags_by_message_id(server(d), 'flags_' + kind), want,
                  '%s: flags (Message-ID: flags)' % d)
        if kind != 'courier' and d != 'courier':
            # With CONDSTORE on the source and the destination as the first copy left it,
            # the counters prove the rest: the source's UIDs are not listed (narrow pass).
            # Courier's SELECT says no UIDNEXT, so a Courier destination is listed.
            checks.eq(re.findall(r'host1\S* C: \S+ UID SEARCH .*', r.stderr), [],
                      '%s: UID SEARCH commands to the source' % d)
    checks.done()


if CHECKER_TEST:
    tap.test(checker_sees_server_rewrites_as_the_same_message)
for _s, _d in pairs():
    register(_s, _d)
for _k in ([GROUP] if GROUP else KINDS):
    tap.test(lambda _k=_k: t_two_ports(_k), name='%s_through_its_two_ports_is_refused' % _k)
    tap.test(lambda _k=_k: t_flag_changes(_k), name='%s_flag_changes_reach_the_others' % _k)


@tap.test
def kills_hit_running_processes():
    hits = S['hits']
    if not hits:
        tap.skip('no kill9 check ran')
    tap.check(sum(hits) * 2 >= len(hits), 'only %d of %d runs were still running when '
              'killed: the corpus is too small for this machine' % (sum(hits), len(hits)))


if __name__ == '__main__':
    if not pairs() and not CHECKER_TEST:
        tap.skip_all('no pair of group %s here (under ASan the matrix is smaller; '
                     'MH_SERVERS_FULL=1 runs every pair)' % GROUP)
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
