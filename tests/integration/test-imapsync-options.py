#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every row of docs/imapsync.md, run against two real Dovecots: a same or mapped option
must have its effect, a no-effect option must leave a successful run (and a log line saying
why), a refused option must stop with exit code 64 and the reason the table gives. The rows
come from the table itself, so the test and the documentation cannot drift apart."""
import contextlib
import os
import re
import time

from mhtest import certs, cli, dovecot, imapcheck, synctest, tap
from mhtest.synctest import Job

PW1, PW2, ADMIN_PW = 'Compat-src-pw-4711', 'Compat-dst-pw-4712', 'Compat-admin-pw-4713'
DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs', 'imapsync.md')
S = {}
CHECKS = {}
USERS = []


def rows():
    """[(options, status, text)] from the table of docs/imapsync.md."""
    out = []
    with open(DOC, encoding='utf-8') as f:
        for line in f:
            m = re.match(r'^\| (`--.*?) \| (same|mapped|no effect|refused) \| (.*) \|$', line)
            if not m:
                continue
            names = [t.split()[0] for t in re.findall(r'`(--[^`]*)`', m.group(1))]
            out.append((names, m.group(2), m.group(3)))
    return out


def check(*names):
    """Registers the check of the same or mapped options `names` (its own mailbox pair)."""
    def register(fn):
        user = 'u%d' % len(USERS)
        USERS.append(user)
        for n in names:
            CHECKS[n] = (fn, user)
        return fn
    return register


def mail(n, subject, extra='', body='hello\r\n'):
    return ('From: Ann <ann@example.com>\r\nTo: Bob <bob@example.com>\r\n'
            'Subject: %s\r\nMessage-ID: <compat-%d@example.com>\r\n'
            'Date: Tue, 4 Mar 2025 09:%02d:00 +0100\r\n%s\r\n%s' % (
                subject, n, n, extra, body)).encode()


# The source mailbox of every check: folder -> [(body, flags)]; INBOX and Work are
# subscribed, Lists and Work/Projects are not.
BASE = {
    'INBOX': [(mail(1, 'one'), ('\\Seen',)), (mail(2, 'two'), ('\\Flagged', '$Label1')),
              (mail(3, 'receipt', 'Disposition-Notification-To: ann@example.com\r\n'), ())],
    'Work': [(mail(4, 'work a'), ('\\Seen',)), (mail(5, 'work b'), ())],
    'Work/Projects': [(mail(6, 'project'), ())],
    'Lists': [(mail(7, 'big', body='x' * 70000 + '\r\n'), ()), (mail(8, 'list'), ())],
}
SUBSCRIBED = ('INBOX', 'Work')
TOTAL = sum(len(v) for v in BASE.values())


def load(user):
    with imapcheck.session(S['src'], user) as conn:
        for folder, msgs in BASE.items():
            if folder != 'INBOX':
                imapcheck.create_folder(conn, folder, subscribe=folder in SUBSCRIBED)
            for body, flags in msgs:
                imapcheck.append(conn, folder, body, flags=flags)


def job(user, name=None):
    load(user)
    return Job(S['src'], user, S['dst'], user, name=name or user)


def counts(server, user):
    with imapcheck.session(S[server], user) as conn:
        return imapcheck.folder_counts(conn)


def dst_messages(user, folder):
    with imapcheck.session(S['dst'], user) as conn:
        return imapcheck.fetch_messages(conn, folder)


def ok(r, what='run'):
    if r.code != 0:
        tap.fail('%s: expected exit code 0\n%s\n%s' % (what, r, r.log_tail()))
    return r


def code(r, want, what='run'):
    if r.code != want:
        tap.fail('%s: expected exit code %d\n%s\n%s' % (what, want, r, r.log_tail()))
    return r


def log_text(r):
    try:
        with open(r.log_path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except OSError:
        return ''


# -- checks of same and mapped options ---------------------------------------------------------

@check('--host1', '--host2', '--port1', '--port2', '--user1', '--user2', '--passfile1',
       '--passfile2', '--ssl1', '--ssl2', '--automap', '--subscribe', '--help')
def plain_sync_copies_everything(user):
    ok(job(user).run())
    tap.eq(counts('dst', user), {f: len(m) for f, m in BASE.items()}, 'destination counts')
    with imapcheck.session(S['dst'], user) as conn:
        subs = set(synctest.subscriptions(conn))
    tap.check({'Work'} <= subs and 'Lists' not in subs,
              'the subscriptions should follow the source: %s' % subs)
    r = cli.run(['help', 'sync'])
    tap.check(r.code == 0 and '--folderlast' in r.stdout, 'help sync lists --folderlast')


@check('--password1', '--password2')
def passwords_on_the_command_line(user):
    j = job(user)
    args = [a for a in j.account_args() if not a.startswith('--passfile')]
    args = [a for a in args if a not in (j.passfile1, j.passfile2)]
    r = cli.run(['sync'] + args + ['--password1', PW1, '--password2', PW2, '--state',
                                   j.state, '--quiet'])
    tap.eq(r.code, 0, 'exit code\n%s' % r)


@check('--tls1', '--tls2')
def starttls(user):
    j = job(user)
    j.mode1 = j.mode2 = 'tls'
    ok(j.run())


@check('--nossl1', '--nossl2', '--notls1', '--notls2')
def nossl_and_notls(user):
    j = job(user)
    a = [x for x in j.account_args() if x not in ('--ssl1', '--ssl2')]
    a[a.index('--port1') + 1] = str(S['src'].port('tls'))
    a[a.index('--port2') + 1] = str(S['dst'].port('tls'))
    r = cli.run(['sync'] + a + ['--nossl1', '--nossl2', '--state', j.state, '--quiet'])
    tap.eq(r.code, 0, 'exit code with --nossl1 --nossl2 on the STARTTLS ports\n%s' % r)
    r = cli.run(['sync'] + a + ['--nossl1', '--notls1', '--nossl2', '--notls2', '--state',
                                j.state, '--quiet'])
    tap.eq(r.code, 0, 'exit code with --notls1 --notls2 (no encryption)\n%s' % r)
    r = cli.run(['sync'] + j.account_args() + ['--nossl1', '--quiet'])
    cli.expect_error(r, 64, '--nossl1', '--ssl1')


@check('--authmech1', '--authmech2', '--authmd51', '--authmd52', '--timeout1', '--timeout2')
def mechanisms(user):
    j = job(user)
    r = ok(j.run('--authmech1', 'LOGIN', '--authmech2', 'PLAIN', '--timeout1', '30',
                 '--timeout2', '30', '--debug', 'auth'))
    ok(j.run('--authmd51', '--authmd52', '--debug', 'auth'))
    tap.contains('CRAM-MD5', r.stderr + log_text(r) + j.run('--authmd51', '--authmd52',
                                                            '--debug', 'auth').stderr,
                 'the CRAM-MD5 exchange')


@check('--authuser1', '--authuser2')
def admin_login(user):
    j = job(user)
    a = j.account_args()
    admin = cli.write_passfile(j.dir, ADMIN_PW, 'admin')
    a[a.index('--passfile1') + 1] = admin
    r = cli.run(['sync'] + a + ['--authuser1', 'admin', '--state', j.state, '--quiet'])
    tap.eq(r.code, 0, 'exit code logging in to the source as admin\n%s' % r)
    tap.eq(counts('dst', user).get('Work'), 2, 'Work copied')


@check('--oauthaccesstoken1', '--oauthaccesstoken2')
def access_token(user):
    r = job(user).run('--oauthaccesstoken1', 'not-a-token')
    code(r, 16, 'a token the server cannot take')


@check('--dry')
def dry(user):
    r = job(user).run('--dry')
    tap.check(r.code in (0, 1), 'exit code of --dry\n%s' % r)
    tap.eq(counts('dst', user), {'INBOX': 0}, 'destination after --dry')


@check('--justlogin')
def justlogin_both_sides(user):
    j = job(user)
    r = cli.run(j.account_args() + ['--justlogin'])
    tap.eq(r.code, 0, 'exit code of mailhaul --justlogin with both sides\n%s' % r)
    tap.contains('host2: %s logged in' % user, r.stdout)
    tap.eq(counts('dst', user), {'INBOX': 0}, 'destination after --justlogin')


@check('--justfolders')
def justfolders(user):
    ok(job(user).run('--justfolders'))
    tap.eq(counts('dst', user), {f: 0 for f in BASE}, 'folders without messages')


@check('--justfoldersizes')
def justfoldersizes(user):
    r = job(user).run('--justfoldersizes')
    code(r, 1, '--justfoldersizes of an empty destination')
    tap.contains('Work/Projects', r.stdout, 'the table')
    tap.eq(counts('dst', user), {'INBOX': 0}, 'destination after --justfoldersizes')


@check('--folder')
def folder(user):
    ok(job(user).run('--folder', 'Work'))
    tap.eq(counts('dst', user).get('Work'), 2, 'Work')
    tap.eq(counts('dst', user).get('INBOX'), 0, 'INBOX untouched')


@check('--folderrec')
def folderrec(user):
    ok(job(user).run('--folderrec', 'Work'))
    c = counts('dst', user)
    tap.eq((c.get('Work'), c.get('Work/Projects'), c.get('Lists')), (2, 1, None),
           'Work and Work/Projects only')


@check('--folderfirst', '--folderlast')
def folder_order(user):
    r = ok(job(user).run('--jobs', '1', '--folderfirst', 'Lists', '--folderlast', 'INBOX'))
    started = re.findall(r'(\S+): started', log_text(r))
    tap.eq(started, ['Lists', 'Work', 'Work/Projects', 'INBOX'], 'the order in the log')


@check('--include', '--exclude')
def include_exclude(user):
    ok(job(user).run('--include', '^Work', '--exclude', 'Projects'))
    c = counts('dst', user)
    tap.eq((c.get('Work'), c.get('Work/Projects'), c.get('Lists')), (2, None, None), 'Work only')


@check('--f1f2')
def f1f2(user):
    ok(job(user).run('--f1f2', 'Lists=Archive/Lists'))
    c = counts('dst', user)
    tap.eq((c.get('Archive/Lists'), c.get('Lists')), (2, None), 'Lists in Archive/Lists')


@check('--subfolder2')
def subfolder2(user):
    ok(job(user).run('--subfolder2', 'Old'))
    c = counts('dst', user)
    tap.eq({f: n for f, n in c.items() if n}, {'Old/' + f: len(m) for f, m in BASE.items()},
           'every folder under Old')


@check('--subscribed')
def subscribed(user):
    ok(job(user).run('--subscribed'))
    c = counts('dst', user)
    tap.eq((c.get('Work'), c.get('Lists'), c.get('INBOX')), (2, None, 3),
           'INBOX and the subscribed Work only')


@check('--subscribeall')
def subscribeall(user):
    ok(job(user).run('--subscribeall'))
    with imapcheck.session(S['dst'], user) as conn:
        subs = set(synctest.subscriptions(conn))
    tap.check({'Work', 'Lists', 'Work/Projects'} <= subs, 'every folder subscribed: %s' % subs)


@check('--regextrans2')
def regextrans2(user):
    ok(job(user).run('--regextrans2', 's/^Lists$/Mailing lists/'))
    tap.eq(counts('dst', user).get('Mailing lists'), 2, 'renamed')


@check('--delete2', '--delete2folders')
def delete2(user):
    j = job(user)
    with imapcheck.session(S['dst'], user) as conn:
        imapcheck.create_folder(conn, 'Stray')
        imapcheck.append(conn, 'INBOX', mail(99, 'stray'))
    ok(j.run('--delete2', '--delete2folders'))
    c = counts('dst', user)
    tap.eq((c.get('INBOX'), c.get('Stray')), (3, None), 'stray message and folder deleted')


@check('--delete2duplicates')
def delete2duplicates(user):
    j = job(user)
    ok(j.run())
    with imapcheck.session(S['dst'], user) as conn:
        imapcheck.append(conn, 'Work', BASE['Work'][1][0])
    ok(j.run('--delete2duplicates'))
    tap.eq(counts('dst', user).get('Work'), 2, 'the duplicate deleted')


@check('--delete1')
def delete1(user):
    ok(job(user).run('--delete1', '--folder', 'Work'))
    tap.eq(counts('src', user).get('Work'), 0, 'source Work emptied')
    tap.eq(counts('dst', user).get('Work'), 2, 'destination Work')


def src_messages(user, folder):
    with imapcheck.session(S['src'], user) as conn:
        return imapcheck.fetch_messages(conn, folder)


def subjects(msgs):
    return sorted(re.search(rb'Subject: ([^\r]*)', m['body']).group(1).decode() for m in msgs)


@check('--expunge1')
def expunge1(user):
    j = job(user)
    with imapcheck.session(S['src'], user) as conn:
        imapcheck.append(conn, 'Work', mail(20, 'trashed'), flags=('\\Deleted',))
    r = code(j.run('--expunge1', '--folder', 'Work', '--dry'), 1, 'dry run (3 to copy)')
    tap.eq(len(src_messages(user, 'Work')), 3, 'a dry run expunges nothing')
    tap.contains('would expunge 1 source messages', log_text(r), 'the dry run says so')
    r = ok(j.run('--expunge1', '--folder', 'Work'))
    tap.eq(subjects(src_messages(user, 'Work')), ['work a', 'work b'],
           'the message flagged \\Deleted expunged from the source, the others kept')
    tap.eq(subjects(dst_messages(user, 'Work')), ['work a', 'work b'],
           'and not copied')
    tap.contains('expunging 1 source messages flagged \\Deleted (--expunge1)', log_text(r),
                 'the log')


@check('--noexpunge1')
def noexpunge1(user):
    ok(job(user).run('--delete1', '--noexpunge1', '--folder', 'Work'))
    left = src_messages(user, 'Work')
    tap.eq(len(left), 2, 'the source keeps its messages')
    tap.check(all('\\Deleted' in m['flags'] for m in left),
              'each flagged \\Deleted: %s' % [m['flags'] for m in left])
    tap.eq(subjects(dst_messages(user, 'Work')), ['work a', 'work b'], 'both copied')
    copies = dst_messages(user, 'Work')
    tap.check(not any('\\Deleted' in m['flags'] for m in copies),
              'the copies are not flagged \\Deleted: %s' % [m['flags'] for m in copies])


@check('--search2')
def search2(user):
    j = job(user)
    with imapcheck.session(S['dst'], user) as conn:
        imapcheck.append(conn, 'INBOX', mail(30, 'stray keep'))
        imapcheck.append(conn, 'INBOX', mail(31, 'stray drop'))
    r = j.run('--delete2', '--search2', 'SUBJECT drop', '--folder', 'INBOX')
    tap.check(r.code in (0, 1), 'exit code\n%s' % r)
    tap.eq(subjects(dst_messages(user, 'INBOX')), ['one', 'receipt', 'stray keep', 'two'],
           'only the stray matching --search2 deleted')
    r = cli.run(['sync', '--host1', 'h', '--user1', 'u', '--host2', 'h2', '--user2', 'u',
                 '--search2', 'ALL\r\nA1 LOGOUT'])
    cli.expect_error(r, 64, '--search2')


ERRORSMAX_FILL = 400  # messages of 3 KB: about a quarter fit in the quota


@check('--errorsmax')
def errorsmax(user):
    # Into a destination over quota every message fails: the run stops after 2.
    q = S['quota']
    load(user)
    with imapcheck.session(S['src'], user) as conn:
        for n in range(ERRORSMAX_FILL):
            imapcheck.append(conn, 'Work', mail(100 + n, 'filler %d' % n, body='y' * 3000 + '\r\n'))
    j = Job(S['src'], user, q, 'q', name=user)
    r = code(j.run('--errorsmax', '2', '--jobs', '1', '--folder', 'Work'), 112)
    tap.contains('--errorsmax', r.stderr, 'the error line')
    failed = r.totals.get('failed')
    with imapcheck.session(q, 'q') as conn:
        fit = imapcheck.folder_counts(conn).get('Work', 0)
    left = ERRORSMAX_FILL + 2 - fit
    tap.check(failed is not None and 2 <= failed < left // 2,
              'stopped after 2 failures, the messages in flight aside (%s failed, %d would)'
              % (failed, left))
    r = code(j.run('--jobs', '1', '--folder', 'Work'), 113, 'the rerun without --errorsmax')
    tap.eq(r.totals.get('failed'), left, 'without --errorsmax every message is tried')


@check('--maxsize', '--minsize', '--maxage', '--minage')
def sizes_and_ages(user):
    j = job(user)
    r = j.run('--maxsize', '50000', '--folder', 'Lists')
    tap.eq(counts('dst', user).get('Lists'), 1, 'the big one skipped')
    tap.check(r.code in (0, 1), 'exit code\n%s' % r)
    r = j.run('--minsize', '50000', '--folder', 'Work', '--maxage', '100000', '--minage', '0')
    tap.eq(counts('dst', user).get('Work'), 0, 'the small ones skipped')


@check('--search', '--search1')
def search(user):
    j = job(user)
    r = j.run('--search1', 'SUBJECT two', '--folder', 'INBOX')
    tap.eq(counts('dst', user).get('INBOX'), 1, 'only the message found')
    tap.check(r.code in (0, 1), 'exit code\n%s' % r)
    r = j.run('--search', 'SUBJECT one', '--folder', 'INBOX')
    tap.eq(counts('dst', user).get('INBOX'), 2, 'and then the other one')


@check('--regexflag')
def regexflag(user):
    j = job(user)
    ok(j.run('--regexflag', 's/\\$Label1/Important/', '--regexflag', 's/\\\\Flagged ?//',
             '--folder', 'INBOX'))
    flags = [m['flags'] for m in dst_messages(user, 'INBOX')]
    tap.check(any('Important' in f for f in flags) and
              not any('$Label1' in f or '\\Flagged' in f for f in flags),
              'flags rewritten on the destination: %s' % flags)
    r = ok(j.run('--regexflag', 's/\\$Label1/Important/', '--regexflag', 's/\\\\Flagged ?//',
                 '--folder', 'INBOX'), 'rerun')
    tap.check(r.report is None or r.totals.get('flag_updates', 0) == 0,
              'a rerun changes no flags\n%s' % r)


@check('--disarmreadreceipts')
def disarmreadreceipts(user):
    ok(job(user).run('--disarmreadreceipts', '--folder', 'INBOX'))
    bodies = [m['body'] for m in dst_messages(user, 'INBOX')]
    tap.check(any(b'X-Disposition-Notification-To:' in b for b in bodies) and
              not any(re.search(rb'^Disposition-Notification-To:', b, re.M) for b in bodies),
              'the receipt request disarmed')


@check('--maxmessagespersecond')
def maxmessagespersecond(user):
    j = job(user)
    t0 = time.monotonic()
    ok(j.run('--maxmessagespersecond', '2', '--jobs', '1'))
    took = time.monotonic() - t0
    # 8 messages at 2 a second: at least 3.5 s between the first and the last.
    tap.check(took >= 3.0, '8 messages at 2/s took only %.1f s' % took)


@check('--maxbytespersecond', '--maxbytesafter')
def maxbytespersecond(user):
    j = job(user)
    t0 = time.monotonic()
    ok(j.run('--maxbytespersecond', '25000', '--folder', 'Lists', '--folderfirst', 'Lists'))
    slow = time.monotonic() - t0
    # The 70 KB message first, then the small one waits until 70 KB fit 25 KB/s.
    tap.check(slow >= 2.5, '72 KB at 25 KB/s took only %.1f s' % slow)
    j2 = job(user + 'b', name=user + 'b')
    t0 = time.monotonic()
    ok(j2.run('--maxbytespersecond', '25000', '--maxbytesafter', '100000', '--folder', 'Lists'))
    fast = time.monotonic() - t0
    tap.check(fast < slow - 1.5, 'with --maxbytesafter 100000: %.1f s, without: %.1f s' % (
        fast, slow))


@check('--subfolder1')
def subfolder1(user):
    ok(job(user).run('--subfolder1', 'Work'))
    c = counts('dst', user)
    tap.eq({f: n for f, n in c.items() if n}, {'INBOX': 2, 'Projects': 1},
           'Work into INBOX, Work/Projects into Projects')


@check('--exitwhenover')
def exitwhenover(user):
    j = job(user)
    r = code(j.run('--exitwhenover', '60000', '--jobs', '1', '--folderfirst', 'Lists'), 118)
    tap.check(sum(counts('dst', user).values()) < TOTAL, 'stopped before the end')
    tap.contains('--exitwhenover', r.stderr, 'the error line')
    ok(j.run(), 'the rerun that finishes')


@check('--gmail1', '--gmail2', '--office1', '--office2')
def provider_hosts(user):
    d = cli.scratch_dir()
    for opt, host in (('--gmail1', 'imap.gmail.com'), ('--office1', 'outlook.office365.com')):
        log = os.path.join(d, opt.strip('-') + '.log')
        r = cli.run(['--user1', 'alice@example.com', opt, '--gmail2' if opt == '--office1'
                     else '--office2', '--user2', 'bob@example.com', '--passfile1', __file__,
                     '--passfile2', __file__, '--timeout1', '5', '--timeout2', '5',
                     '--log', log, '--quiet'], timeout=60)
        tap.check(r.code in (10, 12, 16), 'exit code without a network or password\n%s' % r)
        with open(log, encoding='utf-8', errors='replace') as f:
            tap.contains('alice@example.com on %s' % host, f.read(), 'the log')


@check('--exchange1', '--exchange2')
def exchange(user):
    r = ok(job(user).run('--exchange1', '--exchange2'))
    tap.contains('profiles: host1 m365, host2 m365', log_text(r), 'the log')


@check('--logfile', '--logdir', '--nolog')
def logs(user):
    j = job(user)
    d = os.path.join(j.dir, 'logs')
    a = j.account_args() + ['--state', j.state, '--quiet']
    r = cli.run(['sync'] + a + ['--logdir', d, '--logfile', 'run.log'])
    tap.eq(r.code, 0, 'exit code\n%s' % r)
    tap.check(os.path.getsize(os.path.join(d, 'run.log')) > 0, 'the log in --logdir')
    r = cli.run(['sync'] + a + ['--logdir', d])
    tap.eq(len(os.listdir(d)), 2, 'a second log file in --logdir: %s' % os.listdir(d))
    state_logs = os.path.join(cli.environment()['XDG_STATE_HOME'], 'mailhaul', 'logs')
    before = set(os.listdir(state_logs)) if os.path.isdir(state_logs) else set()
    r = cli.run(['sync'] + a + ['--nolog'])
    tap.eq(r.code, 0, 'exit code with --nolog\n%s' % r)
    after = set(os.listdir(state_logs)) if os.path.isdir(state_logs) else set()
    tap.eq(after - before, set(), 'log files written with --nolog')


@check('--pidfile', '--pidfilelocking')
def pidfile(user):
    j = job(user)
    pidfile = os.path.join(j.dir, 'run.pid')
    p = j.start('--pidfile', pidfile, '--pace', '2', '--jobs', '1')
    seen = None
    for _ in range(200):
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                seen = f.read().strip()
            if seen:
                break
        time.sleep(0.05)
    r = j.finish(p)
    tap.eq(r.code, 0, 'exit code\n%s' % r)
    tap.eq(seen, str(p.pid), 'the pid file during the run')
    tap.check(not os.path.exists(pidfile), 'the pid file removed at the end')
    with open(pidfile, 'w') as f:
        f.write('%d\n' % os.getpid())
    r = j.run('--pidfile', pidfile, '--pidfilelocking')
    code(r, 75, 'a pid file naming a running process')
    tap.contains('--pidfilelocking', r.stderr)


@check('--debug', '--debugimap', '--debugimap1', '--debugimap2', '--debugflags',
       '--debugfolders')
def debug(user):
    j = job(user)
    r = ok(j.run('--debugimap1', '--folder', 'Work'))
    tap.match(r'host1 C: .*(SELECT|EXAMINE)', r.stderr, 'IMAP commands')
    for opt in ('--debugimap', '--debugimap2'):
        r = ok(j.run(opt, '--folder', 'Work'))
        tap.match(r'host[12] C: A[0-9]+ LIST', r.stderr, 'IMAP commands with %s' % opt)
    for opt in ('--debug', '--debugflags', '--debugfolders'):
        r = ok(j.run(opt, '--folder', 'Work'))
        tap.check('skipped (not named by --folder)' in r.stderr,
                  "the engine's debug lines with %s\n%s" % (opt, r))


@check('--version')
def version(user):
    r = cli.run(['--version'])
    tap.check(r.code == 0 and r.stdout.startswith('mailhaul '), 'version\n%s' % r)


# -- the rows ----------------------------------------------------------------------------------

def no_effect_values(name):
    return {'--useheader': ['Message-Id'], '--tmpdir': ['/nonexistent'],
            '--debugssl': ['4'], '--maxsleep': ['2']}.get(name, [])


def run_no_effect(names, why):
    user = S.setdefault('no_effect_user', 'noeffect')
    j = S.get('no_effect_job')
    if j is None:
        j = S['no_effect_job'] = job(user)
    extra = []
    for n in names:
        extra += [n] + no_effect_values(n)
    r = ok(j.run(*extra), ' '.join(extra))
    text = log_text(r)
    for n in names:
        tap.contains('%s has no effect: %s' % (n, why.replace('`', '')), text, 'the log')


def run_refused(names, why):
    for n in names:
        r = cli.run(['sync', '--host1', 'h', '--user1', 'u', '--host2', 'h2', '--user2', 'u',
                     n] + (['x'] if n in S['valued'] else []))
        cli.expect_error(r, 64, "imapsync's %s is refused" % n, why.replace('`', ''))


def once(fn, user):
    """Runs a check once; the rows it covers all report its outcome."""
    def run():
        if fn not in S['outcomes']:
            try:
                fn(user)
                S['outcomes'][fn] = None
            except tap.Failure as e:
                S['outcomes'][fn] = e
                raise
            return
        if S['outcomes'][fn] is not None:
            tap.fail('as above (%s): %s' % (fn.__name__, S['outcomes'][fn]))
    return run


def table_tests():
    tests = []
    S['outcomes'] = {}
    # The options that take a value, as the table writes them ("--x VALUE").
    with open(DOC, encoding='utf-8') as f:
        S['valued'] = set(re.findall(r'`(--[a-z0-9]+) [A-Z\'\d]', f.read()))
    for names, status, why in rows():
        label = '%s (%s)' % (', '.join(names), status)
        if status == 'refused':
            tests.append((label, lambda n=names, w=why: run_refused(n, w)))
        elif status == 'no effect':
            tests.append((label, lambda n=names, w=why: run_no_effect(n, w)))
        elif any(n not in CHECKS for n in names):
            missing = [n for n in names if n not in CHECKS]
            tests.append((label, lambda m=missing: tap.fail('no check for %s' % m)))
        else:
            fns = []
            for n in names:
                if CHECKS[n] not in fns:
                    fns.append(CHECKS[n])
            tests.append((label, lambda fs=fns: [once(f, u)() for f, u in fs]))
    return tests


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        users = USERS + [u + 'b' for u in USERS] + ['noeffect']
        src = dovecot.Dovecot(pki, users={u: PW1 for u in users}, separator='/',
                              master_users={'admin': ADMIN_PW}, special_use=False)
        dst = dovecot.Dovecot(pki, users={u: PW2 for u in users}, separator='/',
                              special_use=False)
        quota = dovecot.Dovecot(pki, users={'q': PW2}, separator='/', special_use=False,
                                quota='300K')
        with dovecot.running(src, dst, quota):
            S.update(src=src, dst=dst, quota=quota)
            yield


if __name__ == '__main__':
    tap.main(table_tests(), setup=setup, requires=('dovecot',))
