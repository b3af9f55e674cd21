# SPDX-License-Identifier: MIT
"""What the `mailhaul batch` tests share: users, their mailboxes, batch files, the checker.

    users = {batchtest.user(i): batchtest.password(i, 1) for i in range(n)}
    batchtest.write_inbox(dovecot, batchtest.user(i), [imapcheck.make_message(...), ...])
    batchtest.write_csv(path, [batchtest.HEADER, batchtest.row(...), ...])
    batchtest.summary(directory)                       # summary.json as a dict
    batchtest.check_identical(src, dst, range(n))      # the independent checker's verdict

Users are user000, user001...; each side has its own password (password(i, 1) on the
source, password(i, 2) on the destination), so a password mixed up between sides fails.
"""
import json
import os
from concurrent.futures import ThreadPoolExecutor

from . import imapcheck, tap

HEADER = 'host1,user1,passfile1,port1,host2,user2,passfile2,port2\r\n'


def user(i):
    return 'user%03d' % i


def password(i, side):
    return 'Pw%d-%s-%03d-secret' % (side, 'src' if side == 1 else 'dst', i)


def row(i, host, pf1, port1, pf2, port2):
    """A CSV line for user(i) on both sides of host, with pass files pf1 and pf2."""
    return '%s,%s,%s,%d,%s,%s,%s,%d\r\n' % (host, user(i), pf1, port1, host, user(i), pf2,
                                            port2)


def write_inbox(dv, name, messages):
    """Puts messages into the INBOX of name as maildir files (mtime = INTERNALDATE); Dovecot
    indexes them at the first access."""
    mail = dv._identities()[2]
    root = os.geteuid() == 0
    home = dv.user_home(name)
    for d in (home, home + '/Maildir', home + '/Maildir/cur', home + '/Maildir/new',
              home + '/Maildir/tmp'):
        os.mkdir(d, 0o700)
        if root:
            os.chown(d, mail.pw_uid, mail.pw_gid)
    for n, body in enumerate(messages):
        path = '%s/Maildir/cur/%d.M%d.mhtest,S=%d:2,' % (home, 1600000000 + n, n, len(body))
        with open(path, 'wb') as f:
            f.write(body)
        if root:
            os.chown(path, mail.pw_uid, mail.pw_gid)
        when = imapcheck.DEFAULT_DATE + 3600 * n
        os.utime(path, (when, when))


def write_csv(path, lines, mode=0o600):
    with open(path, 'w', newline='') as f:
        f.write(''.join(lines))
    os.chmod(path, mode)
    return path


def summary(directory):
    with open(os.path.join(directory, 'summary.json')) as f:
        return json.load(f)


def snapshot(dv, i, side):
    conn = dv.imap_client(user(i), password(i, side))
    try:
        return sorted(imapcheck.mailbox_snapshot(conn, 'INBOX'))
    finally:
        conn.logout()


def check_identical(src, dst, indices):
    """The checker's verdict: each destination INBOX holds exactly the source's messages."""
    def one(i):
        return i, snapshot(src, i, 1), snapshot(dst, i, 2)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, indices))
    bad = [i for i, a, b in results if a != b]
    tap.check(not bad, 'mailboxes differ on the destination: %s' % [user(i) for i in bad[:10]])
    tap.check(sum(len(a) for _, a, _ in results) > 0, 'the mailboxes hold messages')
