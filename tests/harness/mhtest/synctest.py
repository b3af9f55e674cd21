# SPDX-License-Identifier: MIT
"""Running `mailhaul sync` / `mailhaul verify` between two harness servers, and the small IMAP
edits the sync tests make on either side (with imaplib, never with mailhaul).

    job = synctest.Job(src, 'alice', dst, 'bob', name='full')  # pass files, state, report, log
    r = job.run()                          # a SyncResult: cli.Result + .report + .table
    r = job.run('--dry')                   # extra options after the account options
    r = job.run(command='verify', state=False)   # verify takes no --state
    p = job.start('--jobs', '2')           # a Popen, for kill tests; job.finish(p) -> result
    signal_at_count(p, dst, n)             # SIGKILL once the destination receives n messages
    r.report['totals']['copied'], r.folder('Work/Clients')['copied'], r.table['INBOX']

Each Job has its own state file (--state) and writes the report and log next to it; the log
path is part of every failure message. MHTEST_KEEP=DIR keeps work directories under DIR.

Edits with imaplib (the checker's side, never mailhaul): uids, expunge_uids (UID EXPUNGE,
so other \\Deleted messages stay), store_flags, status, recreate_folder (new UIDVALIDITY, same
messages), subscriptions, add_messages. Checks collects several assertions of one test and
fails once with all of them (and the runs attached), so one test shows every deviation.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from . import cleanup, cli, corpus, imapcheck, tap

EXIT_DIFFERENCES = 1
EXIT_FAILED = 111
EXIT_QUOTA = 113
EXIT_REFUSED = 114
EXIT_INTERRUPTED = 130


def workdir(name):
    """A private directory for one test case (removed at exit unless MHTEST_KEEP is set)."""
    keep = os.environ.get('MHTEST_KEEP')
    if keep:
        os.makedirs(keep, exist_ok=True)
        return tempfile.mkdtemp(prefix=name + '-', dir=keep)
    d = tempfile.mkdtemp(prefix='mhtest-%s-' % name)
    cleanup.register(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


class SyncResult(cli.Result):
    """cli.Result plus the parsed JSON report (.report, None if absent) and the table."""

    def __init__(self, result, report_path, log_path):
        super().__init__(result.args, result.code, result.out_bytes, result.err_bytes,
                         result.seconds)
        self.report_path = report_path
        self.log_path = log_path
        self.report = None
        self.report_error = None
        if report_path and os.path.exists(report_path):
            try:
                with open(report_path) as f:
                    self.report = json.load(f)
            except ValueError as e:
                self.report_error = str(e)
        self.table, self.verdict = parse_table(self.stdout)

    def folder(self, source):
        """The report's entry for source folder `source` (tap.fail if there is none)."""
        rep = self.need_report()
        for f in rep.get('folders', []):
            if f.get('source') == source:
                return f
        tap.fail('the report has no folder %r\n%s' % (source, self))

    def need_report(self):
        if self.report is None:
            tap.fail('no JSON report at %s (%s)\n%s' % (self.report_path,
                                                         self.report_error or 'missing', self))
        return self.report

    @property
    def totals(self):
        return self.need_report().get('totals', {})

    def everything_said(self):
        """stderr and the log file of the run, as one text."""
        try:
            with open(self.log_path, errors='replace') as f:
                log = f.read()
        except (OSError, TypeError):
            log = ''
        return self.stderr + '\n' + log

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, errors='replace') as f:
                data = f.read().splitlines()
            return '--- log %s (last %d lines) ---\n%s\n' % (self.log_path, lines,
                                                          '\n'.join(data[-lines:]))
        except (OSError, TypeError):
            return '(no log at %s)\n' % self.log_path

    def __str__(self):
        return super().__str__() + '\nreport: %s\n%s' % (self.report_path, self.log_tail())


def parse_table(stdout):
    """({row label: [cells]}, verdict line or None) from the verification table.

    The header line starts with 'Folder'; rows follow until 'Total' (included). A row label
    is the folder name or 'SRC -> DST'; cells are split on runs of two or more spaces."""
    rows, verdict, inside = {}, None, False
    for line in stdout.splitlines():
        if line.startswith('Verdict:'):
            verdict = line
        if line.startswith('Folder'):
            inside = True
            continue
        if not inside or not line.strip():
            continue
        if set(line.strip()) <= set('-=+ '):
            continue
        cells = re.split(r'\s{2,}', line.strip())
        rows[cells[0]] = cells[1:]
        if cells[0] == 'Total':
            inside = False
    return rows, verdict


