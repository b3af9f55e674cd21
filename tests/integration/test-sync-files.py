#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The files `mailhaul sync` reads and writes, as an admin points them at things: the report
to /dev/stdout, a FIFO or a symbolic link (written through, never replaced), an output file
in a directory that does not exist (refused before anything connects, exit 73), a damaged
state file (set aside and rebuilt, nothing copied twice), and password files that are FIFOs, devices, readable by others or without a line break (refused or
warned about, never read without end)."""
import contextlib
import json
import os
import shutil
import stat
import tempfile
import threading

from mhtest import certs, cleanup, cli, corpus, dovecot, synctest, tap

PW = 'Files-pw-5150'
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={'alice': PW}, separator='/')
        dst = dovecot.Dovecot(pki, users={'bob': PW}, separator='.')
        with dovecot.running(src, dst):
            c = corpus.generate(seed=9, scale=40, mix=corpus.SMALL_MIX)
            corpus.load(src, 'alice', c.folders, fast=True)
            S.update(src=src, dst=dst, corpus=c)
            yield


def job(name):
    return synctest.Job(S['src'], 'alice', S['dst'], 'bob', name=name)


def run(j, *extra):
    return cli.run(['sync'] + j.account_args() + ['--state', j.state, '--quiet'] +
                   [str(a) for a in extra])


def tmpdir():
    d = tempfile.mkdtemp(prefix='mhtest-files-')
    cleanup.register(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


@tap.test
def report_to_dev_stdout_is_printed():
    j = job('stdout')
    r = run(j, '--report', '/dev/stdout')
    tap.eq(r.code, 0, 'exit code\n%s' % r)
    start = r.stdout.find('{')
    tap.check(start >= 0, 'no JSON report on stdout\n%s' % r)
    report, _ = json.JSONDecoder().raw_decode(r.stdout[start:])
    tap.eq(report['totals']['source_messages'], S['corpus'].messages,
           'source messages per the report')


@tap.test
def report_into_a_fifo_leaves_a_fifo():
    d = tmpdir()
    fifo = os.path.join(d, 'report.fifo')
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo) as f:
            got['text'] = f.read()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    r = run(job('fifo'), '--report', fifo)
    t.join(30)
    tap.eq(r.code, 0, 'exit code\n%s' % r)
    tap.check(stat.S_ISFIFO(os.lstat(fifo).st_mode), 'the FIFO was replaced by a %o' %
              os.lstat(fifo).st_mode)
    tap.check('"totals"' in got.get('text', ''), 'the reader got no report: %r' %
              got.get('text', '')[:200])


@tap.test
def report_through_a_symlink_keeps_the_link():
    d = tmpdir()
    target = os.path.join(d, 'reports', 'latest.json')
    os.mkdir(os.path.dirname(target))
    with open(target, 'w') as f:
        f.write('old')
    link = os.path.join(d, 'report.json')
    os.symlink(target, link)
    r = run(job('link'), '--report', link)
    tap.eq(r.code, 0, 'exit code\n%s' % r)
    tap.check(os.path.islink(link), 'the symbolic link was replaced by a file')
    with open(target) as f:
        tap.check('"totals"' in f.read(), 'the link target does not hold the report')


@tap.test
def output_in_a_missing_directory_is_refused_before_connecting():
    d = tmpdir()
    for opt in ('--report', '--log', '--state'):
        path = os.path.join(d, 'no-such-dir', 'deeper', 'file')
        j = job('missing' + opt)
        args = ['sync'] + j.account_args() + ['--quiet', opt, path]
        if opt != '--state':
            args += ['--state', j.state]
        r = cli.run(args)
        want = 73 if opt != '--state' else None
        if want is not None:
            tap.eq(r.code, want, '%s in a missing directory: exit code\n%s' % (opt, r))
        else:
            tap.check(r.code in (1, 73), '--state in a missing directory: exit code\n%s' % r)
        tap.check('no-such-dir' in r.stderr and 'does not exist' in r.stderr,
                  '%s: the error does not name the missing directory\n%s' % (opt, r))
        tap.check(not os.path.exists(os.path.join(d, 'no-such-dir')),
                  '%s created the missing directory' % opt)
        tap.check('Connected' not in r.stdout + r.stderr and 'log:' not in r.stderr,
                  '%s: the run went on before refusing\n%s' % (opt, r))


@tap.test
def damaged_state_is_set_aside_and_rebuilt():
    j = job('damaged')
    first = run(j, '--report', os.path.join(j.dir, 'first.json'))
    tap.eq(first.code, 0, 'first sync\n%s' % first)
    for garbage in (b'\0' * 100, b'SQLite format 3\0' + b'\xff' * 4000):
        for suffix in ('-wal', '-shm'):
            if os.path.exists(j.state + suffix):
                os.unlink(j.state + suffix)
        with open(j.state, 'wb') as f:
            f.write(garbage)
        report = os.path.join(j.dir, 'again.json')
        r = run(j, '--report', report)
        tap.eq(r.code, 0, 'sync with a damaged state file\n%s' % r)
        warn = [l for l in r.stderr.splitlines() if 'damaged' in l]
        tap.check(len(warn) == 1 and 'kept as' in warn[0] and 'none is copied again' in warn[0],
                  'no single warning naming the kept copy\n%s' % r)
        kept = [n for n in os.listdir(j.dir) if n.startswith('state.sqlite.damaged-')]
        tap.check(kept, 'the damaged file was not kept next to the state')
        with open(report) as f:
            totals = json.load(f)['totals']
        tap.eq(totals['copied'], 0, 'copied after the state was rebuilt')
        tap.eq(totals['missing'], 0, 'missing after the state was rebuilt')
        tap.eq(totals['extra'], 0, 'extra after the state was rebuilt')
        for n in kept:
            os.unlink(os.path.join(j.dir, n))


@tap.test
def passfiles_that_are_not_files():
    d = tmpdir()
    fifo = os.path.join(d, 'pass.fifo')
    os.mkfifo(fifo)
    long_line = os.path.join(d, 'long')
    with open(long_line, 'w') as f:
        f.write('x' * 10000)
    os.chmod(long_line, 0o600)
    for path, code, words in ((fifo, 66, 'not a regular file'),  # no writer: must not hang
                              ('/dev/urandom', 66, 'not a regular file'),
                              ('/dev/null', 66, 'not a regular file'),
                              (d, 66, 'not a regular file'),
                              (long_line, 64, 'no line break')):
        args = ['check', '--host', S['src'].host, '--port', S['src'].port('ssl'), '--ssl',
                '--cafile', S['src'].cafile, '--user', 'alice', '--passfile', path]
        r = cli.run(args, timeout=20)
        cli.expect_error(r, code, words)


@tap.test
def passfile_readable_by_others_is_used_with_a_warning():
    d = tmpdir()
    path = os.path.join(d, 'pass')
    with open(path, 'w') as f:
        f.write(PW + '\n')
    os.chmod(path, 0o644)
    r = cli.run(['check', '--host', S['src'].host, '--port', S['src'].port('ssl'), '--ssl',
                 '--cafile', S['src'].cafile, '--user', 'alice', '--passfile', path])
    tap.eq(r.code, 0, 'exit code\n%s' % r)
    tap.check('can be read by other users' in r.stderr and 'chmod 600' in r.stderr,
              'no warning about the readable password file\n%s' % r)
    tap.check(PW not in r.stderr + r.stdout, 'the password appears in the output')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot', 'doveadm', 'openssl'))
