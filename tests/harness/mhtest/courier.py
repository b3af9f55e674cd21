# SPDX-License-Identifier: MIT
"""A private Courier IMAP 5.0 instance per test server, run from the unpacked private root.

    with certs.TestPKI() as pki, Courier(pki, users={'alice': 'pw1'}) as co:
        co.separator, co.prefix        '.' and 'INBOX.'
        co.folder('Work', 'Projects')  'INBOX.Work.Projects'
        ... the same attributes and methods as mhtest.dovecot.Dovecot (see mhtest.imapserver)

One process group runs authdaemond (users from a private userdb, MD5-crypt passwords) and two
couriertcpd listeners on free loopback ports: imap (imaplogin + imapd) and imaps (couriertls in
front). AUTH=PLAIN and AUTH=LOGIN are offered over TLS (the LOGIN command always). STARTTLS is
offered only when a system user 'courier' exists (.starttls): imaplogin runs couriertls for it
as that user, a name compiled in, and the harness does not add users to the machine; tests use
implicit TLS (mode 'ssl'). Debian's IMAP_EMPTYTRASH=Trash:7 (Courier deletes Trash messages older than 7 days at
logout) is turned off, or every old message of a Trash folder would vanish between two runs.

Courier's authentication library has its paths compiled in: /etc/courier (authdaemonrc,
userdb.dat), /run/courier (the authdaemon socket) and /usr/lib/courier-authlib (its modules).
Where the machine allows it (root, unshare(1) and overlayfs: private_mounts()), each instance
runs in a mount namespace of its own in which /etc, /run and /usr/lib are overlays (their
upper layers in a tmpfs that ends with the instance) and those three paths are symbolic links
into its directory and the private root: nothing changes on the machine, and any number of
instances run at once. Elsewhere the three links are made on the machine while an instance
runs, removed when it stops, and only one instance can run at a time (a lock file in the
private root; a second instance waits for it). A real /etc/courier, /run/courier or
/usr/lib/courier-authlib (anything but a link this harness left) is never touched: start()
then fails with CourierError naming it, and missing() says so beforehand. Either way needs
root.

What Courier does to messages, which a test must expect: it adds CRLF to a message that does
not end with one; it answers STATUS on the selected mailbox with stale counters until a NOOP;
it announces an [ALERT] about RFC 6855 for messages with 8-bit headers once UTF8 is enabled.
"""
import fcntl
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import time

from . import imapserver, privroot

LINKS = ('/etc/courier', '/run/courier', '/usr/lib/courier-authlib')
MARK = 'mhtest-courier-'


class CourierError(imapserver.ServerError):
    pass


def _ours(link):
    """True if link is a symbolic link this harness made (into an instance or the root)."""
    if not os.path.islink(link):
        return False
    target = os.readlink(link)
    return MARK in target or target.startswith(privroot.root() + os.sep)


def missing():
    """None when Courier can run here, else the reason."""
    reason = privroot.missing('courier')
    if reason:
        return reason
    if os.geteuid() != 0:
        return ('the Courier test server needs root: its compiled-in paths %s are made '
                'symbolic links while it runs' % ', '.join(LINKS))
    for link in LINKS:
        if os.path.lexists(link) and not _ours(link):
            return ('%s exists and is not the test harness\'s: the Courier test server '
                    'does not touch a real Courier installation' % link)
    return None


_PRIVATE_MOUNTS = []


def private_mounts():
    """True when a process can get a mount namespace of its own with overlays here (root,
    unshare(1), overlayfs): tried once, in a scratch directory, with nothing left behind."""
    if not _PRIVATE_MOUNTS:
        ok = False
        if os.geteuid() == 0 and shutil.which('unshare') and shutil.which('mount'):
            d = tempfile.mkdtemp(prefix='mhtest-courier-probe-')
            script = ('set -e; mount -t tmpfs tmpfs "$1"; mkdir "$1/l" "$1/u" "$1/w" "$1/m"; '
                      'mount -t overlay overlay -o lowerdir="$1/l",upperdir="$1/u",'
                      'workdir="$1/w" "$1/m"; ln -s x "$1/m/y"')
            try:
                ok = subprocess.run(['unshare', '--mount', '--propagation', 'private', 'sh',
                                     '-c', script, 'probe', d], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, timeout=30).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
            finally:
                shutil.rmtree(d, ignore_errors=True)
        _PRIVATE_MOUNTS.append(ok)
    return _PRIVATE_MOUNTS[0]


