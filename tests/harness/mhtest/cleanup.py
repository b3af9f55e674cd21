# SPDX-License-Identifier: MIT
"""Process hygiene: whatever a test starts is stopped also when the test is killed.

register(fn) adds a cleanup callable and returns a handle for unregister(handle). Cleanups run
in reverse order at interpreter exit (atexit) and when the process receives SIGTERM, SIGINT or
SIGHUP (meson sends SIGTERM on timeout); after a signal the process exits with 128 + signal.
Servers also use try/finally (context managers), so a normal run never depends on this.

A process killed with SIGKILL runs no cleanup at all, so a server process is also watched by a
Guard: a small separate watchdog process (this file run as a script, in its own session so that
a process-group kill does not reach it) that waits on a pipe only the test holds. When the test
ends without releasing the guard, the pipe reaches end of file and the watchdog stops the
server (SIGTERM, then SIGKILL), runs the commands it was given (such as `ip netns del`) and
removes its directories.
"""
import atexit
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

_lock = threading.RLock()
_cleanups = {}
_next = 0
_installed = False


def _run_all():
    while True:
        with _lock:
            if not _cleanups:
                return
            key = max(_cleanups)
            fn = _cleanups.pop(key)
        try:
            fn()
        except Exception as e:  # keep cleaning up the rest
            print('# cleanup failed: %r' % (e,), file=sys.stderr)


def _on_signal(signum, frame):
    # Ignore further signals while cleaning up, then exit like the signal would.
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    _run_all()
    os._exit(128 + signum)


def _install():
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(_run_all)
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            if signal.getsignal(s) in (signal.SIG_DFL, signal.default_int_handler):
                signal.signal(s, _on_signal)


def register(fn):
    """Run fn() at exit or on a fatal signal unless unregistered first. Returns a handle."""
    global _next
    with _lock:
        _install()
        _next += 1
        _cleanups[_next] = fn
        return _next


def unregister(handle):
    """Forget a cleanup registered with register() (it has been done normally)."""
    with _lock:
        _cleanups.pop(handle, None)


def install():
    """Install the signal handlers now (call early from the main thread of a test)."""
    with _lock:
        _install()


