#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Named jobs and the systemd user units that run them, between two real Dovecots:
`mailhaul sync --job NAME` with the job in the user's config file (copies everything,
reports to $XDG_STATE_HOME/mailhaul/reports/NAME.json, reruns with nothing to do), options
of the command line over the job's, a bad job key named with file and line, and the units
as `meson install` puts them into a DESTDIR: checked with `systemd-analyze verify`, then
the service's ExecStart line (with %i replaced) run as systemd would, with no terminal:
a good job succeeds, a job with a wrong password or none fails at once with its exit code
instead of waiting for a prompt."""
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile

from mhtest import certs, cleanup, cli, compare, corpus, dovecot, synctest, tap

PW1, PW2 = 'Job-src-pw-3310', 'Job-dst-pw-7702'
BUILD = os.environ['MH_BUILD_ROOT']
S = {}


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki:
        src = dovecot.Dovecot(pki, users={'alice': PW1}, separator='/')
        dst = dovecot.Dovecot(pki, users={'alice': PW2, 'bob': PW2, 'carol': PW2},
                              separator='.')
        with dovecot.running(src, dst):
            c = corpus.generate(seed=4242, scale=60, mix=corpus.SMALL_MIX)
            corpus.load(src, 'alice', c.folders, fast=True)
            dest, dirs = cli.meson_install(BUILD, 'mhtest-units-')
            S.update(src=src, dst=dst, corpus=c, dest=dest, dirs=dirs,
                     dir=synctest.workdir('jobs'))
            yield


def home(*parts):
    return os.path.join(cli.environment()['HOME'], *parts)


def job_section(name, dst_user, **extra):
    src, dst, d = S['src'], S['dst'], S['dir']
    pass1 = cli.write_passfile(d, PW1, 'pass1')
    pass2 = cli.write_passfile(d, PW2, 'pass2')
    keys = {
        'host1': src.host, 'port1': src.port('ssl'), 'ssl1': 'true', 'user1': 'alice',
        'passfile1': pass1, 'cafile1': src.cafile,
        'host2': dst.host, 'port2': dst.port('ssl'), 'ssl2': 'yes', 'user2': dst_user,
        'passfile2': pass2, 'cafile2': dst.cafile,
        'state': os.path.join(d, name + '.state'), 'log': os.path.join(d, name + '.log'),
    }
    keys.update(extra)
    return '[job %s]\n' % name + ''.join('%s = %s\n' % (k, v) for k, v in keys.items()
                                         if v is not None)


def write_config(*sections):
    """The user's own config file, where the units (and cron) find the jobs."""
    path = home('config', 'mailhaul', 'config.ini')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('# written by test-sync-job\n' + '\n'.join(sections))
    return path


def default_report(name):
    return home('state', 'mailhaul', 'reports', name + '.json')


def read_report(path):
    with open(path) as f:
        return json.load(f)


@tap.test
def job_copies_everything_and_reports_where_documented():
    write_config(job_section('alice', 'alice', exclude='^NoSuchFolder$'))
    r = cli.run(['sync', '--job', 'alice', '--quiet'], timeout=180)
    tap.eq(r.code, 0, 'sync --job alice\n%s' % r)
    report = read_report(default_report('alice'))
    tap.eq(report['totals']['source_messages'], S['corpus'].messages, 'source messages')
    tap.eq(report['totals']['copied'], S['corpus'].messages, 'copied')
    tap.eq(report['totals']['missing'], 0, 'missing')
    c, _, _ = compare.compare_servers(S['src'], 'alice', S['dst'], 'alice')
    tap.check(c.ok, 'the destination differs from the source:\n' + c.text())
    tap.check(os.path.exists(os.path.join(S['dir'], 'alice.log')), 'the job\'s log key')
    r = cli.run(['sync', '--job', 'alice', '--quiet'], timeout=180)
    tap.eq(r.code, 0, 'second run\n%s' % r)
    tap.eq(read_report(default_report('alice'))['totals']['copied'], 0, 'copied on a rerun')


@tap.test
def command_line_wins_over_the_job():
    report = os.path.join(S['dir'], 'override.json')
    write_config(job_section('bob', 'bob', report=os.path.join(S['dir'], 'bob-own.json'),
                             folder='Sent;Drafts'))
    r = cli.run(['sync', '--job', 'bob', '--dry', '--folder', 'INBOX', '--report', report,
                 '--quiet'], timeout=180)
    tap.eq(r.code, 1, 'a dry run that would copy exits 1\n%s' % r)
    folders = [f['source'] for f in read_report(report)['folders']]
    tap.eq(folders, ['INBOX'], 'folders of the run (--folder INBOX, not the job\'s)')
    tap.check(not os.path.exists(os.path.join(S['dir'], 'bob-own.json')),
              'the job\'s report key was used despite --report')
    bob = compare.take(S['dst'], 'bob', label='bob')
    tap.eq(sum(len(v) for v in bob.messages.values()), 0, 'messages after a dry run')


