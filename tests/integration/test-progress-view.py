#!/usr/bin/env python3
"""The progress view of `mailhaul sync`, as a user sees it in a terminal.

A real sync between two Dovecots (2,000 small messages in four folders, slowed down with
--pace so that it lasts a few seconds) runs in a real terminal: a private tmux server, at
80 columns and then at 60. The pane is captured several times during the run and once at
the end (tmux capture-pane -p -J: lines the terminal wrapped come back joined, so a line
wider than the pane shows as one). Checked: no line is wider than the pane; the totals line
shows the right number of messages from the first capture on (from LIST-STATUS, and from
pipelined STATUS on a source without LIST-STATUS); several folders have a line each; never
"0/0"; warnings (the source's connections are kicked mid-run with doveadm kick) stay above
the view; at the end nothing of the view is left, only the log line, the warnings, the final
table and the summary with the elapsed time. Then stderr not a terminal (plain lines at a
bounded rate), `mailhaul batch` with the same view, --progress=none, a bad --progress, and
--justfolders' table.
"""
import contextlib
import os
import re
import shlex
import subprocess
import threading
import time
import uuid

from mhtest import certs, cli, dovecot, imapcheck, synctest, tap

S = {}
FOLDERS = {'INBOX': 800, 'Archive': 600, 'Sent': 400, 'Work/Projects': 200}
TOTAL = sum(FOLDERS.values())
PACE = 100          # messages a second per connection: a run of about 7 s with 3 jobs
JOBS = 3
# Dovecot 2.3's capabilities without LIST-STATUS (a source like Courier, which lacks it).
NO_LIST_STATUS = ('IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY '
                  'THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL '
                  'CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 '
                  'CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH '
                  'SPECIAL-USE BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW '
                  'LITERAL+ NOTIFY')
TOTALS_RE = re.compile(r'folders (\d+)/(\d+), (\d+)/(\d+) msgs')
VIEW_RE = re.compile(r'msgs/s|folders \d+/\d+, |: listing$|: nothing to copy$|connecting, listing|'
                     r'\d+/\d+ msgs')
ZERO_RE = re.compile(r'(?<![\d.])0/0(?![\d.])')
# Lines printed once, as they are, above the view: the terminal wraps them like any text.
AS_IS = ('mailhaul: log: ', 'mailhaul: warning: ')
DST_USERS = ('w80', 'w60', 'plain', 'none', 'jf', 'bad', 'b1', 'b2')
BATCH_VIEW_RE = re.compile(r'^rows: |^  \S+ -> \S+  ')


def corpus():
    folders, n = {}, 0
    for name, count in FOLDERS.items():
        folders[name] = [imapcheck.make_message(n + i) for i in range(count)]
        n += count
    return folders


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={'alice': 'pw-src'}, separator='/')
        bare = dovecot.Dovecot(pki, users={'alice': 'pw-src'}, separator='/',
                               imap_capability=NO_LIST_STATUS)
        dst = dovecot.Dovecot(pki, users={u: 'pw-' + u for u in DST_USERS}, separator='.')
        with dovecot.running(src, bare, dst):
            mail = corpus()
            src.preload_fast('alice', mail)
            bare.preload_fast('alice', mail)
            S.update(src=src, bare=bare, dst=dst, dir=synctest.workdir('progress-view'))
            yield


def sync_args(src, dst_user, *extra):
    directory = os.path.join(S['dir'], dst_user + '-' + uuid.uuid4().hex[:6])
    os.makedirs(directory)
    job = synctest.Job(src, 'alice', S['dst'], dst_user, directory=directory)
    return job, ['sync'] + job.account_args() + [
        '--state', job.state, '--log', os.path.join(job.dir, 'sync.log'),
        '--jobs', str(JOBS), '--pace', str(PACE)] + list(extra)


class Pane:
    """A private tmux server with one pane of the given size running a command."""

    def __init__(self, width, height=30):
        self.width, self.height = width, height
        self.sock = 'mhtest-progress-%d-%s' % (os.getpid(), uuid.uuid4().hex[:6])
        self.conf = os.path.join(S['dir'], self.sock + '.conf')
        with open(self.conf, 'w') as f:
            f.write('set -g history-limit 50000\nset -g status off\n')

    def tmux(self, *args, check=True):
        return subprocess.run(['tmux', '-L', self.sock, '-f', self.conf] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              check=check, timeout=30)

    def start(self, argv):
        env = cli.environment()
        script = os.path.join(S['dir'], self.sock + '.sh')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\n')
            for k in ('LC_ALL', 'HOME', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME',
                      'XDG_DATA_HOME', 'XDG_RUNTIME_DIR', 'ASAN_OPTIONS', 'UBSAN_OPTIONS',
                      'LSAN_OPTIONS', 'PATH'):
                if k in env:
                    f.write('export %s=%s\n' % (k, shlex.quote(env[k])))
            f.write('%s\necho "__EXIT $?"\nexec sleep 600\n' % shlex.join(argv))
        os.chmod(script, 0o755)
        self.tmux('new-session', '-d', '-x', str(self.width), '-y', str(self.height),
                  '-s', 'mh', script)

    def capture(self, history=False):
        args = ['capture-pane', '-p', '-J', '-t', 'mh']
        if history:
            args += ['-S', '-', '-E', '-']
        return self.tmux(*args).stdout

    def stop(self):
        self.tmux('kill-server', check=False)


