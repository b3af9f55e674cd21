# SPDX-License-Identifier: MIT
"""Several "hosts" on this machine, each reachable over SSH: network namespaces with sshd.

    reason = sshhosts.missing()          # None, or why it cannot run (not root, no netns...)
    with sshhosts.SshHosts(3) as hosts:
        hosts.gateway                     # this machine's address on their network
        hosts.ssh_config                  # an ssh_config naming them host1 ... hostN
        hosts.names                       # ['host1', 'host2', 'host3']
        hosts.home(1)                     # host1's home directory, seen from here
        hosts.ssh(1, 'pwd')               # run a command there (CompletedProcess)

The network: a bridge in this namespace holding the gateway address (10.X.Y.1/24, a subnet
no interface here uses), and per host a network namespace joined to it by a veth pair
(10.X.Y.(1+i)). A server that listens on the gateway address is reachable from every host.

Each host runs its own sshd (Debian's openssh-server) from a private configuration: its own
port and ed25519 host key, public-key login only (a key generated per run, for root), no PAM,
no system configuration read. It runs in the namespace's own mount namespace with a private
tmpfs on /run (for sshd's /run/sshd) and a private directory bound over /root, so each host
has its own home: what a job leaves in its working directory or under ~/.local/state stays on
that host. The ssh_config pins each host's key (StrictHostKeyChecking yes, a private
known_hosts) and sets BatchMode, so a wrong key or a prompt fails instead of hanging.

Everything (sshd and the processes of its sessions, namespaces, veths, bridge, files) is
removed on exit, on SIGTERM/SIGINT (cleanup.register) and, when this process is killed with
SIGKILL, by a cleanup.Guard watchdog. Needs root; missing() says what is lacking.
"""
import ipaddress
import os
import random
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from . import cleanup, ports

SSHD = '/usr/sbin/sshd'
PROGRAMS = ('ip', 'ssh', 'ssh-keygen', 'parallel', 'rsync')
# Variables passed to the hosts' sessions when set here (sanitizer settings of the build).
PASSED_ENV = ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS')


class SshHostsError(Exception):
    pass


