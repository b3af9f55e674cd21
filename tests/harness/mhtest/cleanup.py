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