def wide_lines(text, width):
    return [line for line in text.splitlines()
            if len(line.rstrip()) > width and not line.startswith(AS_IS)]


def run_in_pane(width, src, dst_user, kick=False, argv=None):
    """Runs a sync (or @argv) in a pane of @width columns; returns (captures during the
    run, the whole pane at the end, exit code, seconds)."""
    job, args = sync_args(src, dst_user)
    if argv is not None:
        args = argv
    pane = Pane(width)
    captures, kicked = [], False
    t0 = time.monotonic()
    try:
        pane.start([cli.binary()] + args)
        while time.monotonic() - t0 < 120:
            text = pane.capture()
            if '__EXIT' in text:
                break
            captures.append(text)
            m = TOTALS_RE.search(text)
            if kick and not kicked and m and int(m.group(3)) > TOTAL // 4:
                src.doveadm('kick', 'alice', check=False)
                kicked = True
            time.sleep(0.3)
        seconds = time.monotonic() - t0
        final = pane.capture(history=True)
    finally:
        pane.stop()
    m = re.search(r'__EXIT (\d+)', final)
    tap.check(m is not None, 'the run did not end within 120 s:\n' + final)
    return captures, final, int(m.group(1)), seconds, job


def check_pane(width, captures, final, code, job):
    tap.eq(code, 0, 'exit code (pane at the end:\n%s)' % final)
    with_totals = [c for c in captures if TOTALS_RE.search(c)]
    tap.diag('%d captures during the run, %d with a totals line' % (len(captures),
                                                                      len(with_totals)))
    tap.check(len(with_totals) >= 3, 'the view was seen at least 3 times during the run:\n'
              + '\n----\n'.join(captures))
    tap.diag('a capture during the run:\n' + with_totals[len(with_totals) // 2].rstrip())
    folders = set()
    for c in captures:
        tap.eq(wide_lines(c, width), [], 'lines wider than %d columns during the run' % width)
        tap.check(not ZERO_RE.search(c), 'a capture during the run shows 0/0:\n' + c)
        for m in TOTALS_RE.finditer(c):
            folders.add(int(m.group(2)))
            tap.eq(int(m.group(4)), TOTAL, 'messages in the totals line (capture:\n%s)' % c)
    tap.eq(len(folders), 1, 'the number of folders in the totals line never changed')
    busiest = max(len(re.findall(r'^  \S.*: (\d+/\d+ msgs|listing|nothing to copy)$', c, re.M))
                  for c in with_totals)
    tap.check(busiest >= 2, 'several folder workers had a line each at once')
    tap.check(busiest <= JOBS, 'no more worker lines than --jobs')
    tap.eq(wide_lines(final, width), [], 'lines wider than %d columns at the end' % width)
    left = [line for line in final.splitlines() if VIEW_RE.search(line)]
    tap.eq(left, [], 'lines of the view left in the pane at the end:\n' + final)
    tap.match(r'^mailhaul: log: ', final, 'the pane')
    tap.match(r'^Verdict: OK, all %d source messages' % TOTAL, final, 'the pane')
    tap.match(r'^Time: \d', final, 'the summary says how long the run took')
    # Nothing but the log line, warnings, the table and the summary.
    tap.diag('the pane at the end:\n' + final.rstrip())


@tap.test
def terminal_80_columns_with_warnings_above_the_view():
    captures, final, code, secs, job = run_in_pane(80, S['src'], 'w80', kick=True)
    tap.diag('run: %.1f s' % secs)
    check_pane(80, captures, final, code, job)
    warnings = [line for line in final.splitlines() if line.startswith('mailhaul: warning: ')]
    tap.check(len(warnings) >= 1, 'the kick was reported as a warning above the view')
    # The wide table needs more than 80 columns here: the narrow layout, a folder a line.
    tap.match(r'^Work/Projects -> Work.Projects\n  Src 200 msgs ', final, 'the pane')


@tap.test
def terminal_60_columns_without_list_status():
    captures, final, code, secs, job = run_in_pane(60, S['bare'], 'w60')
    tap.diag('run: %.1f s' % secs)
    check_pane(60, captures, final, code, job)
    tap.not_contains('Src msgs  Src size', final, 'the 60-column pane (narrow layout)')


@tap.test
def batch_shares_the_view():
    """Two rows of `mailhaul batch` at once in an 80-column pane: a line each with the
    row's total from its first count, the totals line, nothing left at the end."""
    d = os.path.join(S['dir'], 'batch')
    os.makedirs(d)
    pf1 = cli.write_passfile(d, 'pw-src', name='pf-src')
    lines = ['host1,user1,passfile1,port1,host2,user2,passfile2,port2,pace\r\n']
    for src, user in ((S['src'], 'b1'), (S['bare'], 'b2')):
        pf2 = cli.write_passfile(d, 'pw-' + user, name='pf-' + user)
        lines.append('127.0.0.1,alice,%s,%d,127.0.0.1,%s,%s,%d,%d\r\n' % (
            pf1, src.port('ssl'), user, pf2, S['dst'].port('ssl'), PACE))
    path = os.path.join(d, 'rows.csv')
    with open(path, 'w') as f:
        f.write(''.join(lines))
    os.chmod(path, 0o600)
    argv = ['batch', path, '--ssl1', '--ssl2', '--cafile1', S['src'].cafile,
            '--cafile2', S['dst'].cafile, '--dir', os.path.join(d, 'out'), '--jobs', '2']
    captures, final, code, secs, job = run_in_pane(80, S['src'], 'b1', argv=argv)
    tap.diag('run: %.1f s, %d captures; the pane at the end:\n%s' % (secs, len(captures),
                                                                       final.rstrip()))
    tap.eq(code, 0, 'exit code')
    rows = [m for c in captures for m in re.finditer(r'^  \S+ -> (\S+)  .* (\d+)/(\d+) msgs', c,
                                                    re.M)]
    tap.check(len(rows) >= 2, 'row lines with their counts during the run:\n'
              + '\n----\n'.join(captures))
    for m in rows:
        tap.eq(int(m.group(3)), TOTAL, 'the total of ' + m.group(1))
    for c in captures:
        tap.eq(wide_lines(c, 80), [], 'lines wider than 80 columns during the run')
    tap.eq(wide_lines(final, 80), [], 'lines wider than 80 columns at the end')
    tap.eq([line for line in final.splitlines() if BATCH_VIEW_RE.search(line)], [],
           'lines of the view left in the pane at the end')
    tap.match(r'^2 rows: 2 done', final, 'the pane')


@tap.test
def plain_lines_when_stderr_is_not_a_terminal():
    job, args = sync_args(S['bare'], 'plain')
    p = subprocess.Popen([cli.binary()] + args, env=cli.environment(),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    lines, t0 = [], time.monotonic()
    reader = threading.Thread(target=lambda: lines.extend(
        (time.monotonic() - t0, line.rstrip('\n')) for line in p.stderr))
    reader.start()
    out = p.stdout.read()
    code = p.wait(timeout=120)
    reader.join()
    secs = time.monotonic() - t0
    tap.eq(code, 0, 'exit code')
    progress = [(t, line) for t, line in lines if TOTALS_RE.search(line)]
    tap.diag('run %.1f s, %d progress lines:\n%s' % (
        secs, len(progress), '\n'.join('%5.1f %s' % p for p in progress)))
    tap.check(not any('\033' in line for _, line in lines), 'no escape sequences')
    tap.check(len(progress) >= 1, 'at least one progress line in a %.0f s run' % secs)
    tap.check(len(progress) <= secs / 4 + 1, 'at most one progress line every 4 s or so')
    for _, line in progress:
        tap.eq(int(TOTALS_RE.search(line).group(4)), TOTAL, 'messages in ' + line)
    tap.check(not any(ZERO_RE.search(line) for _, line in lines), 'stderr shows 0/0')
    tap.match(r'^Time: ', out, 'stdout')


@tap.test
def progress_none_prints_no_view():
    job, args = sync_args(S['src'], 'none', '--progress=none', '--folder', 'Work/Projects')
    r = cli.run(args, timeout=120)
    cli.expect_ok(r)
    tap.eq([line for line in r.stderr.splitlines() if VIEW_RE.search(line)], [],
           'progress lines on stderr')


@tap.test
def progress_bad_word_is_a_usage_error():
    job, args = sync_args(S['src'], 'bad', '--progress=fancy')
    r = cli.run(args)
    cli.expect_error(r, cli.EXIT_USAGE, '--progress', 'bar, plain or none')


@tap.test
def justfolders_prints_the_source_counts_from_the_listing():
    job, args = sync_args(S['bare'], 'jf', '--justfolders', '--quiet')
    r = cli.expect_ok(cli.run(args, timeout=120))
    rows, verdict = synctest.parse_table(r.stdout)
    tap.diag(r.stdout)
    for name, count in FOLDERS.items():
        row = [cells for label, cells in rows.items()
               if label == name or label.startswith(name + ' -> ')]
        tap.check(len(row) == 1, 'a row for ' + name)
        tap.eq(row[0][0], str(count), 'source messages of ' + name)
        tap.contains('not looked at', row[0], 'the row of ' + name)
    tap.match(r'^Verdict: folders only', r.stdout, 'stdout')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'tmux'))
