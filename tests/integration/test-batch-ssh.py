#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shards of one batch on three hosts through GNU parallel over SSH, as the README says.

The hosts are network namespaces on this machine, each with its own sshd (mhtest.sshhosts:
a private configuration, port and host key, key-only login, its own home directory bound
over /root); the two Dovecots listen on this machine's address on the hosts' network (a
bridge), so every host reaches them. The test plays the admin: a working directory with
accounts.csv (pass files by relative path), the pass files and the CA certificate, and a
hosts.txt; then

    parallel --sshloginfile hosts.txt --basefile accounts.csv --basefile pass ...
             --return mailhaul-batch-accounts-shard-{}-of-3
             mailhaul batch accounts.csv --shard {}/3 ... ::: 1 2 3

copies the inputs to each host (rsync over the same ssh), runs one shard per host, and
fetches each shard directory back with rsync (parallel's --return): the hosts share no
directory with the admin, as separate machines would not. The shard directories stay on the
hosts as well (they hold the rows' state for the next run). batch-report merges the fetched
directories; the independent checker compares every mailbox. A second run pins shard K to
host K (--hostgroups), so some shards move host and resync without their state: no message
may be copied twice.

The mailhaul binary is the build's (the hosts share this machine's file system, standing in
for mailhaul installed on each host). Needs root for the namespaces: skipped otherwise.
"""
import contextlib
import csv
import os
import re
import shutil
import subprocess

from mhtest import batchtest, certs, cli, dovecot, imapcheck, sshhosts, tap
from mhtest.batchtest import user

USERS = 24
SHARDS = 3
S = {}


def remote_command():
    ca = 'ca.pem'
    return ('%s batch accounts.csv --shard {}/%d --jobs 3 --quiet --ssl1 --ssl2 '
            '--cafile1 %s --cafile2 %s' % (os.path.abspath(cli.binary()), SHARDS, ca, ca))


def parallel(args, cwd, timeout=150):
    argv = (['parallel', '--ssh', 'ssh -F %s' % S['hosts'].ssh_config,
             '--rsync-opts', '-rlDzRp', '--basefile', 'accounts.csv', '--basefile', 'pass',
             '--basefile', 'ca.pem',
             '--return', 'mailhaul-batch-accounts-shard-{}-of-%d' % SHARDS,
             '--joblog', 'joblog.txt'] + args)
    try:
        return subprocess.run(argv, cwd=cwd, env=cli.environment(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        tap.fail('parallel did not finish within %d s\nstdout: %s\nstderr: %s' % (
            timeout, e.stdout, e.stderr))


def joblog(cwd):
    with open(os.path.join(cwd, 'joblog.txt')) as f:
        return list(csv.DictReader(f, delimiter='\t'))


def shard_dirs(cwd):
    return [os.path.join(cwd, 'mailhaul-batch-accounts-shard-%d-of-%d' % (k, SHARDS))
            for k in range(1, SHARDS + 1)]


def logins_from(dv):
    """The remote addresses Dovecot logged logins from."""
    return set(re.findall(r'Login: user=<[^>]*>.*?rip=([0-9.]+)', dv.log()))


@contextlib.contextmanager
def setup():
    with certs.TestPKI() as pki, sshhosts.SshHosts(SHARDS) as hosts:
        cert = pki.issue('gateway', ['IP:' + hosts.gateway])
        src = dovecot.Dovecot(pki, cert=cert,
                              users={user(i): batchtest.password(i, 1) for i in range(USERS)})
        dst = dovecot.Dovecot(pki, cert=cert, separator='.',
                              users={user(i): batchtest.password(i, 2) for i in range(USERS)})
        for dv in (src, dst):
            dv.host = hosts.gateway  # reachable from every host's namespace
        with dovecot.running(src, dst):
            for i in range(USERS):
                batchtest.write_inbox(src, user(i), [
                    imapcheck.make_message(100 * i + n, size=300 + 41 * n)
                    for n in range(1 + i % 6)])
            work = cli.scratch_dir()
            os.mkdir(os.path.join(work, 'pass'), 0o700)
            lines = [batchtest.HEADER]
            for i in range(USERS):
                for side in (1, 2):
                    cli.write_passfile(os.path.join(work, 'pass'), batchtest.password(i, side),
                                       name='%s.%d' % (user(i), side))
                lines.append(batchtest.row(i, hosts.gateway, 'pass/%s.1' % user(i),
                                           src.imaps_port, 'pass/%s.2' % user(i),
                                           dst.imaps_port))
            batchtest.write_csv(os.path.join(work, 'accounts.csv'), lines)
            shutil.copy(pki.ca, os.path.join(work, 'ca.pem'))
            with open(os.path.join(work, 'hosts.txt'), 'w') as f:
                f.writelines('1/%s\n' % name for name in hosts.names)
            S.update(pki=pki, hosts=hosts, src=src, dst=dst, work=work)
            yield


@tap.test
def hosts_answer_over_ssh_with_their_own_home():
    hosts = S['hosts']
    for i in range(1, SHARDS + 1):
        r = hosts.ssh(i, 'echo "$SSH_CONNECTION"; pwd; touch here-is-host%d' % i)
        tap.eq(r.returncode, 0, 'ssh to %s: %s' % (hosts.names[i - 1], r.stderr))
        tap.eq(r.stdout.split()[2], hosts.addresses[i - 1], 'the address it answers on')
        tap.check(os.path.exists(os.path.join(hosts.home(i), 'here-is-host%d' % i)),
                  'a file made there lands in its own home')
        os.unlink(os.path.join(hosts.home(i), 'here-is-host%d' % i))
    other = os.path.join(S['work'], 'other_key')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', other], check=True,
                   stdin=subprocess.DEVNULL, timeout=30)
    r = subprocess.run(['ssh', '-F', '/dev/null', '-i', other, '-o', 'IdentitiesOnly=yes',
                        '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
                        '-o', 'UserKnownHostsFile=/dev/null', '-p', str(hosts.port),
                        'root@' + hosts.addresses[0], 'true'],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    tap.check(r.returncode != 0, 'no login without the key')


@tap.test
def parallel_runs_one_shard_per_host_and_fetches_them():
    hosts, work = S['hosts'], S['work']
    r = parallel(['--sshloginfile', 'hosts.txt', remote_command(), ':::', '1', '2', '3'], work)
    tap.diag('parallel: exit %d' % r.returncode)
    tap.eq(r.returncode, 0, 'parallel exit code (failed jobs)\nstdout: %s\nstderr: %s' % (
        r.stdout[-3000:], r.stderr[-3000:]))
    jobs = joblog(work)
    tap.eq(sorted(j['Exitval'] for j in jobs), ['0'] * SHARDS, 'exit codes of the shards')
    tap.eq(sorted(j['Host'] for j in jobs), sorted(hosts.names), 'one shard on each host')
    placed = {}
    for i in range(1, SHARDS + 1):
        found = [n for n in os.listdir(hosts.home(i)) if n.startswith('mailhaul-batch-')]
        tap.eq(len(found), 1, 'shard directories on %s: %r' % (hosts.names[i - 1], found))
        placed[i] = int(re.search(r'shard-(\d+)-of', found[0]).group(1))
        mode = os.stat(os.path.join(hosts.home(i), 'pass', '%s.1' % user(0))).st_mode & 0o777
        tap.eq(oct(mode), oct(0o600), 'a pass file on %s keeps its mode' % hosts.names[i - 1])
    tap.eq(sorted(placed.values()), list(range(1, SHARDS + 1)), 'shards on the hosts')
    S['placed'] = placed
    rows = 0
    for k, d in enumerate(shard_dirs(work), 1):
        tap.check(os.path.isdir(d), 'shard %d fetched back' % k)
        s = batchtest.summary(d)
        tap.eq((s['shard'], s['shards']), (k, SHARDS), 'shard of %s' % d)
        tap.eq([x['status'] for x in s['rows']], ['done'] * len(s['rows']), 'shard %d' % k)
        rows += len(s['rows'])
    tap.eq(rows, USERS, 'rows over all shards')


@tap.test
def logins_came_from_the_three_hosts():
    hosts = S['hosts']
    for dv in (S['src'], S['dst']):
        tap.eq(logins_from(dv), set(hosts.addresses), 'addresses of the logins')


@tap.test
def report_merges_every_row_exactly_once():
    work = S['work']
    merged = os.path.join(work, 'merged')
    r = cli.expect_ok(cli.run(['batch-report', '--output', merged] + shard_dirs(work)))
    rows = batchtest.summary(merged)['rows']
    tap.eq(sorted(x['line'] for x in rows), list(range(2, USERS + 2)), 'lines of the report')
    tap.eq({x['status'] for x in rows}, {'done'}, 'statuses')
    tap.contains('%d rows: %d done' % (USERS, USERS), r.stdout, 'the table')
    S['copied'] = sum(x['messages_copied'] for x in rows)
    tap.check(S['copied'] > 0, 'messages were copied')


@tap.test
def every_mailbox_is_identical():
    batchtest.check_identical(S['src'], S['dst'], range(USERS))


@tap.test
def pinned_rerun_moves_shards_without_copying_twice():
    hosts, work = S['hosts'], S['work']
    groups = os.path.join(work, 'hostgroups.txt')
    with open(groups, 'w') as f:
        f.writelines('@s%d/1/%s\n' % (i, name) for i, name in enumerate(hosts.names, 1))
    args = ['%d@s%d' % (k, k) for k in range(1, SHARDS + 1)]
    r = parallel(['--hostgroups', '--sshloginfile', 'hostgroups.txt', remote_command(),
                  ':::'] + args, work)
    tap.eq(r.returncode, 0, 'parallel exit code\nstderr: %s' % r.stderr[-3000:])
    jobs = joblog(work)[-SHARDS:]
    tap.eq(sorted((j['Host'], j['Command'].split('--shard ')[1].split('/')[0]) for j in jobs),
           [(name, str(k)) for k, name in enumerate(hosts.names, 1)], 'shard K on host K')
    moved = sum(1 for i, k in S['placed'].items() if i != k)
    tap.diag('%d of %d shards moved to another host' % (moved, SHARDS))
    merged = os.path.join(work, 'merged2')
    cli.expect_ok(cli.run(['batch-report', '--output', merged] + shard_dirs(work)))
    rows = batchtest.summary(merged)['rows']
    tap.eq({x['status'] for x in rows}, {'done'}, 'statuses')
    tap.eq(sum(x['messages_copied'] for x in rows), 0, 'messages copied again')
    batchtest.check_identical(S['src'], S['dst'], range(USERS))


@tap.test
def hosts_leave_nothing_behind():
    hosts = S['hosts']
    hosts.stop()
    tap.eq(hosts.leftovers(), [], 'namespaces, links, processes and files left')


if __name__ == '__main__':
    reason = sshhosts.missing()
    if reason:
        tap.skip_all(reason)
    tap.main(setup=setup, requires=('dovecot', 'doveadm'))