def _ip(*args, check=True):
    p = subprocess.run(['ip'] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if check and p.returncode != 0:
        raise SshHostsError('ip %s failed: %s' % (' '.join(args),
                                                  p.stderr.decode(errors='replace').strip()))
    return p


def missing():
    """None when SshHosts can run here, else a one-line reason (for a skip)."""
    if os.geteuid() != 0:
        return 'network namespaces need root (run as root, or through scripts/test as root)'
    lacking = [p for p in PROGRAMS if shutil.which(p) is None]
    if not os.access(SSHD, os.X_OK):
        lacking.append(SSHD + ' (openssh-server)')
    if lacking:
        return 'not installed: %s' % ', '.join(lacking)
    probe = 'mhprobe%d' % os.getpid()
    p = _ip('netns', 'add', probe, check=False)
    if p.returncode != 0:
        return '`ip netns add` is refused here: %s' % p.stderr.decode(errors='replace').strip()
    _ip('netns', 'del', probe, check=False)
    return None


def _free_subnet():
    used = _ip('-o', '-4', 'addr', 'show').stdout.decode()
    routes = _ip('-4', 'route', 'show').stdout.decode()
    rng = random.Random()
    for _ in range(200):
        net = ipaddress.ip_network('10.%d.%d.0/24' % (rng.randint(200, 254),
                                                      rng.randint(0, 255)))
        prefix = '10.%d.%d.' % tuple(net.network_address.packed[1:3])
        if prefix not in used and prefix not in routes:
            return net
    raise SshHostsError('no free 10.x.y.0/24 subnet found')


class SshHosts:
    """n hosts (see the module doc). env: more variables for their sessions ({name: value})."""

    def __init__(self, n=3, env=None, start_timeout=15.0):
        self.n = n
        self.env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        self.env.update(env or {})
        self.start_timeout = start_timeout
        self.tag = 'mh%05x' % random.getrandbits(20)
        self.bridge = self.tag + 'b'
        self.netns = ['%sh%d' % (self.tag, i) for i in range(1, n + 1)]
        self.veths = ['%sv%d' % (self.tag, i) for i in range(1, n + 1)]
        self.names = ['host%d' % i for i in range(1, n + 1)]
        self.dir = None
        self.gateway = None
        self.addresses = []
        self.port = None
        self._procs = []
        self._handle = None
        self._guard = None

    # -- paths ----------------------------------------------------------------------------

    def home(self, i):
        """Host i's (1-based) home directory, as seen from this namespace."""
        return os.path.join(self.dir, self.names[i - 1], 'home')

    @property
    def ssh_config(self):
        return os.path.join(self.dir, 'ssh_config')

    def log(self, i):
        try:
            with open(os.path.join(self.dir, self.names[i - 1], 'sshd.log'),
                      errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    # -- start ----------------------------------------------------------------------------

    def start(self):
        self.dir = tempfile.mkdtemp(prefix='mhtest-sshhosts-')
        self._handle = cleanup.register(self.stop)
        self._guard = cleanup.Guard(None, [self.dir], commands=self._teardown_commands())
        try:
            self._network()
            self._keys()
            for i in range(1, self.n + 1):
                self._sshd(i)
            self._client_config()
            for i in range(1, self.n + 1):
                self._await(i)
        except BaseException:
            self.stop()
            raise
        return self

    def _network(self):
        net = _free_subnet()
        hosts = list(net.hosts())
        self.gateway = str(hosts[0])
        self.addresses = [str(hosts[i]) for i in range(1, self.n + 1)]
        _ip('link', 'add', self.bridge, 'type', 'bridge')
        _ip('addr', 'add', '%s/24' % self.gateway, 'dev', self.bridge)
        _ip('link', 'set', self.bridge, 'up')
        for ns, veth, addr in zip(self.netns, self.veths, self.addresses):
            _ip('netns', 'add', ns)
            _ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
            _ip('link', 'set', veth, 'master', self.bridge, 'up')
            _ip('-n', ns, 'addr', 'add', '%s/24' % addr, 'dev', 'eth0')
            _ip('-n', ns, 'link', 'set', 'eth0', 'up')
            _ip('-n', ns, 'link', 'set', 'lo', 'up')

    def _keygen(self, path):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'mhtest',
                        '-f', path], check=True, stdin=subprocess.DEVNULL, timeout=30)

    def _keys(self):
        self.key = os.path.join(self.dir, 'id_ed25519')
        self._keygen(self.key)
        self.port = ports.free_port()  # any port works in a fresh namespace; not 22
        for name in self.names:
            os.makedirs(os.path.join(self.dir, name, 'home', '.ssh'), 0o700)
            os.chmod(os.path.join(self.dir, name, 'home'), 0o700)
            shutil.copy(self.key + '.pub',
                        os.path.join(self.dir, name, 'home', '.ssh', 'authorized_keys'))
            self._keygen(os.path.join(self.dir, name, 'host_key'))

    def _sshd(self, i):
        d = os.path.join(self.dir, self.names[i - 1])
        conf = os.path.join(d, 'sshd_config')
        setenv = ' '.join('"%s=%s"' % (k, v) for k, v in sorted(self.env.items()))
        with open(conf, 'w') as f:
            f.write('\n'.join([
                '# Generated by the mailhaul test harness (tests/harness/mhtest/sshhosts.py).',
                'ListenAddress %s' % self.addresses[i - 1],
                'Port %d' % self.port,
                'HostKey %s' % os.path.join(d, 'host_key'),
                'PidFile %s' % os.path.join(d, 'sshd.pid'),
                'AuthorizedKeysFile .ssh/authorized_keys',
                'AuthenticationMethods publickey',
                'PubkeyAuthentication yes',
                'PasswordAuthentication no',
                'KbdInteractiveAuthentication no',
                'PermitRootLogin prohibit-password',
                'UsePAM no',
                'UseDNS no',
                'PrintMotd no',
                'MaxStartups 50',
                'MaxSessions 50',
                'LogLevel INFO',
            ] + (['SetEnv %s' % setenv] if setenv else [])) + '\n')
        # The namespace's own mount namespace (ip netns exec makes one): a tmpfs on /run
        # for sshd's privilege separation directory, and the host's home bound over /root.
        script = ('mount -t tmpfs -o mode=0755 mhtest /run && mkdir -m 0755 /run/sshd && '
                  'mount --bind %s /root && exec %s -D -e -f %s' % (
                      shlex.quote(os.path.join(d, 'home')), SSHD, shlex.quote(conf)))
        with open(os.path.join(d, 'sshd.log'), 'wb') as log:
            self._procs.append(subprocess.Popen(
                ['ip', 'netns', 'exec', self.netns[i - 1], 'sh', '-c', script],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True))

    def _client_config(self):
        known = os.path.join(self.dir, 'known_hosts')
        with open(known, 'w') as f:
            for i, addr in enumerate(self.addresses, 1):
                with open(os.path.join(self.dir, self.names[i - 1], 'host_key.pub')) as k:
                    f.write('[%s]:%d %s' % (addr, self.port, k.read()))
        with open(self.ssh_config, 'w') as f:
            for name, addr in zip(self.names, self.addresses):
                f.write('Host %s\n  HostName %s\n  Port %d\n  User root\n'
                        '  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n'
                        '  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n'
                        '  BatchMode yes\n  ConnectTimeout 10\n  LogLevel ERROR\n\n' % (
                            name, addr, self.port, self.key, known))

    def _await(self, i):
        proc = self._procs[i - 1]
        if not ports.wait_for_port(self.port, host=self.addresses[i - 1],
                                   timeout=self.start_timeout,
                                   alive=lambda: proc.poll() is None):
            raise SshHostsError('sshd of %s did not start:\n%s' % (self.names[i - 1],
                                                                   self.log(i)[-2000:]))

    # -- use ------------------------------------------------------------------------------

    def ssh(self, i, command, timeout=60):
        """Run command (a shell string) on host i over ssh; a CompletedProcess (text)."""
        return subprocess.run(['ssh', '-F', self.ssh_config, self.names[i - 1], command],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, text=True)

    # -- stop -----------------------------------------------------------------------------

    def _teardown_commands(self):
        """What undoes the network, as argv lists (for the watchdog after a SIGKILL)."""
        cmds = []
        for ns in self.netns:
            cmds.append(['sh', '-c', 'for p in $(ip netns pids %s 2>/dev/null); do '
                         'kill -9 "$p"; done; ip netns del %s' % (ns, ns)])
        cmds += [['ip', 'link', 'del', v] for v in self.veths]
        cmds.append(['ip', 'link', 'del', self.bridge])
        return cmds

    def _kill_namespace(self, ns):
        """Every process in ns (sshd, its sessions and what they started), until none is
        left: a namespace with a process in it outlives `ip netns del`."""
        start = time.monotonic()
        while time.monotonic() < start + 10:
            sig = signal.SIGTERM if time.monotonic() < start + 2 else signal.SIGKILL
            p = _ip('netns', 'pids', ns, check=False)
            pids = [int(x) for x in p.stdout.split()] if p.returncode == 0 else []
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    def stop(self):
        """Stop every sshd and session, remove namespaces, links and files. Safe twice."""
        for ns in self.netns:
            self._kill_namespace(ns)
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self._procs = []
        existing = _ip('netns', 'list', check=False).stdout.decode()
        for ns in self.netns:
            if ns in existing.split():
                _ip('netns', 'del', ns, check=False)
        links = _ip('-o', 'link', 'show', check=False).stdout.decode()
        for link in self.veths + [self.bridge]:
            if (' %s:' % link) in links or (' %s@' % link) in links:
                _ip('link', 'del', link, check=False)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._guard is not None:
            self._guard.release()
            self._guard = None
        if self._handle is not None:
            cleanup.unregister(self._handle)
            self._handle = None

    def leftovers(self):
        """What of this instance still exists (namespaces, links, processes): for a test that
        checks the cleanup. An empty list when all is gone."""
        left = []
        netns = _ip('netns', 'list', check=False).stdout.decode().split()
        left += ['netns ' + ns for ns in self.netns if ns in netns]
        links = _ip('-o', 'link', 'show', check=False).stdout.decode()
        left += ['link ' + link for link in self.veths + [self.bridge]
                 if (' %s:' % link) in links or (' %s@' % link) in links]
        left += ['process %d' % p.pid for p in self._procs if p.poll() is None]
        if self.dir and os.path.exists(self.dir):
            left.append('directory ' + self.dir)
        return left

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
