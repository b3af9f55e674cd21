# SPDX-License-Identifier: MIT
"""A private Dovecot 2.3 instance per test server.

    with certs.TestPKI() as pki, Dovecot(pki, users={'alice': 'pw1'}) as dv:
        dv.host, dv.imap_port (STARTTLS), dv.imaps_port (implicit TLS), dv.cafile
        dv.port('ssl' | 'tls' | 'notls')
        conn = dv.imap_client('alice')          # imaplib.IMAP4_SSL, logged in
        dv.preload('alice', {'INBOX': [imapcheck.make_message(1)]})   # over IMAP
        dv.preload_fast('alice', {...})     # maildir files + force-resync, for big corpora

Each instance has its own temporary directory (configuration, passwd files, mail, base_dir,
state_dir, log), its own instance_name and free loopback ports. It runs in the foreground as a
child of the test (dovecot -F) and is stopped by the PID in run/master.pid (SIGTERM, then
SIGKILL), also when the test is killed (see cleanup: signal handlers, atexit, and a watchdog
process for SIGKILL); its directory is always removed.

As root, Dovecot's unprivileged users are dovenull (login), dovecot (internal) and mail (mail
uid/gid); as a normal user all three are the current user and chroots are switched off.
"""
import grp
import imaplib
import os
import pwd
import signal
import subprocess
import tempfile
import time
import uuid

from . import cleanup, imapcheck, imapserver, ports

DEFAULT_SPECIAL_USE = {
    'Sent': '\\Sent',
    'Drafts': '\\Drafts',
    'Trash': '\\Trash',
    'Junk': '\\Junk',
    'Archive': '\\Archive',
}

DH_FILE = '/usr/share/dovecot/dh.pem'
# The services whose authentication a deny passdb (smtp_denied) is consulted for.
DENY_SERVICES = ('imap', 'lmtp', 'smtp', 'doveadm', 'pop3', 'submission')


class DovecotError(Exception):
    pass


class _PortTaken(DovecotError):
    pass


def _user(names):
    for name in names:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise DovecotError('none of the users %s exists' % ', '.join(names))


def _quote(value):
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


