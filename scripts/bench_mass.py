# SPDX-License-Identifier: MIT
"""Scenario (m) of scripts/bench: many small mailboxes, `mailhaul batch` against loops.

--mailboxes users (1,000 by default) on one source Dovecot (one passwd-file), each with 20 to
80 small (2-4 KB) messages in INBOX written straight as maildir files and indexed with one
`doveadm force-resync -F USERS`. One destination Dovecot holds, per source user, one empty
account for each way of migrating, so every way copies into empty mailboxes:

- `mailhaul batch --jobs 8` over a CSV of every pair (accounts b0001...);
- `xargs -P 8` of single `mailhaul sync` runs, one per pair (x0001...);
- a serial shell loop of single `mailhaul sync` runs (s0001...), timed on the first
  --serial-sample pairs and extrapolated to all when the sample is smaller (said so);
- imapsync's examples/sync_loop_unix.sh style loop (i0001...), on the same sample, when an
  `imapsync` command is installed (it is not a Debian package: skipped with a note).

Each destination is checked against the source by Dovecot itself (`doveadm mailbox status
messages vsize` for every user), not by mailhaul. Wall time, mailboxes/s, msgs/s and peak
RSS (GNU time: of the batch process; for xargs, of its largest child) are printed next to
the targets of issue 12: the batch no slower than xargs -P 8, at least 10x faster than the
serial loop, under 100 MB.
"""
import os
import random
import subprocess

from mhtest import dovecot

TARGET_RSS_MB = 100.0
TARGET_VS_SERIAL = 10.0
JOBS = 8
SRC_PW, DST_PW = 'mass-src-pw', 'mass-dst-pw'
WAYS = (('b', 'mailhaul batch --jobs %d' % JOBS), ('x', 'xargs -P %d, mailhaul sync' % JOBS),
        ('s', 'serial loop, mailhaul sync'), ('i', 'serial loop, imapsync'))


def _user(i):
    return 'u%04d' % i


