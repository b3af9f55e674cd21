#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/demo, run as a user would, leaves nothing behind in the user's home.

HOME and every XDG directory point into a scratch home that already holds a user's
config file and one stored sign-in in each token store (the keyring: gnome-keyring in a
private D-Bus session started by with-keyring.sh; and the file store). The demo runs there
with the build directory of this test run (MH_DEMO_BUILD, so nothing is configured or
built again). Afterwards: the demo succeeded, every file and directory of the scratch home
is as it was (path, type, mode, size and content), and `mailhaul accounts` lists exactly
the user's two sign-ins, no demo entry, in either store.

Skipped when a Debian package the demo would install is missing (the test must not install
anything), or when gnome-keyring is not installed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from mhtest import cleanup, cli, oauth, tap

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
WITH_KEYRING = os.path.join(ROOT, 'tests', 'integration', 'with-keyring.sh')
DEMO_TIMEOUT = 540
USER = 'dora@example.com'

# Inside the private D-Bus session: the user's sign-ins, a snapshot, the demo, a snapshot,
# the sign-ins again. The session's gnome-keyring is "the user's keyring".
SCRIPT = r'''
export HOME="$SCR/home" XDG_CONFIG_HOME="$SCR/home/.config" XDG_DATA_HOME="$SCR/home/.local/share"
export XDG_STATE_HOME="$SCR/home/.local/state" XDG_CACHE_HOME="$SCR/home/.cache"
MAILHAUL_PASSWORD=user-pw "$MH" login "generic:$USER_NAME" --token-store keyring </dev/null &&
MAILHAUL_PASSWORD=user-pw "$MH" login "generic:$USER_NAME" --token-store file </dev/null ||
	{ echo "=== setup failed"; exit 1; }
"$MH" accounts </dev/null >"$SCR/accounts-before" 2>&1
echo "=== accounts-before $?"
python3 "$SNAP" "$SCR/home" >"$SCR/snapshot-before" || exit 1
unset MAILHAUL_CONFIG
"$DEMO" </dev/null >"$SCR/demo.out" 2>&1
echo "=== demo $?"
python3 "$SNAP" "$SCR/home" >"$SCR/snapshot-after" || exit 1
"$MH" accounts </dev/null >"$SCR/accounts-after" 2>&1
echo "=== accounts-after $?"
'''

# Prints one line per file, directory or link under argv[1]: path, type, mode, size, sha256.
SNAPSHOT = r'''
import hashlib, os, stat, sys
top = sys.argv[1]
for root, dirs, files in os.walk(top):
    dirs.sort()
    for name in sorted(dirs + files):
        p = os.path.join(root, name)
        st = os.lstat(p)
        digest = '-'
        if stat.S_ISREG(st.st_mode):
            with open(p, 'rb') as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            digest = os.readlink(p)
        size = st.st_size if not stat.S_ISDIR(st.st_mode) else 0
        print('%s %o %d %s' % (os.path.relpath(p, top), st.st_mode, size, digest))
'''


def demo_packages():
    out = subprocess.run(['bash', '-c', 'source "$1"; echo $MH_BUILD_PACKAGES $MH_TEST_PACKAGES',
                          'lib', os.path.join(ROOT, 'scripts', 'lib.sh')],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return out.split()


def missing_packages():
    missing = []
    for pkg in demo_packages():
        r = subprocess.run(['dpkg-query', '-W', '-f=${Status}', pkg], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        if 'install ok installed' not in r.stdout:
            missing.append(pkg)
    return missing


def read(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except OSError:
        return '(missing)'


def account_lines(text):
    return sorted(line.split()[0] + ' ' + line.split()[2] for line in text.splitlines()
                  if line.strip() and len(line.split()) >= 3)


@tap.test
def demo_leaves_the_users_home_and_stores_untouched():
    missing = missing_packages()
    if missing:
        tap.skip('the demo would install Debian packages: %s' % ' '.join(missing))
    for tool in ('gnome-keyring-daemon', 'dbus-run-session', 'dbus-send', 'setsid'):
        if shutil.which(tool) is None:
            tap.skip('%s is not installed' % tool)
    build = os.path.dirname(os.path.dirname(cli.binary()))
    scr = tempfile.mkdtemp(prefix='mhtest-demo-')
    cleanup.register(lambda: shutil.rmtree(scr, ignore_errors=True))
    home = os.path.join(scr, 'home')
    config = os.path.join(home, '.config', 'mailhaul')
    os.makedirs(config, 0o700)
    with open(os.path.join(config, 'config.ini'), 'w') as f:
        f.write('# the user\'s own config\n[account generic:%s]\nimap-host = imap.example.com\n'
                % USER)
    snap = os.path.join(scr, 'snapshot.py')
    with open(snap, 'w') as f:
        f.write(SNAPSHOT)
    env = cli.environment({'SCR': scr, 'MH': cli.binary(), 'SNAP': snap, 'USER_NAME': USER,
                           'DEMO': os.path.join(ROOT, 'scripts', 'demo'),
                           'MH_DEMO_BUILD': build})
    p = subprocess.run([WITH_KEYRING, 'sh', '-c', SCRIPT], env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=DEMO_TIMEOUT)
    if p.returncode == 77:
        tap.skip('with-keyring.sh: %s' % p.stderr.strip())
    codes = dict(re.findall(r'^=== ([\w-]+) (\d+)$', p.stdout, re.M))
    demo_out = read(os.path.join(scr, 'demo.out'))
    tap.eq(codes.get('demo'), '0', 'exit code of scripts/demo\n%s\n%s\n--- demo ---\n%s' % (
        p.stdout, p.stderr, demo_out[-6000:]))
    tap.check('login demo:carol' in demo_out or oauth.available() is not None,
              'the demo did not show its OAuth sign-in\n%s' % demo_out[-3000:])
    tap.diag('demo output: %d lines' % len(demo_out.splitlines()))
    before = read(os.path.join(scr, 'snapshot-before')).splitlines()
    after = read(os.path.join(scr, 'snapshot-after')).splitlines()
    tap.check(before and before[0] != '(missing)', 'no snapshot of the home before the demo')
    gone = sorted(set(before) - set(after))
    new = sorted(set(after) - set(before))
    tap.check(not gone and not new, 'the demo changed the home directory:\n'
              'before only:\n  %s\nafter only:\n  %s' % ('\n  '.join(gone), '\n  '.join(new)))
    tap.eq(codes.get('accounts-before'), '0', 'exit code of accounts before the demo')
    tap.eq(codes.get('accounts-after'), '0', 'exit code of accounts after the demo')
    acc_before = read(os.path.join(scr, 'accounts-before'))
    acc_after = read(os.path.join(scr, 'accounts-after'))
    tap.eq(account_lines(acc_before),
           sorted(['generic:%s file' % USER, 'generic:%s secret-service' % USER]),
           'the user\'s sign-ins before the demo\n%s' % acc_before)
    tap.eq(account_lines(acc_after), account_lines(acc_before),
           'the sign-ins after the demo\n%s' % acc_after)
    tap.check('demo' not in acc_after, 'a demo sign-in in the user\'s stores\n%s' % acc_after)


if __name__ == '__main__':
    tap.main(requires=('dovecot', 'openssl', 'python3'))