@tap.test
def a_bad_job_key_is_named_with_file_and_line():
    path = write_config(job_section('carol', 'carol'), '[job typo]\nsource = generic:x\n'
                        'delete_2 = true\n')
    r = cli.run(['sync', '--job', 'typo'])
    cli.expect_error(r, cli.EXIT_USAGE, '%s:' % path, '[job typo] delete_2: unknown key')
    write_config('[job helpful]\nhelp = true\n')
    r = cli.run(['sync', '--job', 'helpful'])
    cli.expect_error(r, cli.EXIT_USAGE, '[job helpful] help: not allowed in a job')
    r = cli.run(['sync', '--job', 'nosuch'])
    cli.expect_error(r, cli.EXIT_USAGE, "no job 'nosuch'")


def unit_file(name):
    return os.path.join(S['dest'] + S['dirs']['prefix'], 'lib', 'systemd', 'user', name)


def installed_binary():
    return os.path.join(S['dest'] + S['dirs']['prefix'], S['dirs']['bindir'], 'mailhaul')


@tap.test
def units_pass_systemd_analyze_verify():
    if shutil.which('systemd-analyze') is None:
        tap.skip('systemd-analyze is not installed (Debian package systemd)')
    d = tempfile.mkdtemp(prefix='mhtest-verify-')
    cleanup.register(lambda: shutil.rmtree(d, ignore_errors=True))
    bindir = os.path.join(S['dirs']['prefix'], S['dirs']['bindir'])
    # The instance a user enables, its ExecStart pointing at the DESTDIR's binary (verify
    # checks that it is executable) and man finding the DESTDIR's pages (Documentation=).
    for kind in ('service', 'timer'):
        with open(unit_file('mailhaul-sync@.' + kind)) as f:
            text = f.read().replace(bindir + '/mailhaul', installed_binary())
        with open(os.path.join(d, 'mailhaul-sync@alice.' + kind), 'w') as f:
            f.write(text)
    env = dict(os.environ, MANPATH=os.path.join(S['dest'] + S['dirs']['prefix'],
                                                S['dirs']['mandir']))
    r = subprocess.run(['systemd-analyze', 'verify', os.path.join(d, 'mailhaul-sync@alice.service'),
                        os.path.join(d, 'mailhaul-sync@alice.timer')],
                       capture_output=True, text=True, env=env, timeout=60)
    tap.eq(r.returncode, 0, 'systemd-analyze verify exit code\n%s%s' % (r.stdout, r.stderr))
    tap.eq((r.stdout + r.stderr).strip(), '', 'systemd-analyze verify says')


def exec_start(instance):
    """The service's ExecStart for @instance, as systemd runs it (%i replaced)."""
    with open(unit_file('mailhaul-sync@.service')) as f:
        lines = [l for l in f.read().splitlines() if l.startswith('ExecStart=')]
    tap.eq(len(lines), 1, 'ExecStart lines')
    argv = shlex.split(lines[0][len('ExecStart='):].replace('%i', instance))
    bindir = os.path.join(S['dirs']['prefix'], S['dirs']['bindir'])
    tap.eq(argv[0], bindir + '/mailhaul', 'the program the unit runs')
    return [installed_binary()] + argv[1:]


def run_unit(instance, timeout=180):
    """Runs the unit's command as systemd does: no terminal, stdin from /dev/null."""
    p = subprocess.run(exec_start(instance), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, env=cli.environment(), timeout=timeout)
    return p


@tap.test
def the_service_resyncs_the_job():
    write_config(job_section('carol', 'carol'))
    p = run_unit('carol')
    tap.eq(p.returncode, 0, 'the unit\'s command\n%s%s' % (p.stdout, p.stderr))
    report = read_report(default_report('carol'))
    tap.eq(report['totals']['copied'], S['corpus'].messages, 'copied by the unit')
    p = run_unit('carol')
    tap.eq(p.returncode, 0, 'the unit again\n%s%s' % (p.stdout, p.stderr))
    tap.eq(read_report(default_report('carol'))['totals']['copied'], 0, 'copied on a rerun')


@tap.test
def the_service_fails_fast_without_a_password():
    nopass = job_section('nopass', 'carol', passfile2=None)
    wrong_file = cli.write_passfile(S['dir'], 'not-the-password', 'wrong')
    wrong = job_section('wrong', 'carol', passfile2=wrong_file)
    write_config(nopass, wrong)
    p = run_unit('nopass', timeout=60)
    tap.eq(p.returncode, cli.EXIT_USAGE, 'no password, no terminal\n%s' % p.stderr)
    tap.contains('no password for carol', p.stderr, 'the error line')
    p = run_unit('wrong', timeout=120)
    tap.eq(p.returncode, cli.EXIT_AUTH, 'a wrong password\n%s' % p.stderr)
    tap.contains('mailhaul: error: ', p.stderr, 'the error line')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dovecot',))