class Guard:
    """Kill process pid (None: no process; negative: process -pid, its descendants and its
    process group), run commands (argv lists, such as ['ip', 'link', 'del', 'br0']) and
    remove paths (directories, or symbolic links) if this process dies before release()."""

    def __init__(self, pid, paths=(), commands=()):
        rfd, self._wfd = os.pipe()  # both ends are non-inheritable: only we hold _wfd
        argv = [sys.executable, os.path.abspath(__file__), str(pid or 0)]
        if commands:
            argv += ['--commands', json.dumps([list(c) for c in commands])]
        try:
            self._proc = subprocess.Popen(
                argv + list(paths),
                stdin=rfd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                close_fds=True, start_new_session=True)
        finally:
            os.close(rfd)

    def release(self):
        """The process was stopped normally: let the watchdog go without doing anything."""
        if self._wfd is None:
            return
        try:
            os.write(self._wfd, b'x')
        except OSError:
            pass
        os.close(self._wfd)
        self._wfd = None
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def process_gone(pid):
    """True if pid no longer runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie whose parent is gone may never be reaped: it counts as gone
        with open('/proc/%d/stat' % pid, 'rb') as f:
            stat = f.read()
        return stat[stat.rfind(b')') + 2:][:1] == b'Z'
    except OSError:
        return False


def _children():
    """{ppid: [pid, ...]} for all processes (Linux /proc; empty elsewhere)."""
    children = {}
    try:
        entries = os.listdir('/proc')
    except OSError:
        return children
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % e, 'rb') as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces or parentheses
        rest = stat[stat.rfind(b')') + 2:].split()
        if len(rest) > 1:
            children.setdefault(int(rest[1]), []).append(int(e))
    return children


def children_of(pid):
    """PIDs of the processes whose parent is pid (Linux /proc; empty elsewhere)."""
    return _children().get(pid, [])


def process_tree(pid):
    """pid and all its descendants (Linux /proc), parents first."""
    children = _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def stop_tree(pid, group=False, waits=(10.0, 5.0)):
    """SIGTERM, then SIGKILL, to pid, its descendants (some servers' children leave the
    process group) and, with group, its process group. True once all are gone."""
    for sig, wait in zip((signal.SIGTERM, signal.SIGKILL), waits):
        pids = process_tree(pid)
        if group:
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            # (the group is not waited for: a leader that is our child stays a zombie until
            # its parent waits for it)
            if all(process_gone(p) for p in pids):
                return True
            time.sleep(0.02)
    return False


def _watchdog(pid, paths, commands=()):
    for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)
    if os.read(0, 1):
        return  # released
    if pid < 0:
        stop_tree(-pid, group=True)
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if pid <= 0:
            break
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while not process_gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_gone(pid):
            break
    for argv in commands:
        try:
            subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        except (OSError, subprocess.SubprocessError):
            pass
    time.sleep(0.2)  # let the server's children finish writing before removing files
    for p in paths:
        if os.path.islink(p):
            os.unlink(p)
        else:
            shutil.rmtree(p, ignore_errors=True)


if __name__ == '__main__':
    if sys.argv[2:3] == ['--commands']:
        _watchdog(int(sys.argv[1]), sys.argv[4:], json.loads(sys.argv[3]))
    else:
        _watchdog(int(sys.argv[1]), sys.argv[2:])


class ManagedProcess:
    """Log, stop bookkeeping, context manager and is_running for a test server run as a
    child process. The subclass sets self._proc (Popen or None), self._guard (a Guard or
    None), self._handle (from register() or None), self.dir (its scratch directory, removed
    on stop) and self.log_path (its log), and defines start() and stop()."""

    def log(self):
        """What the server wrote to its log so far ('' before it started)."""
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except (OSError, TypeError):
            return ''

    def _release_guard(self):
        guard, self._guard = self._guard, None
        if guard is not None:
            guard.release()

    def _forget(self, tries=1):
        """Unregister the cleanup and remove the directory (tries times, if it stays)."""
        if self._handle is not None:
            unregister(self._handle)
            self._handle = None
        if self.dir and os.path.isdir(self.dir):
            for attempt in range(tries):
                if attempt:
                    time.sleep(0.1)
                shutil.rmtree(self.dir, ignore_errors=True)
                if not os.path.exists(self.dir):
                    break

    def __enter__(self):
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def is_running(self):
        return self._proc is not None and self._proc.poll() is None


class ListeningProcess(ManagedProcess):
    """A test server run as a child process on loopback ports the harness picks. start()
    prepares (_prepare), then up to five times picks free ports (_choose_ports), writes the
    configuration (_configure) and runs the server (_spawn, which ends with
    _await_greetings). Ready means: each (port, tls) of _listeners() answers with a line
    starting with self.greeting (over TLS where tls is true); a bare accepted connection is
    not enough, as another process may hold a port we chose. stop() ends the process
    (_end_process), runs _after_stop and removes the directory (rmtree_tries times, if it
    stays). The subclass sets self.start_timeout and self.log_path."""

    host = '127.0.0.1'
    error = RuntimeError         # raised when the server cannot start
    port_taken = RuntimeError    # raised by _await_greetings when a port is in use
    in_use = 'in use'            # what the server says then
    greeting = b''               # how its greeting starts
    greet_timeout = 2.0          # seconds for one greeting probe
    poll_interval = 0.05         # seconds between probes
    rmtree_tries = 1

    def __init__(self):
        self.dir = None
        self._proc = None
        self._guard = None
        self._handle = None
        self._lock = threading.Lock()

    # -- for subclasses ------------------------------------------------------------------

    def _prepare(self):
        pass

    def _choose_ports(self):
        raise NotImplementedError

    def _listeners(self):
        """[(port, tls)] that must greet before the server counts as started."""
        raise NotImplementedError

    def _configure(self):
        raise NotImplementedError

    def _spawn(self):
        raise NotImplementedError

    def _end_process(self, proc):
        raise NotImplementedError

    def _after_stop(self):
        pass

    def _failure_text(self):
        return self.log()[-3000:]

    def _describe(self):
        return type(self).__name__

    def _ports_text(self):
        return 'ports %s' % ', '.join(str(p) for p, _tls in self._listeners())

    # -- start and stop ------------------------------------------------------------------

    def start(self):
        if self._proc is not None:
            raise self.error('already started')
        self._handle = register(self.stop)
        try:
            self._prepare()
            last = None
            for _attempt in range(5):
                self._choose_ports()
                self._configure()
                try:
                    self._spawn()
                    return self
                except self.port_taken as e:
                    last = e
            raise self.error('could not bind free ports: %s' % last)
        except BaseException:
            self.stop()
            raise

    def _await_greetings(self):
        """Wait for the greeting on every listener; else stop the process and raise
        port_taken (its output says in_use) or error."""
        want = list(self._listeners())
        deadline = time.monotonic() + self.start_timeout
        while want and time.monotonic() < deadline and self._proc.poll() is None:
            if self._greets(*want[0]):
                want.pop(0)
            else:
                time.sleep(self.poll_interval)
        if not want and self._proc.poll() is None:
            return
        text = self._failure_text()
        self._stop_process()
        if self.in_use in text:
            raise self.port_taken(text)
        raise self.error('%s did not start (%s):\n%s' % (
            self._describe(), self._ports_text(), text))

    def _greets(self, port, tls):
        try:
            with socket.create_connection((self.host, port),
                                          timeout=self.greet_timeout) as sock:
                if tls:
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                    with ctx.wrap_socket(sock) as tsock:
                        return tsock.recv(256).startswith(self.greeting)
                return sock.recv(256).startswith(self.greeting)
        except (OSError, ssl.SSLError):
            return False

    def _stop_process(self):
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            self._end_process(proc)
        finally:
            self._release_guard()

    def stop(self):
        """Stop the server (if running) and remove its directory. Safe to call twice."""
        with self._lock:
            try:
                self._stop_process()
            finally:
                try:
                    self._after_stop()
                finally:
                    self._forget(self.rmtree_tries)


class ServerProcess(ManagedProcess):
    """Readiness, log, stop, context manager and is_running for a test server run as a
    child process that prints "READY <port>" on stdout once it listens. The subclass sets
    self._lock (a threading.Lock), self._proc (Popen or None), self._guard (a Guard or
    None), self._handle (from register() or None), self.dir (its scratch directory,
    removed on stop), self.log_path (its stderr) and self.start_timeout (seconds)."""

    def _wait_ready(self, error_cls, what):
        """The port from the server's "READY <port>" line; error_cls when it says
        anything else, exits or takes longer than start_timeout."""
        deadline = time.monotonic() + self.start_timeout
        buf = b''
        fd = self._proc.stdout.fileno()
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                chunk = os.read(fd, 256)
                if not chunk:
                    break
                buf += chunk
                if b'\n' in buf:
                    line = buf.split(b'\n', 1)[0].decode(errors='replace')
                    if line.startswith('READY '):
                        return int(line.split()[1])
                    raise error_cls('unexpected output from %s: %r' % (what, line))
            elif self._proc.poll() is not None:
                break
        raise error_cls('%s did not start:\n%s' % (what, self.log()[-3000:]))

    def stop(self):
        """Stop the server and remove its directory. Safe to call twice."""
        with self._lock:
            proc, self._proc = self._proc, None
            try:
                if proc is not None:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGTERM)
                        try:
                            proc.wait(timeout=5)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                            proc.wait(timeout=5)
                    for f in (proc.stdin, proc.stdout):
                        try:
                            f.close()
                        except (OSError, AttributeError):
                            pass
            finally:
                self._release_guard()
                self._forget()
