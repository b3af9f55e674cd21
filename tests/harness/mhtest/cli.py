# SPDX-License-Identifier: MIT
"""Run the mailhaul binary under test and check what it did.

    r = cli.run(['check', '--host', dv.host, ...], password_env='pw')
    cli.expect_ok(r)                       # exit 0, no error line
    line = cli.expect_error(r, 12, 'not trusted', '--cafile')   # exit code and words

The binary is $MAILHAUL (meson passes it) or build/src/mailhaul in the source tree. Each run
gets a clean environment: no MAILHAUL_* variables unless given, no COLUMNS or LINES (tables as
wide as the default), LC_ALL=C.UTF-8, and HOME and the XDG directories in a private temporary
directory, so a test never reads or writes the real user's configuration, state or keyring.
"""
import json
import os
import queue
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time

from . import cleanup, tap

EXIT_OK = 0
EXIT_CONNECT = 10
EXIT_TLS = 12
EXIT_AUTH = 16
EXIT_USAGE = 64
EXIT_NOINPUT = 66
EXIT_PROTOCOL = 76
EXIT_MESSAGES = 111  # some messages failed

ERROR_PREFIX = 'mailhaul: error: '
WARNING_PREFIX = 'mailhaul: warning: '
DEBUG_PREFIX = 'mailhaul: debug: '


def binary():
    exe = os.environ.get('MAILHAUL')
    if exe:
        return exe
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, '..', '..', '..', 'build', 'src', 'mailhaul'))


_home = None
_home_lock = threading.Lock()


def _private_home():
    # run_parallel's threads may all ask first: one of them makes the directory.
    global _home
    with _home_lock:
        if _home is None:
            home = tempfile.mkdtemp(prefix='mhtest-home-')
            cleanup.register(lambda: shutil.rmtree(home, ignore_errors=True))
            for sub in ('config', 'state', 'cache', 'data', 'runtime'):
                os.mkdir(os.path.join(home, sub), 0o700)
            _home = home
    return _home


def environment(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith('MAILHAUL_')}
    env.pop('MAILHAUL', None)
    home = _private_home()
    env.update({
        'LC_ALL': 'C.UTF-8',
        'HOME': home,
        'XDG_CONFIG_HOME': os.path.join(home, 'config'),
        'XDG_STATE_HOME': os.path.join(home, 'state'),
        'XDG_CACHE_HOME': os.path.join(home, 'cache'),
        'XDG_DATA_HOME': os.path.join(home, 'data'),
        'XDG_RUNTIME_DIR': os.path.join(home, 'runtime'),
    })
    for k in ('SSL_CERT_FILE', 'SSL_CERT_DIR'):
        env.pop(k, None)  # the system trust store only, as a user would have it
    for k in ('COLUMNS', 'LINES'):
        env.pop(k, None)  # tables as wide as the default, unless a test says otherwise
    if extra:
        env.update(extra)
    return env


class Result:
    def __init__(self, args, code, out, err, seconds):
        self.args = args
        self.code = code
        self.out_bytes = out
        self.err_bytes = err
        self.stdout = out.decode('utf-8', 'replace')
        self.stderr = err.decode('utf-8', 'replace')
        self.seconds = seconds

    @property
    def error_lines(self):
        return [line for line in self.stderr.splitlines() if line.startswith(ERROR_PREFIX)]

    @property
    def warning_lines(self):
        return [line for line in self.stderr.splitlines() if line.startswith(WARNING_PREFIX)]

    def __str__(self):
        return ('command: %s\nexit code: %s (%.1f s)\n--- stdout ---\n%s--- stderr ---\n%s'
                '--------------' % (' '.join(shlex.quote(a) for a in self.args), self.code,
                                    self.seconds, _nl(self.stdout), _nl(self.stderr)))


def _nl(text):
    return text if not text or text.endswith('\n') else text + '\n'


