#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Debian package: `dpkg-buildpackage -us -uc -b` on a clean copy of the source tree
(the files git knows, no build directories) builds a .deb without running the tests; the
.deb holds the binary, both man pages, the completions, the example config and the systemd
user units; unpacked with `dpkg -x` into a scratch root, its `mailhaul --version` runs and
its man pages render without warnings."""
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile

from mhtest import cleanup, tap

SRC = os.environ['MH_SOURCE_ROOT']
S = {}

EXPECTED = [
    './usr/bin/mailhaul',
    './usr/share/man/man1/mailhaul.1.gz',
    './usr/share/man/man5/mailhaul.conf.5.gz',
    './usr/share/bash-completion/completions/mailhaul',
    './usr/share/zsh/site-functions/_mailhaul',
    './usr/share/doc/mailhaul/mailhaul.conf.example',
    './usr/lib/systemd/user/mailhaul-sync@.service',
    './usr/lib/systemd/user/mailhaul-sync@.timer',
    './usr/share/doc/mailhaul/copyright',
]


def source_files():
    """The files of the tree as git knows them (tracked, and new ones not ignored)."""
    r = subprocess.run(['git', '-C', SRC, 'ls-files', '-z', '--cached', '--others',
                        '--exclude-standard'], capture_output=True)
    if r.returncode == 0:
        return [f for f in r.stdout.decode().split('\0')
                if f and os.path.lexists(os.path.join(SRC, f))]
    files = []
    for root, dirs, names in os.walk(SRC):
        dirs[:] = [d for d in dirs if not d.startswith(('build', '.git', 'node_modules'))]
        files += [os.path.relpath(os.path.join(root, n), SRC) for n in names]
    return files


def setup():
    @contextlib.contextmanager
    def ctx():
        work = tempfile.mkdtemp(prefix='mhtest-deb-')
        cleanup.register(lambda: shutil.rmtree(work, ignore_errors=True))
        tree = os.path.join(work, 'mailhaul')
        for f in source_files():
            dst = os.path.join(tree, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(SRC, f), dst, follow_symlinks=False)
        env = dict(os.environ, DEB_BUILD_OPTIONS='nocheck parallel=1', LC_ALL='C.UTF-8')
        r = subprocess.run(['dpkg-buildpackage', '-us', '-uc', '-b'], cwd=tree, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=1500)
        S['build'] = r
        S['debs'] = glob.glob(os.path.join(work, 'mailhaul_*.deb'))
        S['root'] = os.path.join(work, 'root')
        yield
    return ctx()


@tap.test
def dpkg_buildpackage_builds_a_deb():
    r = S['build']
    tail = '\n'.join((r.stdout + r.stderr).splitlines()[-60:])
    tap.eq(r.returncode, 0, 'dpkg-buildpackage exit code\n' + tail)
    tap.eq(len(S['debs']), 1, 'the .deb files built: %r' % S['debs'])
    tap.check('meson test' not in r.stdout + r.stderr, 'the package build ran the tests\n' + tail)


@tap.test
def the_deb_holds_every_file():
    if not S['debs']:
        tap.fail('no .deb was built')
    listing = subprocess.run(['dpkg-deb', '-c', S['debs'][0]], capture_output=True,
                             text=True, check=True).stdout
    paths = {line.split()[-1] if ' -> ' not in line else line.split()[-3]
             for line in listing.splitlines()}
    missing = [p for p in EXPECTED if p not in paths]
    tap.check(not missing, 'not in the package: %s\n%s' % (missing, listing))
    info = subprocess.run(['dpkg-deb', '-f', S['debs'][0], 'Package', 'Version', 'Depends'],
                          capture_output=True, text=True, check=True).stdout
    tap.contains('Package: mailhaul', info, 'the package fields')
    for lib in ('libglib2.0-0', 'libcurl', 'libsecret-1-0', 'libgmime-3.0'):
        tap.contains(lib, info, 'Depends (from shlibs)')


@tap.test
def the_unpacked_binary_runs():
    if not S['debs']:
        tap.fail('no .deb was built')
    subprocess.run(['dpkg', '-x', S['debs'][0], S['root']], check=True)
    exe = os.path.join(S['root'], 'usr', 'bin', 'mailhaul')
    r = subprocess.run([exe, '--version'], capture_output=True, text=True,
                       env=dict(os.environ, LD_LIBRARY_PATH=os.path.join(S['root'], 'usr',
                                                                         'lib')))
    tap.eq(r.returncode, 0, 'mailhaul --version exit code\n' + r.stderr)
    tap.match(r'^mailhaul 0\.\d+\.\d+$', r.stdout, 'mailhaul --version')
    with open(os.path.join(SRC, 'meson.build')) as f:
        tap.contains("version: '%s'" % r.stdout.split()[1], f.read(), 'the project version')
    for page in ('man1/mailhaul.1.gz', 'man5/mailhaul.conf.5.gz'):
        path = os.path.join(S['root'], 'usr', 'share', 'man', page)
        m = subprocess.run(['man', '-l', '--warnings', path], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH='80'))
        tap.eq(m.returncode, 0, 'man -l %s' % page)
        tap.eq(m.stderr, '', 'warnings of man -l %s' % page)
    unit = os.path.join(S['root'], 'usr', 'lib', 'systemd', 'user', 'mailhaul-sync@.service')
    with open(unit) as f:
        tap.contains('ExecStart=/usr/bin/mailhaul sync --job %i --quiet', f.read(),
                     'the packaged service unit')


if __name__ == '__main__':
    tap.main(setup=setup, requires=('dpkg-buildpackage', 'dh'))