class Job:
    """One source/destination account pair with its own pass files, state, report and log."""

    def __init__(self, src, src_user, dst, dst_user, directory=None, mode1='ssl', mode2='ssl',
                 name='sync'):
        self.src, self.src_user, self.dst, self.dst_user = src, src_user, dst, dst_user
        self.mode1, self.mode2 = mode1, mode2
        self.dir = directory or workdir(name)
        self.passfile1 = cli.write_passfile(self.dir, src.password(src_user), 'pass1')
        self.passfile2 = cli.write_passfile(self.dir, dst.password(dst_user), 'pass2')
        self.state = os.path.join(self.dir, 'state.sqlite')
        self.runs = 0

    def account_args(self):
        return ['--host1', self.src.host, '--port1', str(self.src.port(self.mode1)),
                '--' + self.mode1 + '1', '--user1', self.src_user, '--passfile1', self.passfile1,
                '--cafile1', self.src.cafile,
                '--host2', self.dst.host, '--port2', str(self.dst.port(self.mode2)),
                '--' + self.mode2 + '2', '--user2', self.dst_user, '--passfile2', self.passfile2,
                '--cafile2', self.dst.cafile]

    def args(self, *extra, command='sync', state=True):
        self.runs += 1
        tag = '%02d-%s' % (self.runs, command)
        self.report_path = os.path.join(self.dir, tag + '.report.json')
        self.log_path = os.path.join(self.dir, tag + '.log')
        args = ([command] if command else []) + self.account_args()
        if state:
            args += ['--state', self.state]
        args += ['--report', self.report_path, '--log', self.log_path, '--quiet']
        return args + [str(a) for a in extra]

    def run(self, *extra, command='sync', timeout=180, state=True):
        args = self.args(*extra, command=command, state=state)
        r = cli.run(args, timeout=timeout)
        return SyncResult(r, self.report_path, self.log_path)

    def start(self, *extra, command='sync'):
        """Start mailhaul in the background; returns a Popen (stdout/stderr to files)."""
        args = [cli.binary()] + self.args(*extra, command=command)
        out = open(os.path.join(self.dir, '%02d.stdout' % self.runs), 'wb')
        err = open(os.path.join(self.dir, '%02d.stderr' % self.runs), 'wb')
        p = subprocess.Popen(args, env=cli.environment(), stdin=subprocess.DEVNULL,
                             stdout=out, stderr=err)
        out.close()
        err.close()
        p.mh_args, p.mh_t0 = args, time.monotonic()
        p.mh_out, p.mh_err = out.name, err.name
        p.mh_report, p.mh_log = self.report_path, self.log_path
        handle = cleanup.register(lambda: _kill(p))
        p.mh_cleanup = handle
        return p

    def finish(self, p, timeout=180):
        """Wait for a process from start(); returns its SyncResult."""
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(p)
            tap.fail('mailhaul did not finish within %d s: %s' % (
                timeout, ' '.join(shlex.quote(a) for a in p.mh_args)))
        finally:
            cleanup.unregister(p.mh_cleanup)
        with open(p.mh_out, 'rb') as f:
            out = f.read()
        with open(p.mh_err, 'rb') as f:
            err = f.read()
        r = cli.Result(p.mh_args, p.returncode, out, err, time.monotonic() - p.mh_t0)
        return SyncResult(r, p.mh_report, p.mh_log)


def signal_at_count(p, server, count, sig=signal.SIGKILL, user=None, timeout=120.0):
    """Send sig to p (from Job.start) once server has at least count messages, stored or
    arriving (its received_count(user), counted on disk), unless p has ended before: while
    message count is coming in, in the middle of an APPEND. The kill tests time their
    signals by what has reached the destination rather than by the clock, so a busy machine
    moves neither the moment nor the chance of hitting a running process. Returns (p was
    still running and got sig, the count seen then)."""
    deadline = time.monotonic() + timeout
    seen = server.received_count(user)
    while seen < count and p.poll() is None:
        if time.monotonic() > deadline:
            _kill(p)
            tap.fail('the destination still has %d messages (waiting for %d) after %d s: '
                     '%s' % (seen, count, timeout, ' '.join(shlex.quote(a) for a in p.mh_args)))
        time.sleep(0.01)
        seen = server.received_count(user)
    if p.poll() is not None:
        return False, seen
    os.kill(p.pid, sig)
    return True, seen


def _kill(p):
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


# -- small edits with imaplib ---------------------------------------------------------------

def uids(conn, folder):
    """UIDs of folder in order (selects it read-write)."""
    imapcheck.select(conn, folder, readonly=False)
    typ, dat = conn.uid('SEARCH', 'ALL')
    if typ != 'OK':
        raise imapcheck.CheckError('UID SEARCH in %s: %r' % (folder, dat))
    return [int(x) for x in b' '.join(d for d in dat if d).split()]


def expunge_uids(conn, folder, uid_list):
    """Remove exactly these messages (UID STORE \\Deleted + UID EXPUNGE: other messages that
    carry \\Deleted stay)."""
    imapcheck.select(conn, folder, readonly=False)
    s = ','.join(str(u) for u in uid_list)
    for cmd in (('STORE', s, '+FLAGS.SILENT', '(\\Deleted)'), ('EXPUNGE', s)):
        typ, dat = conn.uid(*cmd)
        if typ != 'OK':
            raise imapcheck.CheckError('UID %s in %s: %r' % (cmd[0], folder, dat))


