# SPDX-License-Identifier: MIT
"""What the Cyrus and Courier test servers share: the same shape as mhtest.dovecot.Dovecot.

    srv.host, srv.imap_port (STARTTLS), srv.imaps_port (implicit TLS), srv.cafile
    srv.port('ssl' | 'tls' | 'notls'), srv.password(user), srv.separator, srv.prefix
    srv.folder('Work', 'Projects')      a name under the personal namespace ('INBOX.Work...')
    srv.preload(user, {folder: [...]}), srv.snapshot_all(user), srv.imap_client(user)
    srv.log(), srv.log_tail()
    srv.received_count()                messages on disk, stored or arriving (for kill tests)
    with running(srv1, srv2): ...        (mhtest.dovecot.running works as well)

A subclass writes its configuration into self.dir (_configure), names the command that runs
the server in the foreground (_command) and may prepare more (_before_start, _after_stop).
The server runs in its own process group, led by the process the harness started; stop()
ends that process, its descendants (which may have left the group, as couriertcpd does) and
the group (SIGTERM, then SIGKILL), also on SIGTERM to the test (mhtest.cleanup) and, through
a watchdog (cleanup.Guard), when the test is killed with SIGKILL.
"""
import contextlib
import os
import pwd
import subprocess
import tempfile
import threading

from . import cleanup, imapcheck, ports


class ServerError(Exception):
    pass


class PortTaken(ServerError):
    pass


def mail_user():
    """The user a server's mail processes run as: 'mail' as root, else the current user."""
    if os.geteuid() == 0:
        return pwd.getpwnam('mail')
    return pwd.getpwuid(os.geteuid())


def chown_tree(path, user):
    if os.geteuid() != 0:
        return
    for top, dirs, files in os.walk(path):
        os.chown(top, user.pw_uid, user.pw_gid)
        for f in files:
            os.lchown(os.path.join(top, f), user.pw_uid, user.pw_gid)


def count_maildir(path):
    """Messages in the maildirs (maildir++ or LAYOUT=fs trees) below path, stored or arriving:
    the files in every cur/ and new/, and in tmp/, where a server writes a message while it
    comes in (and, for MULTIAPPEND, keeps it until the command commits). 0 while path does
    not exist."""
    n = 0
    for top, dirs, files in os.walk(path):
        if os.path.basename(top) in ('cur', 'new', 'tmp'):
            n += len(files)
            dirs[:] = []
    return n


class ImapProcess(cleanup.ListeningProcess):
    """Start and stop, preload and snapshots for an IMAP server run as a child process,
    shared with mhtest.dovecot.Dovecot: a cleanup.ListeningProcess on imap_port and, when
    set, imaps_port (implicit TLS), ready when each answers with an IMAP greeting."""

    host = ports.LOOPBACK
    error = ServerError          # raised when the server cannot start
    port_taken = PortTaken       # raised by _await_greetings when a port is in use
    in_use = 'in use'            # what the log says then
    greeting = b'* OK'

    def __init__(self):
        super().__init__()
        self.imap_port = self.imaps_port = None

    # -- over IMAP -----------------------------------------------------------------------

    def preload(self, user, folders):
        """Create folders and APPEND messages as user; see imapcheck.preload."""
        with imapcheck.session(self, user) as conn:
            return imapcheck.preload(conn, folders)

    def snapshot(self, user, folder):
        with imapcheck.session(self, user) as conn:
            return imapcheck.mailbox_snapshot(conn, folder)

    def snapshot_all(self, user):
        with imapcheck.session(self, user) as conn:
            return imapcheck.snapshot_all(conn)

    # -- for subclasses ------------------------------------------------------------------

    def _choose_ports(self):
        self.imap_port, self.imaps_port = ports.free_ports(2)

    def _listeners(self):
        want = [(self.imap_port, False)]
        if self.imaps_port:
            want.append((self.imaps_port, True))
        return want

    def _failure_text(self):
        return self.log_tail()

    def _describe(self):
        return self.kind

    def _ports_text(self):
        return 'imap %s, imaps %s' % (self.imap_port, self.imaps_port)


class PrivateImapServer(ImapProcess):
    """Base class; see the module documentation."""

    kind = 'imap'
    separator = '.'
    prefix = 'INBOX.'

    def __init__(self, pki, users=None, start_timeout=20.0, name=None):
        if pki is None:
            raise ValueError('a TestPKI is needed for TLS')
        super().__init__()
        self.pki = pki
        self.users = dict(users if users is not None else {'alice': 'alice-pw'})
        self.start_timeout = start_timeout
        self.name = name or self.kind

    # -- what Dovecot's helper offers too ------------------------------------------------

    @property
    def cafile(self):
        return self.pki.ca

    def port(self, mode):
        if mode == 'ssl':
            return self.imaps_port
        if mode in ('tls', 'notls', 'starttls', 'plain'):
            return self.imap_port
        raise ValueError('unknown mode %r' % (mode,))

    def password(self, user):
        return self.users[user]

    def folder(self, *parts):
        """The server's name of a personal folder: 'INBOX' stays, others get the prefix."""
        if len(parts) == 1 and parts[0].upper() == 'INBOX':
            return 'INBOX'
        return self.prefix + self.separator.join(parts)

    def imap_client(self, user, password=None, mode='ssl', mech=None, timeout=30):
        return imapcheck.imap_client(self, user, password, mode=mode, mech=mech,
                                     timeout=timeout)

    @property
    def log_path(self):
        return os.path.join(self.dir, 'server.log') if self.dir else None

    def log_tail(self, lines=40):
        data = self.log().splitlines()
        return 'log %s:\n%s\n' % (self.log_path, '\n'.join(data[-lines:]))

    # -- for subclasses ------------------------------------------------------------------

    def _command(self):
        raise NotImplementedError

    def _environment(self):
        return dict(os.environ)

    def _before_start(self):
        pass

    def _guard_paths(self):
        """What the watchdog removes if the test dies by SIGKILL."""
        return [self.dir]

    def _write(self, rel, text, mode=0o644, owner=None):
        path = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w' if isinstance(text, str) else 'wb') as f:
            f.write(text)
        os.chmod(path, mode)
        if owner is not None and os.geteuid() == 0:
            os.chown(path, owner.pw_uid, owner.pw_gid)
        return path

    # -- start and stop ------------------------------------------------------------------

    def _prepare(self):
        self.dir = tempfile.mkdtemp(prefix='mhtest-%s-' % self.kind, dir='/tmp')
        os.chmod(self.dir, 0o711)
        self._before_start()

    def _spawn(self):
        with open(self.log_path, 'ab') as log:
            self._proc = subprocess.Popen(self._command(), stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=log, close_fds=True,
                                          env=self._environment(), cwd=self.dir,
                                          start_new_session=True)
        self._guard = cleanup.Guard(-self._proc.pid, self._guard_paths())
        self._await_greetings()

    def _end_process(self, proc):
        cleanup.stop_tree(proc.pid, group=True, waits=(5.0, 5.0))
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def __repr__(self):
        return '<%s imap=%s imaps=%s>' % (self.name, self.imap_port, self.imaps_port)


def stop_all(servers):
    """Stop several servers at once (each takes about a second to shut down)."""
    threads = [threading.Thread(target=s.stop) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@contextlib.contextmanager
def running(*servers):
    """Start the given servers one after the other and stop them all together."""
    try:
        for s in servers:
            s.start()
        yield servers
    finally:
        stop_all(servers)