class Mass:
    """The scenario; bench is scripts/bench.py's Bench (storage, pki, binary, args), tools
    its functions: timed, small_messages, cpu_busy, say, note."""

    def __init__(self, bench, tools):
        self.bench, self.t, self.a = bench, tools, bench.args
        self.n = self.a.mailboxes
        self.work = os.path.join(bench.storage.work, 'mass')
        os.mkdir(self.work, 0o700)
        self.rows = []  # (way, label, mailboxes, wall, rss, rc, extrapolated, check)
        self.problems = []

    # -- the mailboxes ----------------------------------------------------------------------

    def write_sources(self, src):
        mail = src._identities()[2]
        root = os.geteuid() == 0
        rng = random.Random(self.a.seed * 7919 + 12)
        self.msgs = self.bytes = 0
        users = os.path.join(self.work, 'users')
        with open(users, 'w') as f:
            f.writelines(_user(i) + '\n' for i in range(self.n))
        for i in range(self.n):
            maildir = os.path.join(src.user_home(_user(i)), 'Maildir')
            for d in ('', 'cur', 'new', 'tmp'):
                os.makedirs(os.path.join(maildir, d), 0o700, exist_ok=True)
            for d in (src.user_home(_user(i)), maildir, maildir + '/cur', maildir + '/new',
                      maildir + '/tmp'):
                if root:
                    os.chown(d, mail.pw_uid, mail.pw_gid)
            count = rng.randint(20, 80)
            for n, (body, flags, date) in enumerate(self.t.small_messages(i + 1, count)):
                letters = ''.join(sorted({'\\Seen': 'S', '\\Flagged': 'F', '\\Answered': 'R'}
                                         .get(x, '') for x in flags))
                path = os.path.join(maildir, 'cur', '%d.M%d.mass,S=%d,W=%d:2,%s' % (
                    1000000000 + n, n, len(body), len(body), letters))
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(fd, body)
                    if root:
                        os.fchown(fd, mail.pw_uid, mail.pw_gid)
                    os.utime(fd, (date, date))
                finally:
                    os.close(fd)
                self.msgs += 1
                self.bytes += len(body)
        p = subprocess.run(['doveadm', '-c', src.conf_path, 'force-resync', '-F', users,
                            'INBOX'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=1800)
        if p.returncode != 0:
            raise dovecot.DovecotError('doveadm force-resync failed: %s' %
                                       p.stdout.decode(errors='replace')[-2000:])

    def status(self, dv, prefix, count):
        """{source user index: (messages, vsize)} of INBOX by doveadm, for count users."""
        users = os.path.join(self.work, 'status-%s' % prefix)
        with open(users, 'w') as f:
            f.writelines(prefix + _user(i)[1:] + '\n' for i in range(count))
        p = subprocess.run(['doveadm', '-c', dv.conf_path, '-f', 'tab', 'mailbox', 'status',
                            '-F', users, 'messages vsize', 'INBOX'],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=1800)
        lines = p.stdout.decode(errors='replace').splitlines()
        if not lines:
            return {}
        head = lines[0].lower().split('\t')
        if 'username' not in head:
            raise dovecot.DovecotError('doveadm mailbox status: %r' % lines[:3])
        col = {name: head.index(name) for name in ('username', 'messages', 'vsize')}
        out = {}
        for line in lines[1:]:
            parts = line.split('\t')
            if len(parts) == len(head) and parts[col['username']][1:].isdigit():
                out[int(parts[col['username']][1:])] = (int(parts[col['messages']]),
                                                        int(parts[col['vsize']]))
        return out

    # -- the ways ---------------------------------------------------------------------------

    def sync_args(self, src, dst):
        args = []
        for side, dv, pf in (('1', src, self.pf_src), ('2', dst, self.pf_dst)):
            args += ['--host' + side, dv.host, '--port' + side, str(dv.imaps_port),
                     '--ssl' + side, '--cafile' + side, dv.cafile, '--passfile' + side, pf]
        return args

    def run_way(self, way, src, dst, count):
        label = dict(WAYS)[way]
        out = os.path.join(self.work, 'run-%s.out' % way)
        sync = ' '.join([self.bench.mailhaul, 'sync'] + self.sync_args(src, dst) +
                        ['--quiet', '--user1', '"$1"', '--user2', '"$2"'])
        pairs = os.path.join(self.work, 'pairs-%s' % way)
        with open(pairs, 'w') as f:
            f.writelines('%s %s%s\n' % (_user(i), way, _user(i)[1:]) for i in range(count))
        if way == 'b':
            csv = os.path.join(self.work, 'accounts.csv')
            with open(csv, 'w') as f:
                f.write('host1,user1,passfile1,port1,host2,user2,passfile2,port2\n')
                f.writelines('%s,%s,%s,%d,%s,b%s,%s,%d\n' % (
                    src.host, _user(i), self.pf_src, src.imaps_port, dst.host, _user(i)[1:],
                    self.pf_dst, dst.imaps_port) for i in range(count))
            cmd = [self.bench.mailhaul, 'batch', csv, '--jobs', str(JOBS), '--quiet', '--dir',
                   os.path.join(self.work, 'batch'), '--ssl1', '--ssl2', '--cafile1',
                   src.cafile, '--cafile2', dst.cafile]
        elif way == 'x':
            cmd = ['sh', '-c', 'xargs -P %d -n 2 sh -c \'%s\' sh < %s' % (JOBS, sync, pairs)]
        elif way == 's':
            cmd = ['sh', '-c', 'while read a b; do set -- "$a" "$b"; %s || echo "exit $? for '
                   '$a"; done < %s' % (sync, pairs)]
        else:
            # imapsync's examples/sync_loop_unix.sh: one imapsync per line, one after the
            # other, its own log per account.
            cmd = ['sh', '-c', 'while read a b; do imapsync --host1 %s --port1 %d --ssl1 '
                   '--user1 "$a" --passfile1 %s --host2 %s --port2 %d --ssl2 --user2 "$b" '
                   '--passfile2 %s --nolog --noreleasecheck --sslargs1 SSL_verify_mode=0 '
                   '--sslargs2 SSL_verify_mode=0 >/dev/null || echo "exit $? for $a"; '
                   'done < %s' % (src.host, src.imaps_port, self.pf_src, dst.host,
                                  dst.imaps_port, self.pf_dst, pairs)]
        self.t.say('(m) %s: %d mailboxes' % (label, count))
        wall, rss, rc, expired = self.t.timed(cmd, out, self.a.timeout)
        got = self.status(dst, way, count)
        want = {i: self.expected[i] for i in range(count)}
        bad = [_user(i) for i in range(count) if got.get(i) != want[i]]
        check = 'ok' if not bad else 'WRONG (%d of %d differ: %s)' % (len(bad), count,
                                                                      ' '.join(bad[:5]))
        if rc != 0 or expired or bad:
            with open(out, errors='replace') as f:
                text = f.read()[-3000:]
            self.problems.append('(m) %s: exit %d%s, %s\n%s' % (
                label, rc, ' (stopped at --timeout)' if expired else '', check, text))
        self.rows.append((way, label, count, wall, rss, rc, expired, check))

    # -- all of it --------------------------------------------------------------------------

    def run(self):
        a = self.a
        # The single syncs' state, logs and locks (and the batch's account locks) go to the
        # run's storage, not to the home directory's.
        os.environ['XDG_STATE_HOME'] = os.path.join(self.work, 'xdg-state')
        src = dovecot.Dovecot(self.bench.pki, users={_user(i): SRC_PW for i in range(self.n)},
                              name='mhbench-m-src-%d' % os.getpid())
        dst_users = {}
        for way, _label in WAYS:
            dst_users.update({way + _user(i)[1:]: DST_PW for i in range(self.n)})
        dst = dovecot.Dovecot(self.bench.pki, users=dst_users, separator='.',
                              name='mhbench-m-dst-%d' % os.getpid())
        for dv in (src, dst):
            dv.start()
            self.bench.servers.append(dv)
        self.t.say('(m) writing %d source mailboxes' % self.n)
        self.write_sources(src)
        self.pf_src = self.passfile('src', SRC_PW)
        self.pf_dst = self.passfile('dst', DST_PW)
        self.expected = self.status(src, 'u', self.n)
        self.busy = self.t.cpu_busy()
        sample = min(self.n, a.serial_sample)
        self.run_way('b', src, dst, self.n)
        self.run_way('x', src, dst, self.n)
        self.run_way('s', src, dst, sample)
        self.imapsync = any(os.access(os.path.join(d, 'imapsync'), os.X_OK)
                            for d in os.environ.get('PATH', '').split(os.pathsep))
        if self.imapsync:
            self.run_way('i', src, dst, sample)
        dovecot.stop_all([src, dst])
        self.bench.servers.remove(src)
        self.bench.servers.remove(dst)

    def passfile(self, name, password):
        path = os.path.join(self.work, 'pass-' + name)
        with open(path, 'w') as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(password + '\n')
        return path

    # -- the report -------------------------------------------------------------------------

    def full_wall(self, row):
        """Wall time for all mailboxes: measured, or extrapolated from the sample."""
        _way, _label, count, wall = row[:4]
        return wall * self.n / count

    def report(self):
        print()
        print('(m) %d mailboxes of 20-80 small messages (2-4 KB): %d msgs, %.1f MB; the '
              'machine was %s busy just before' % (
                  self.n, self.msgs, self.bytes / 1e6,
                  '%.0f%%' % (100 * self.busy) if self.busy is not None else '?'))
        head = ('tool', 'mailboxes', 'wall s', 'mailboxes/s', 'msgs/s', 'peak RSS MB',
                'check')
        rows = []
        per_mailbox = self.msgs / self.n
        for row in self.rows:
            way, label, count, wall, rss, rc, expired, check = row
            run = '%d of %d, timed' % (count, self.n) if count < self.n else str(count)
            rows.append((label, run, '%.1f' % wall, '%.2f' % (count / wall),
                         '%.0f' % (count * per_mailbox / wall), '%.1f' % rss,
                         check if rc == 0 and not expired else 'exit %d, %s' % (rc, check)))
            if count < self.n:
                full = self.full_wall(row)
                rows.append(('  extrapolated to %d' % self.n, str(self.n), '%.1f' % full,
                             '%.2f' % (self.n / full), '%.0f' % (self.msgs / full), '', ''))
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
        fmt = '  '.join(('%%-%ds' if i in (0, 6) else '%%%ds') % w
                        for i, w in enumerate(widths))
        print(fmt % head)
        print('  '.join('-' * w for w in widths))
        for r in rows:
            print((fmt % r).rstrip())
        if not self.imapsync:
            print('imapsync: not installed (not a Debian package), its loop was skipped.')
        print('peak RSS: GNU time %M of the batch process; for the loops, of their largest '
              'process (one sync at a time).')
        print('serial loop: timed on the first %d mailboxes and extrapolated to %d: the whole '
              'loop would take too long here.' % (min(self.n, self.a.serial_sample), self.n)
              if self.a.serial_sample < self.n else 'serial loop: every mailbox.')
        print()
        print('targets (issue 12; shown, not enforced):')
        for verdict, what in self.targets():
            print('  %-12s  %s' % (verdict, what))
        if self.problems:
            print()
            print('PROBLEMS (m):')
            for p in self.problems:
                print('  ' + p.replace('\n', '\n    '))

    def targets(self):
        rows = {r[0]: r for r in self.rows}
        b = rows.get('b')
        out = []
        if b is None:
            return [('not measured', 'the batch did not run')]
        bw = self.full_wall(b)
        for way, limit, what in (('x', 1.0, 'batch no slower than xargs -P %d' % JOBS),
                                 ('s', 1.0 / TARGET_VS_SERIAL,
                                  'batch at least %.0fx faster than the serial loop' %
                                  TARGET_VS_SERIAL)):
            r = rows.get(way)
            if r is None:
                out.append(('not measured', what))
                continue
            rw = self.full_wall(r)
            ok = bw <= rw * limit and b[7] == 'ok'
            out.append(('met' if ok else 'MISSED', '%s: %.1f s vs %.1f s%s: %.1fx' % (
                what, bw, rw, ' (extrapolated)' if r[2] < self.n else '', rw / bw)))
        out.append(('met' if b[4] < TARGET_RSS_MB else 'MISSED',
                    'peak RSS of the batch under %.0f MB: %.1f MB' % (TARGET_RSS_MB, b[4])))
        return out