def flags_by_message_id(server, user, folder='INBOX'):
    """{Message-ID: flags} of user's folder on server, read with imaplib."""
    with imapcheck.session(server, user) as conn:
        return {re.search(rb'(?im)^Message-ID:\s*(\S+)', m['body']).group(1).decode():
                tuple(m['flags']) for m in imapcheck.fetch_messages(conn, folder)}


def store_flags(conn, folder, uid, add=(), remove=()):
    imapcheck.select(conn, folder, readonly=False)
    for op, flags in (('+FLAGS.SILENT', add), ('-FLAGS.SILENT', remove)):
        if flags:
            typ, dat = conn.uid('STORE', str(uid), op, '(%s)' % ' '.join(flags))
            if typ != 'OK':
                raise imapcheck.CheckError('UID STORE in %s: %r' % (folder, dat))


def status(conn, folder, items='UIDVALIDITY UIDNEXT MESSAGES'):
    """{item: int} from STATUS."""
    typ, dat = conn.status(imapcheck.quote(folder), '(%s)' % items)
    if typ != 'OK':
        raise imapcheck.CheckError('STATUS %s: %r' % (folder, dat))
    text = b' '.join(d[0] if isinstance(d, tuple) else d for d in dat if d is not None)
    inner = re.search(rb'\(([^()]*)\)\s*$', text).group(1).decode().split()
    return {inner[i]: int(inner[i + 1]) for i in range(0, len(inner) - 1, 2)}


def recreate_folder(conn, folder, tmp_suffix='-recreated'):
    """Give folder a new UIDVALIDITY with the same messages: copy them to a new folder,
    delete the old one and rename the new one into its place. Returns (old, new)
    UIDVALIDITY."""
    old = status(conn, folder)['UIDVALIDITY']
    tmp = folder + tmp_suffix
    imapcheck.create_folder(conn, tmp, subscribe=False)
    imapcheck.select(conn, folder, readonly=True)
    if status(conn, folder)['MESSAGES']:
        typ, dat = conn.uid('COPY', '1:*', imapcheck.quote(tmp))
        if typ != 'OK':
            raise imapcheck.CheckError('UID COPY %s: %r' % (folder, dat))
    conn.close()
    for cmd in (('delete', imapcheck.quote(folder)),
                ('rename', imapcheck.quote(tmp), imapcheck.quote(folder))):
        typ, dat = getattr(conn, cmd[0])(*cmd[1:])
        if typ != 'OK':
            raise imapcheck.CheckError('%s %s: %r' % (cmd[0].upper(), folder, dat))
    conn.subscribe(imapcheck.quote(folder))
    new = status(conn, folder)['UIDVALIDITY']
    return old, new


def subscriptions(conn):
    """Names of the subscribed folders (LSUB "" "*"), decoded."""
    typ, dat = conn.lsub('""', '*')
    if typ != 'OK':
        raise imapcheck.CheckError('LSUB: %r' % (dat,))
    names = []
    for entry in dat:
        if entry is None:
            continue
        if isinstance(entry, tuple):  # the name came as a literal
            names.append(imapcheck.mutf7_decode(entry[1]))
            continue
        m = re.match(rb'\([^)]*\) (?:NIL|"(?:[^"\\]|\\.)*") (.*)$', entry)
        if not m:
            continue
        raw = m.group(1)
        if raw.startswith(b'"'):
            raw = re.sub(rb'\\(.)', rb'\1', raw[1:-1])
        names.append(imapcheck.mutf7_decode(raw))
    return names


def add_messages(server, user, folders, zone='+0200'):
    """Append {folder: [imapcheck.Mail]} (creating folders); returns the expected Messages."""
    out = {}
    with imapcheck.session(server, user) as conn:
        for folder, mails in folders.items():
            if folder.upper() != 'INBOX':
                imapcheck.create_folder(conn, folder)
            out[folder] = [corpus.append_zoned(conn, folder, m, zone) for m in mails]
    return out


class Checks:
    """Assertions that are collected instead of stopping at the first one, so one test
    reports every deviation it saw: checks.eq(...), checks.check(...), then checks.done()."""

    def __init__(self):
        self.failures = []
        self.context = []

    def eq(self, got, expected, what):
        if got != expected:
            self.failures.append('%s: expected %r, got %r' % (what, expected, got))

    def check(self, cond, message):
        if not cond:
            self.failures.append(message)

    def code(self, r, expected, what='exit code'):
        if r.code != expected:
            self.failures.append('%s: expected %d, got %s' % (what, expected, r.code))
            self.attach(r)

    def attach(self, r):
        """Show r (a SyncResult) with the failures."""
        if r not in self.context:
            self.context.append(r)

    def done(self):
        if self.failures:
            tap.fail('\n'.join(self.failures) +
                     ''.join('\n\n%s' % r for r in self.context))