def run(args, password_env=None, env=None, input=None, timeout=90):
    """Run mailhaul with args; password_env sets MAILHAUL_PASSWORD. Returns a Result."""
    extra = dict(env or {})
    if password_env is not None:
        extra['MAILHAUL_PASSWORD'] = password_env
    argv = [binary()] + [str(a) for a in args]
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, env=environment(extra), input=input,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        r = Result(argv, None, e.stdout or b'', e.stderr or b'', time.monotonic() - t0)
        tap.fail('mailhaul did not finish within %d s\n%s' % (timeout, r))
    return Result(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def run_parallel(calls, workers=8):
    """Run several mailhaul commands at once: calls is a list of (args, kwargs) or args.
    Returns the Results in the same order. Useful where each run waits on the server
    (Dovecot answers a failed login only after about half a second)."""
    from concurrent.futures import ThreadPoolExecutor
    norm = [c if isinstance(c, tuple) else (c, {}) for c in calls]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, a, **k) for a, k in norm]
        return [f.result() for f in futures]


def _no_null(r):
    # printf("%s", NULL) prints "(null)" with glibc and crashes elsewhere.
    if '(null)' in r.stdout or '(null)' in r.stderr:
        tap.fail('output contains "(null)": a NULL string was printed\n%s' % r)


def expect_ok(r):
    """Exit 0 and no error line (and no "(null)" anywhere)."""
    if r.code != 0 or r.error_lines:
        tap.fail('expected success\n%s' % r)
    _no_null(r)
    return r


def expect_error(r, code, *words):
    """Exit code `code` and exactly one 'mailhaul: error: ' line, the last line of stderr,
    containing every word (case-insensitive; a tuple means any one of its words).
    Other stderr lines may only be warnings (and --debug output, which is ignored here).
    "(null)" must not appear anywhere. Returns the error line."""
    if r.code != code:
        tap.fail('expected exit code %d\n%s' % (code, r))
    errors = r.error_lines
    if len(errors) != 1:
        tap.fail('expected exactly one "%s" line, found %d\n%s' % (ERROR_PREFIX, len(errors), r))
    lines = [line for line in r.stderr.splitlines()
             if line.strip() and not line.startswith(DEBUG_PREFIX)]
    if lines[-1] != errors[0]:
        tap.fail('the error line is not the last line of stderr\n%s' % r)
    others = [line for line in lines[:-1] if not line.startswith(WARNING_PREFIX)]
    if others:
        tap.fail('stderr has lines that are neither warnings nor the error: %r\n%s' %
                 (others, r))
    _no_null(r)
    line = errors[0]
    for w in words:
        alternatives = w if isinstance(w, tuple) else (w,)
        if not any(a.lower() in line.lower() for a in alternatives):
            tap.fail('error line does not mention %s\n%s' % (' or '.join(map(repr, alternatives)),
                                                             r))
    return line


def check_args(server, user, mode='ssl', cafile=True, extra=()):
    """Arguments for `mailhaul check` against a Dovecot-like server.

    mode: 'ssl' (--ssl, implicit TLS), 'tls' (--tls, STARTTLS), 'notls'; cafile True = the
    server's test CA, a path, or None for none."""
    args = ['check', '--host', server.host, '--port', str(server.port(mode)),
            '--' + mode, '--user', user]
    if cafile is True:
        cafile = server.cafile
    if cafile:
        args += ['--cafile', cafile]
    return args + list(extra)