class Dovecot(imapserver.ImapProcess):
    """One private Dovecot instance. All options are keyword arguments:

    users         {user: password} in a {PLAIN} passwd-file (add more later with add_user)
    separator     '/' (maildir, LAYOUT=fs) or '.' (maildir++ layout)
    special_use   True: Sent Drafts Trash Junk Archive with their special-use attributes,
                  auto = subscribe; a dict {folder: attribute or None} for another set;
                  False: none
    mechanisms    auth_mechanisms (default 'plain login cram-md5')
    master_users  {admin: password}: a passdb with master = yes; PLAIN with authzid (or the
                  LOGIN user name 'target*admin') logs in as the target user
    cert          'good' (IP:127.0.0.1, DNS:localhost), 'wrong' (DNS:wrong.example only) or
                  a (cert, key) pair of paths
    ssl           'yes' (STARTTLS offered, imaps listener), 'required', or 'no' (no TLS at
                  all: no STARTTLS, no imaps listener). Dovecot counts loopback connections
                  as secured, so cleartext logins work here even with 'required'.
    quota         None, or a storage limit such as '1M' (quota plugin, count backend)
    namespace_conf  text added inside the inbox namespace block (mailbox definitions)
    extra_conf    text appended to dovecot.conf (later settings override earlier ones), such
                  as more namespaces (files they need go into the user's home with
                  write_user_file)
    debug         auth_debug and mail_debug on, for troubleshooting
    mail_plugins  more mail plugins to load, such as ('virtual',) for virtual mailboxes
    imap_capability  Dovecot's imap_capability setting: None keeps Dovecot's list, a string
                  starting with '+' adds to it, any other string replaces it (after login;
                  the greeting's list is built by imap-login from the same setting)
    login_greeting  the text of the greeting line (None: Dovecot's default)
    lmtp          True: an LMTP listener (dv.lmtp_port) that delivers into the users'
                  INBOX, and an auth listener for a mail server's SMTP AUTH (dv.auth_port,
                  Postfix's smtpd_sasl_type = dovecot); see mhtest.postfix
    smtp_denied   users whose SMTP AUTH through the auth listener is refused while IMAP
                  works (a passdb with deny = yes for the service smtp), as a provider that
                  has SMTP AUTH switched off for a mailbox answers
    mail_format   'maildir' (the default; LAYOUT=fs with '/'), or Dovecot's own 'sdbox' or
                  'mdbox' (one file per message, or many messages per file, with indexes
                  only Dovecot reads): a store whose cost per message does not grow with
                  the folder as a maildir's rescans do (scripts/bench's --dst-format)
    start_timeout seconds to wait for both ports
    """

    error = DovecotError
    port_taken = _PortTaken
    in_use = 'Address already in use'
    greet_timeout = 1.0
    poll_interval = 0.02
    rmtree_tries = 3

    def __init__(self, pki=None, users=None, separator='/', special_use=True,
                 mechanisms='plain login cram-md5', master_users=None, cert='good',
                 ssl='yes', quota=None, namespace_conf='', extra_conf='', debug=False,
                 start_timeout=10.0, name=None, mail_plugins=(), imap_capability=None,
                 login_greeting=None, lmtp=False, smtp_denied=(), mail_format='maildir'):
        if separator not in ('/', '.'):
            raise ValueError("separator must be '/' or '.'")
        if ssl not in ('yes', 'no', 'required'):
            raise ValueError("ssl must be 'yes', 'no' or 'required'")
        if mail_format not in ('maildir', 'sdbox', 'mdbox'):
            raise ValueError("mail_format must be 'maildir', 'sdbox' or 'mdbox'")
        if mail_format != 'maildir' and separator != '/':
            raise ValueError("the dbox formats are used with separator '/' only")
        if ssl != 'no' and pki is None and not isinstance(cert, tuple):
            raise ValueError('TLS needs a TestPKI or a (cert, key) pair')
        super().__init__()
        self.pki = pki
        self.users = dict(users if users is not None else {'alice': 'alice-pw'})
        self.master_users = dict(master_users or {})
        self.separator = separator
        if special_use is True:
            special_use = DEFAULT_SPECIAL_USE
        self.special_use = dict(special_use or {})
        self.mechanisms = mechanisms
        self.cert = cert
        self.ssl = ssl
        self.quota = quota
        self.namespace_conf = namespace_conf
        self.extra_conf = extra_conf
        self.debug = debug
        self.mail_plugins = tuple(mail_plugins)
        self.imap_capability = imap_capability
        self.login_greeting = login_greeting
        self.lmtp = lmtp
        self.smtp_denied = tuple(smtp_denied)
        self.mail_format = mail_format
        self.lmtp_port = self.auth_port = None
        self.start_timeout = start_timeout
        self.name = name or 'mhtest-' + uuid.uuid4().hex[:10]

    # -- paths and properties ------------------------------------------------------------

    @property
    def cafile(self):
        return self.pki.ca if self.pki is not None else None

    @property
    def conf_path(self):
        return os.path.join(self.dir, 'dovecot.conf')

    @property
    def log_path(self):
        return os.path.join(self.dir, 'dovecot.log')

    @property
    def base_dir(self):
        return os.path.join(self.dir, 'run')

    @property
    def mail_root(self):
        return os.path.join(self.dir, 'mail')

    def port(self, mode):
        """The port for a client TLS mode: 'ssl' (implicit TLS), 'tls' or 'notls'."""
        if mode == 'ssl':
            if self.imaps_port is None:
                raise DovecotError('this instance has no imaps listener (ssl = no)')
            return self.imaps_port
        if mode in ('tls', 'notls', 'starttls', 'plain'):
            return self.imap_port
        raise ValueError('unknown mode %r' % (mode,))

    def password(self, user):
        if user in self.users:
            return self.users[user]
        return self.master_users[user]

    def folder(self, *parts):
        """Join folder name parts with this server's separator."""
        return self.separator.join(parts)

    # -- configuration ------------------------------------------------------------------

    def _cert_paths(self):
        if isinstance(self.cert, tuple):
            return self.cert
        if self.cert == 'good':
            return self.pki.server_cert, self.pki.server_key
        if self.cert == 'wrong':
            return self.pki.wrong_cert, self.pki.wrong_key
        raise ValueError('cert must be good, wrong or a (cert, key) pair')

    def _identities(self):
        if os.geteuid() == 0:
            login = _user(('dovenull', 'nobody'))
            internal = _user(('dovecot',))
            mail = _user(('mail', 'dovecot'))
        else:
            login = internal = mail = pwd.getpwuid(os.geteuid())
        return login, internal, mail

    def _config(self):
        login, internal, mail = self._identities()
        root = os.geteuid() == 0
        d = self.dir
        lines = [
            '# Generated by the mailhaul test harness (tests/harness/mhtest/dovecot.py).',
            'instance_name = %s' % self.name,
            'base_dir = %s' % self.base_dir,
            'state_dir = %s' % os.path.join(d, 'state'),
            'log_path = %s' % self.log_path,
            'protocols = imap%s' % (' lmtp' if self.lmtp else ''),
            'listen = %s' % self.host,
            'shutdown_clients = yes',
            'disable_plaintext_auth = no',
            'auth_mechanisms = %s' % self.mechanisms,
            'auth_failure_delay = 0',
            'auth_verbose = yes',
            'auth_master_user_separator = *',
            'default_login_user = %s' % login.pw_name,
            'default_internal_user = %s' % internal.pw_name,
            'default_internal_group = %s' % grp.getgrgid(internal.pw_gid).gr_name,
            'first_valid_uid = %d' % mail.pw_uid,
            'first_valid_gid = %d' % mail.pw_gid,
            'mail_uid = %d' % mail.pw_uid,
            'mail_gid = %d' % mail.pw_gid,
            'mail_location = %s' % (
                '%s:~/%s' % (self.mail_format, self.mail_format) if self.mail_format != 'maildir'
                else 'maildir:~/Maildir%s' % (':LAYOUT=fs' if self.separator == '/' else '')),
            'mail_fsync = never',
            'maildir_very_dirty_syncs = yes',
            'mail_max_userip_connections = 100',
            'ssl = %s' % self.ssl,
        ]
        if self.debug:
            lines += ['auth_debug = yes', 'mail_debug = yes', 'verbose_ssl = yes']
        if self.ssl != 'no':
            cert, key = self._cert_paths()
            lines += ['ssl_cert = <%s' % cert, 'ssl_key = <%s' % key]
            if os.path.exists(DH_FILE):
                lines.append('ssl_dh = <%s' % DH_FILE)
        plugins = []
        if self.quota:
            plugins.append('quota')
            lines += ['mail_plugins = $mail_plugins quota',
                      'protocol imap {', '  mail_plugins = $mail_plugins imap_quota', '}',
                      'plugin {', '  quota = count:User quota',
                      '  quota_rule = *:storage=%s' % self.quota,
                      '  quota_vsizes = yes', '}']
        if self.mail_plugins:
            lines.append('mail_plugins = $mail_plugins %s' % ' '.join(self.mail_plugins))
        if self.imap_capability is not None:
            lines.append('imap_capability = %s' % self.imap_capability)
        if self.login_greeting is not None:
            lines.append('login_greeting = %s' % self.login_greeting)
        lines += ['namespace inbox {', '  inbox = yes', '  prefix =',
                  '  separator = %s' % self.separator]
        for folder, attr in self.special_use.items():
            lines.append('  mailbox %s {' % _quote(folder))
            if attr:
                lines.append('    special_use = %s' % attr)
            lines += ['    auto = subscribe', '  }']
        if self.namespace_conf:
            lines.append(self.namespace_conf)
        lines.append('}')
        if self.smtp_denied:
            # One file per service (%s); only the smtp one lists users.
            lines += ['passdb {', '  driver = passwd-file', '  deny = yes',
                      '  args = username_format=%%u %s' % os.path.join(d, 'deny-%s'), '}']
        if self.master_users:
            lines += ['passdb {', '  driver = passwd-file',
                      '  args = scheme=PLAIN username_format=%%u %s' % os.path.join(d, 'masters'),
                      '  master = yes', '  result_success = continue', '}']
        lines += ['passdb {', '  driver = passwd-file',
                  '  args = scheme=PLAIN username_format=%%u %s' % os.path.join(d, 'users'),
                  '}',
                  'userdb {', '  driver = static',
                  '  args = uid=%d gid=%d home=%s/%%u' % (mail.pw_uid, mail.pw_gid,
                                                         self.mail_root),
                  '}']
        lines += ['service imap-login {',
                  '  inet_listener imap {', '    address = %s' % self.host,
                  '    port = %d' % self.imap_port, '  }',
                  '  inet_listener imaps {', '    address = %s' % self.host,
                  '    port = %d' % (self.imaps_port or 0), '    ssl = yes', '  }',
                  '  service_count = 0',
                  '  process_min_avail = 1',
                  '}',
                  'service pop3-login {', '  inet_listener pop3 {', '    port = 0', '  }',
                  '  inet_listener pop3s {', '    port = 0', '  }', '}',
                  'service submission-login {', '  inet_listener submission {',
                  '    port = 0', '  }', '}',
                  'service anvil {', '  unix_listener anvil-auth-penalty {', '    mode = 0',
                  '  }', '}']
        if self.lmtp:
            lines += ['postmaster_address = postmaster@example.test',
                      'service lmtp {', '  inet_listener lmtp {',
                      '    address = %s' % self.host, '    port = %d' % self.lmtp_port,
                      '  }', '}',
                      'service auth {', '  inet_listener auth-client {',
                      '    address = %s' % self.host, '    port = %d' % self.auth_port,
                      '  }', '}']
        if not root:
            for service in ('imap-login', 'anvil', 'ipc', 'old-stats', 'imap-urlauth-login',
                            'pop3-login', 'submission-login', 'aggregator', 'director'):
                lines += ['service %s {' % service, '  chroot =', '}']
        if self.extra_conf:
            lines.append(self.extra_conf)
        return '\n'.join(lines) + '\n'

    def _write_passwd(self, name, entries):
        path = os.path.join(self.dir, name)
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            os.fchmod(f.fileno(), 0o600)
            for user, password in entries.items():
                if ':' in user or '\n' in user or '\n' in password:
                    raise ValueError('user names and passwords for the passwd-file may not '
                                     'contain ":" or newlines')
                f.write('%s:{PLAIN}%s\n' % (user, password))
        if os.geteuid() == 0:
            internal = self._identities()[1]
            os.chown(tmp, internal.pw_uid, internal.pw_gid)
        os.rename(tmp, path)

    def add_user(self, user, password):
        """Add or change a user while the server runs (passwd-file is re-read on change)."""
        self.users[user] = password
        self._write_passwd('users', self.users)
        # The passwd-file is re-read when its mtime changes; make sure it does.
        now = time.time()
        os.utime(os.path.join(self.dir, 'users'), (now, now + 1))

    def _prepare(self):
        base = tempfile.gettempdir()
        if os.geteuid() == 0 and not self._traversable(base):
            base = '/tmp'
        self.dir = tempfile.mkdtemp(prefix='mhtest-dovecot-', dir=base)
        os.chmod(self.dir, 0o711)  # Dovecot's unprivileged users must reach files inside
        os.makedirs(self.mail_root)
        os.mkdir(os.path.join(self.dir, 'state'))
        if os.geteuid() == 0:
            mail = self._identities()[2]
            os.chown(self.mail_root, mail.pw_uid, mail.pw_gid)
        os.chmod(self.mail_root, 0o700)
        self._write_passwd('users', self.users)
        if self.master_users:
            self._write_passwd('masters', self.master_users)
        if self.smtp_denied:
            for service in DENY_SERVICES:
                self._write_passwd('deny-' + service,
                                   {u: '-' for u in self.smtp_denied} if service == 'smtp'
                                   else {})

    @staticmethod
    def _traversable(path):
        path = os.path.abspath(path)
        while True:
            st = os.stat(path)
            if not st.st_mode & 0o001:
                return False
            parent = os.path.dirname(path)
            if parent == path:
                return True
            path = parent

    # -- start and stop -----------------------------------------------------------------

    def _choose_ports(self):
        if self.ssl == 'no':
            self.imap_port, self.imaps_port = ports.free_port(), None
        else:
            self.imap_port, self.imaps_port = ports.free_ports(2)
        if self.lmtp:
            self.lmtp_port, self.auth_port = ports.free_ports(2)

    def _configure(self):
        with open(self.conf_path, 'w') as f:
            f.write(self._config())

    def _spawn(self):
        stderr_path = os.path.join(self.dir, 'dovecot.stderr')
        if os.path.exists(self.log_path):  # a failed attempt's log must not mislead
            os.unlink(self.log_path)
        with open(stderr_path, 'wb') as err:
            self._proc = subprocess.Popen(
                ['dovecot', '-F', '-c', self.conf_path], stdin=subprocess.DEVNULL,
                stdout=err, stderr=err, close_fds=True)
        # Dovecot changes credentials at start, which clears PR_SET_PDEATHSIG; a watchdog
        # stops it instead if this process dies without stopping it (SIGKILL).
        self._guard = cleanup.Guard(self._proc.pid, [self.dir])
        self._await_greetings()

    def _failure_text(self):
        return self._stderr_tail() + self.log_tail()

    def _describe(self):
        return 'Dovecot %s' % self.name

    def _stderr_tail(self, lines=30):
        try:
            with open(os.path.join(self.dir, 'dovecot.stderr'), errors='replace') as f:
                data = f.read().splitlines()
            if data:
                return 'stderr:\n' + '\n'.join(data[-lines:]) + '\n'
        except OSError:
            pass
        return ''

    def log_tail(self, lines=40):
        """The last lines of this instance's log, for error messages."""
        try:
            with open(self.log_path, errors='replace') as f:
                data = f.read().splitlines()
            return 'log %s:\n%s\n' % (self.log_path, '\n'.join(data[-lines:]))
        except (OSError, TypeError):
            return ''

    def log(self):
        """The whole log so far."""
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def _master_pid(self):
        try:
            with open(os.path.join(self.base_dir, 'master.pid')) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _end_process(self, proc):
        pid = self._master_pid()
        if pid is None or pid != proc.pid:
            pid = proc.pid  # same process with -F; the pid file may not exist yet
        children = cleanup.children_of(pid)
        if proc.poll() is None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        # The master's children end when it does; make sure none lingers.
        deadline = time.monotonic() + 3
        while True:
            left = [c for c in children if not cleanup.process_gone(c)]
            if not left:
                break
            if time.monotonic() > deadline:
                for c in left:
                    try:
                        os.kill(c, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                break
            time.sleep(0.02)

    # -- tools --------------------------------------------------------------------------

    def doveadm(self, *args, check=True):
        """Run doveadm against this instance; return its stdout as text."""
        p = subprocess.run(['doveadm', '-c', self.conf_path] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if check and p.returncode != 0:
            raise DovecotError('doveadm %s failed (%d): %s' % (
                ' '.join(args), p.returncode, p.stderr.decode(errors='replace')))
        return p.stdout.decode(errors='replace')

    def imap_client(self, user, password=None, mode='ssl', mech=None, authuser=None,
                    timeout=30):
        """An imaplib connection logged in as user (see imapcheck.imap_client)."""
        return imapcheck.imap_client(self, user, password, mode=mode, mech=mech,
                                     authuser=authuser, timeout=timeout)

    def preload_fast(self, user, folders):
        """Like preload, but writes maildir files directly and then runs doveadm
        force-resync: for large corpora (thousands of messages in seconds).

        folders: {name: [bytes | imapcheck.Mail]}; flags may be system flags and up to 26
        keywords per folder. Returns {folder: expected mailbox_snapshot}, in the order given
        (also the UID order). Folders are created and subscribed with doveadm.
        """
        mail = self._identities()[2]
        root = os.geteuid() == 0
        letters = {'\\draft': 'D', '\\flagged': 'F', '\\answered': 'R', '\\seen': 'S',
                   '\\deleted': 'T'}

        def own(path):
            if root:
                os.chown(path, mail.pw_uid, mail.pw_gid)

        def makedirs(path):
            missing = []
            while not os.path.isdir(path):
                missing.append(path)
                path = os.path.dirname(path)
            for p in reversed(missing):
                os.mkdir(p, 0o700)
                own(p)

        expected = {}
        for name, messages in folders.items():
            if name.upper() != 'INBOX':
                self.doveadm('mailbox', 'create', '-s', '-u', user, name, check=False)
            path = self.doveadm('mailbox', 'path', '-u', user, name).strip()
            for sub in ('cur', 'new', 'tmp'):
                makedirs(os.path.join(path, sub))
            kw_path = os.path.join(path, 'dovecot-keywords')
            keywords = []
            if os.path.exists(kw_path):
                with open(kw_path) as f:
                    keywords = [line.split(' ', 1)[1].strip() for line in f if ' ' in line]
            out = expected.setdefault(name, [])
            for i, msg in enumerate(messages):
                if not isinstance(msg, imapcheck.Mail):
                    msg = imapcheck.Mail(msg)
                body = msg.body.encode() if isinstance(msg.body, str) else msg.body
                body = imaplib.MapCRLF.sub(b'\r\n', body)
                date = msg.date if msg.date is not None else \
                    imapcheck.DEFAULT_DATE + 3600 * i
                info = []
                for flag in msg.flags:
                    if flag.lower() in letters:
                        info.append(letters[flag.lower()])
                    elif flag.startswith('\\'):
                        raise ValueError('cannot store flag %s in maildir' % flag)
                    else:
                        if flag not in keywords:
                            if len(keywords) == 26:
                                raise ValueError('more than 26 keywords in %s' % name)
                            keywords.append(flag)
                        info.append(chr(ord('a') + keywords.index(flag)))
                self._fast_seq = getattr(self, '_fast_seq', 0) + 1
                fname = '%d.M%dP%d.mhtest,S=%d:2,%s' % (
                    1000000000 + self._fast_seq, self._fast_seq, os.getpid(), len(body),
                    ''.join(sorted(info)))
                tmp = os.path.join(path, 'tmp', fname)
                with open(tmp, 'wb') as f:
                    f.write(body)
                own(tmp)
                os.utime(tmp, (date, date))
                os.rename(tmp, os.path.join(path, 'cur', fname))
                out.append(imapcheck.Message(imapcheck.sha256(body), int(date),
                                             imapcheck.normalize_flags(msg.flags)))
            if keywords:
                with open(kw_path, 'w') as f:
                    f.writelines('%d %s\n' % (n, k) for n, k in enumerate(keywords))
                own(kw_path)
        self.doveadm('force-resync', '-u', user, '*')
        return expected

    def user_home(self, user):
        """The user's home directory (the mail root's user/; mail is under Maildir)."""
        return os.path.join(self.mail_root, user)

    def received_count(self, user=None):
        """The messages of user (of every user if None) in all folders, stored or still
        arriving, counted as maildir files on disk (imapserver.count_maildir): cheap enough
        to poll while a sync runs, with no IMAP session beside it (the kill tests signal
        mailhaul when the destination has received a number of messages). Maildir only."""
        if self.mail_format != 'maildir':
            raise DovecotError('received_count reads maildir files; this server keeps %s' %
                               self.mail_format)
        return imapserver.count_maildir(self.user_home(user) if user else self.mail_root)

    def write_user_file(self, user, relpath, data):
        """Write data (bytes or text) to relpath under the user's home, creating the
        directories, owned by the mail user (for files Dovecot reads, such as the
        dovecot-virtual file of a virtual mailbox)."""
        mail = self._identities()[2]
        root = os.geteuid() == 0
        path = os.path.join(self.user_home(user), relpath)
        missing, d = [], os.path.dirname(path)
        while not os.path.isdir(d):
            missing.append(d)
            d = os.path.dirname(d)
        for d in reversed(missing):
            os.mkdir(d, 0o700)
            if root:
                os.chown(d, mail.pw_uid, mail.pw_gid)
        with open(path, 'wb') as f:
            f.write(data.encode() if isinstance(data, str) else data)
        if root:
            os.chown(path, mail.pw_uid, mail.pw_gid)
        return path

    def __repr__(self):
        return '<Dovecot %s imap=%s imaps=%s>' % (self.name, self.imap_port, self.imaps_port)


stop_all = imapserver.stop_all
running = imapserver.running  # start the given servers one after the other, stop them together