def _md5_crypt(password):
    p = subprocess.run(['openssl', 'passwd', '-1', '-stdin'], input=password.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        raise CourierError('openssl passwd failed: %s' % p.stderr.decode(errors='replace'))
    return p.stdout.decode().strip()


class Courier(imapserver.PrivateImapServer):
    kind = 'courier'
    separator = '.'
    prefix = 'INBOX.'

    def __init__(self, pki, users=None, lock_timeout=540.0, **kw):
        super().__init__(pki, users, **kw)
        self.lock_timeout = lock_timeout
        self._lock_fd = None
        self._private = False
        self._links = []
        try:  # imaplogin runs couriertls for STARTTLS as the user 'courier', compiled in
            pwd.getpwnam('courier')
            self.starttls = True
        except KeyError:
            self.starttls = False

    # -- the machine-wide pieces: a lock and three links --------------------------------

    def _take_lock(self):
        path = os.path.join(privroot.root(), '.courier.lock')
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise CourierError('another Courier test server kept %s for %d s' % (
                        path, self.lock_timeout))
                time.sleep(0.2)
        self._lock_fd = fd

    def _link_targets(self):
        return {'/etc/courier': os.path.join(self.dir, 'etc'),
                '/run/courier': os.path.join(self.dir, 'run'),
                '/usr/lib/courier-authlib': privroot.path('usr/lib/courier-authlib')}

    def _namespace_script(self):
        """Shell lines that, in the instance's own mount namespace, lay an overlay (upper
        layer in a tmpfs) over each directory holding one of the three paths and make the
        path a link there. A path that is not a link (a real directory) stops the script:
        rm -f removes only files and links, and only in the overlay."""
        ns = os.path.join(self.dir, 'ns')
        lines = ['set -e', 'mount -t tmpfs tmpfs %s' % shlex.quote(ns)]
        for i, top in enumerate(sorted({os.path.dirname(link) for link in LINKS})):
            upper, work = os.path.join(ns, '%d-u' % i), os.path.join(ns, '%d-w' % i)
            lines += ['mkdir %s %s' % (shlex.quote(upper), shlex.quote(work)),
                      'mount -t overlay overlay -o lowerdir=%s,upperdir=%s,workdir=%s %s' % (
                          top, upper, work, shlex.quote(top))]
        for link, target in self._link_targets().items():
            lines += ['rm -f %s' % shlex.quote(link),
                      'ln -s %s %s' % (shlex.quote(target), shlex.quote(link))]
        return lines

    def _make_links(self):
        targets = self._link_targets()
        for link in LINKS:
            if os.path.lexists(link):
                if not _ours(link):
                    raise CourierError('%s exists and is not the test harness\'s: the '
                                       'Courier test server does not touch a real Courier '
                                       'installation' % link)
                os.unlink(link)  # left by a test that was killed
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(targets[link], link)
            self._links.append(link)

    def _guard_paths(self):
        return list(self._links) + [self.dir]

    def _remove_links(self):
        while self._links:
            link = self._links.pop()
            if _ours(link):
                os.unlink(link)

    # -- configuration ------------------------------------------------------------------

    def _before_start(self):
        reason = missing()
        if reason:
            raise CourierError(reason)
        self._private = private_mounts()
        if self._private:
            os.makedirs(os.path.join(self.dir, 'ns'))
        else:
            self._take_lock()
        mail = imapserver.mail_user()
        os.makedirs(os.path.join(self.dir, 'run', 'authdaemon'))
        os.chmod(os.path.join(self.dir, 'run'), 0o755)
        os.chmod(os.path.join(self.dir, 'run', 'authdaemon'), 0o750)
        self._write('etc/authdaemonrc', 'authmodulelist="authuserdb"\n'
                    'authmodulelistorig="authuserdb"\ndaemons=2\n'
                    'authdaemonvar=/run/courier/authdaemon\nDEBUG_LOGIN=0\n'
                    'DEFAULTOPTIONS=""\nLOGGEROPTS=""\n', 0o644)
        os.chmod(os.path.join(self.dir, 'etc'), 0o755)
        with open(self.pki.server_key) as f:
            pem = f.read()
        with open(self.pki.server_cert) as f:
            pem += f.read()
        self._write('etc/imapd.pem', pem, 0o600)
        for user in self.users:
            self._make_home(user, mail)
        self._make_userdb(mail)
        if not self._private:
            self._make_links()

    def _home(self, user):
        return os.path.join(self.dir, 'home', user)

    def received_count(self, user=None):
        """The messages of user (of every user if None) in all folders, stored or still
        arriving, counted as maildir files on disk (see Dovecot.received_count)."""
        return imapserver.count_maildir(self._home(user) if user else
                                        os.path.join(self.dir, 'home'))

    def _make_home(self, user, mail):
        maildir = os.path.join(self._home(user), 'Maildir')
        for sub in ('cur', 'new', 'tmp'):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        os.chmod(os.path.join(self.dir, 'home'), 0o755)
        imapserver.chown_tree(self._home(user), mail)

    def _make_userdb(self, mail):
        lines = []
        for user, password in self.users.items():
            if '|' in password or '\n' in password or not user.isprintable():
                raise ValueError('unsupported user name or password for the userdb')
            home = self._home(user)
            lines.append('%s\tuid=%d|gid=%d|home=%s|mail=%s/Maildir|systempw=%s' % (
                user, mail.pw_uid, mail.pw_gid, home, home, _md5_crypt(password)))
        self._write('etc/userdb', '\n'.join(lines) + '\n', 0o600)
        # makeuserdb names makedatprog by its installed path: use a copy that names ours.
        with open(privroot.path('usr/sbin/makeuserdb')) as f:
            script = f.read().replace('/usr/lib/courier/courier-authlib/makedatprog',
                                      privroot.path('usr/lib/courier/courier-authlib/'
                                                    'makedatprog'))
        tool = self._write('makeuserdb', script, 0o700)
        p = subprocess.run(['perl', tool, '-f', os.path.join(self.dir, 'etc', 'userdb')],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=privroot.environment(), timeout=60)
        if p.returncode != 0:
            raise CourierError('makeuserdb failed: %s' % p.stdout.decode(errors='replace'))

    def add_user(self, user, password):
        """Add or change a user (also while the server runs: the userdb is rebuilt)."""
        self.users[user] = password
        if self.dir:
            mail = imapserver.mail_user()
            self._make_home(user, mail)
            self._make_userdb(mail)

    def _configure(self):
        pass  # everything is in the environment (_environment) and the userdb

    def _environment(self):
        caps = 'IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT ' \
               'THREAD=REFERENCES SORT QUOTA IDLE'
        env = {
            'PATH': '/usr/bin:/bin:/usr/sbin:/sbin',
            'LD_LIBRARY_PATH': privroot.library_path(),
            'IMAP_CAPABILITY': caps,
            'IMAP_CAPABILITY_TLS': caps + ' AUTH=PLAIN AUTH=LOGIN',
            'IMAP_KEYWORDS': '1',
            'IMAP_ACL': '1',
            'IMAP_PROXY': '0',
            'IMAP_IDLE_TIMEOUT': '60',
            'IMAP_MAILBOX_SANITY_CHECK': '1',
            'IMAP_DISABLETHREADSORT': '0',
            'IMAP_CHECK_ALL_FOLDERS': '0',
            'IMAP_OBSOLETE_CLIENT': '0',
            'IMAP_UMASK': '022',
            'IMAP_USELOCKS': '1',
            'IMAP_ENHANCEDIDLE': '0',
            'IMAP_TRASHFOLDERNAME': 'Trash',
            'IMAP_EMPTYTRASH': '',
            'IMAP_MOVE_EXPUNGE_TO_TRASH': '0',
            'IMAP_STARTTLS': 'YES' if self.starttls else 'NO',
            'IMAP_TLS_REQUIRED': '0',
            'COURIERTLS': privroot.path('usr/bin/couriertls'),
            'TLS_CERTFILE': os.path.join(self.dir, 'etc', 'imapd.pem'),
            'TLS_VERIFYPEER': 'NONE',
            'MAILDIRPATH': 'Maildir',
        }
        return env

    def _command(self):
        tcpd = privroot.path('usr/sbin/couriertcpd')
        login = privroot.path('usr/lib/courier/courier/imaplogin')
        imapd = privroot.path('usr/bin/imapd')
        tls = privroot.path('usr/bin/couriertls')
        opts = '-address=%s -maxprocs=100 -maxperip=100 -nodnslookup -noidentlookup' % \
            self.host
        script = '\n'.join([
            '# Generated by the mailhaul test harness (tests/harness/mhtest/courier.py).',
            'set -e',
            '%s &' % privroot.path('usr/lib/courier/courier-authlib/authdaemond'),
            '%s %s %d %s %s Maildir &' % (tcpd, opts, self.imap_port, login, imapd),
            'IMAP_TLS=1 %s %s %d %s -server -tcpd %s %s Maildir &' % (
                tcpd, opts, self.imaps_port, tls, login, imapd),
            'wait',
        ])
        if self._private:
            return ['unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c',
                    '\n'.join(self._namespace_script() + ['exec /bin/sh -c %s' %
                                                           shlex.quote(script)])]
        return ['/bin/sh', '-c', script]

    def _after_stop(self):
        try:
            self._remove_links()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