def meson_install(build, prefix='mhtest-destdir-'):
    """`meson install` of the build directory `build` into a new DESTDIR (removed at exit);
    returns (the DESTDIR, the build's options by name: prefix, bindir, mandir...)."""
    dest = tempfile.mkdtemp(prefix=prefix)
    cleanup.register(lambda: shutil.rmtree(dest, ignore_errors=True))
    r = subprocess.run(['meson', 'install', '-C', build, '--destdir', dest, '--no-rebuild',
                        '--quiet'], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError('meson install failed:\n%s%s' % (r.stdout, r.stderr))
    opts = json.loads(subprocess.run(['meson', 'introspect', build, '--buildoptions'],
                                     capture_output=True, text=True, check=True).stdout)
    return dest, {o['name']: o['value'] for o in opts}


def write_passfile(directory, password, name='passfile', newline=True):
    """Write a password file (mode 0600) and return its path."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(password + ('\n' if newline else ''))
    return path


def scratch_dir():
    """A private temporary directory (removed at exit) for pass files and the like."""
    d = tempfile.mkdtemp(prefix='mhtest-scratch-')
    cleanup.register(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


class CheckOutput:
    """The parts of `mailhaul check` output, parsed with tolerant patterns.

    connected: (host, port, how, tls version or None) from "Connected to H port P (HOW, TLS)"
    greeting, capabilities (list), authenticated: (user, by or None, mechanism),
    namespaces (the raw text after "Namespaces:"),
    folders: {name: (attributes tuple, message count or None for a container)}
    """

    def __init__(self, text):
        self.text = text
        self.connected = self.greeting = self.authenticated = self.namespaces = None
        self.capabilities = []
        self.folders = {}

        m = re.search(r'^Connected to (\S+) port (\d+)\s*\(([^,)]+)(?:,\s*([^)]+))?\)', text, re.M)
        if m:
            self.connected = (m.group(1), int(m.group(2)), m.group(3).strip(),
                              m.group(4).strip() if m.group(4) else None)
        m = re.search(r'^Greeting:\s*(.*)$', text, re.M)
        if m:
            self.greeting = m.group(1).strip()
        m = re.search(r'^Capabilities:\s*(.*)$', text, re.M)
        if m:
            self.capabilities = m.group(1).split()
        m = re.search(r'^Authenticated as (\S+)(?:\s+\(by (\S+)\))?\s+with\s+(.+?)\s*$', text,
                      re.M)
        if m:
            self.authenticated = (m.group(1), m.group(2), m.group(3))
        m = re.search(r'^Namespaces:\s*(.*)$', text, re.M)
        if m:
            self.namespaces = m.group(1).strip()
        in_folders = False
        for line in text.splitlines():
            if re.match(r'^Folders\b[^:]*:\s*$', line):
                in_folders = True
                continue
            if not in_folders:
                continue
            if not line.startswith('  '):
                if line.strip():
                    in_folders = False
                continue
            m = re.match(r'^(.*?)\s+(?:(\d+)\s+messages?|\((container)\))\s*$', line)
            if not m:
                continue
            parts = re.split(r'\s{2,}', m.group(1).strip())
            name, attrs = parts[0], tuple(' '.join(parts[1:]).split())
            self.folders[name] = (attrs, None if m.group(3) else int(m.group(2)))


def parse_check(text):
    return CheckOutput(text)


class Lines:
    """A background process whose stdout is read line by line (stderr collected)."""

    def __init__(self, argv, env, stdin=subprocess.DEVNULL):
        self.argv = argv
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, env=env, stdin=stdin,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.handle = cleanup.register(self.kill)
        self.out, self.err = [], []
        self.lines = queue.Queue()
        self.threads = [threading.Thread(target=self._read, args=(self.p.stdout, self.out,
                                                                   True), daemon=True),
                        threading.Thread(target=self._read, args=(self.p.stderr, self.err,
                                                                   False), daemon=True)]
        for t in self.threads:
            t.start()

    def _read(self, f, into, lines):
        for line in iter(f.readline, b''):
            into.append(line)
            if lines:
                self.lines.put(line.decode('utf-8', 'replace'))
        if lines:
            self.lines.put(None)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def result(self):
        return Result(self.argv, self.p.returncode, b''.join(self.out), b''.join(self.err),
                          time.monotonic() - self.t0)

    def wait_for(self, pattern, timeout=60, what='output'):
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                line = False
            if line is None or line is False:
                self.kill() if line is False else self.p.wait(timeout=10)
                for t in self.threads:
                    t.join(5)
                tap.fail('%s: no stdout line matching /%s/\n%s' % (what, pattern,
                                                                   self.result()))
            m = re.search(pattern, line)
            if m:
                return m

    def finish(self, timeout=90):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            tap.fail('did not finish within %d s\n%s' % (timeout, self.result()))
        finally:
            cleanup.unregister(self.handle)
        for t in self.threads:
            t.join(10)
        return self.result()
