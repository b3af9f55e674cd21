# SPDX-License-Identifier: MIT
"""Where the Cyrus and Courier test servers live: a private root unpacked from Debian packages.

Debian's cyrus-imapd and courier-imap conflict with dovecot-imapd as installed packages, so
scripts/lib.sh (mh_install_private_servers) downloads them with `apt-get download` and unpacks
them with `dpkg-deb -x` into this directory instead; only their runtime libraries are installed.
This module is the one place that names the directory: `python3 -m mhtest.privroot` prints it
(scripts/lib.sh asks it), `root()` returns it.

    privroot.root()                  the directory (it may not exist yet)
    privroot.missing('cyrus')        None, or why the Cyrus test server cannot run here
    privroot.path('usr/sbin/...')    a path inside the root
    privroot.environment()           os.environ plus LD_LIBRARY_PATH for the root's libraries

Postfix (the submission server of the send tests) conflicts with every other mail transport
agent as an installed package, so it is unpacked into the same root, with its own marker
`.complete-postfix` (`python3 -m mhtest.privroot packages postfix`): adding it does not make
the Cyrus and Courier packages unpack again.

The root is $MH_SERVERS_ROOT when set; as root /var/cache/mailhaul-tests/servers (the servers'
unprivileged users must be able to reach the binaries, and root's home is private); otherwise
$XDG_CACHE_HOME/mailhaul-tests/servers (~/.cache when unset). A file `.complete` in it lists
the unpacked packages once the unpacking finished.
"""
import os
import sys

PACKAGES = {
    'cyrus': ('cyrus-imapd', 'cyrus-common'),
    'courier': ('courier-imap', 'courier-base', 'courier-authlib', 'courier-authdaemon',
                'courier-authlib-userdb'),
}
# Unpacked on their own, each with its marker file .complete-KIND.
SEPARATE = {
    'postfix': ('postfix',),
}
# Installed for real (they do not conflict with anything): what the unpacked binaries link
# against, and saslpasswd2 for Cyrus's password database.
RUNTIME_PACKAGES = ('libxapian30', 'libical3', 'libidn12', 'libcourier-unicode4', 'libgamin0',
                    'libltdl7', 'sasl2-bin', 'libsasl2-modules', 'libsasl2-modules-db',
                    'libdb5.3', 'libicu72', 'libnsl2', 'libsasl2-2')

# What each server needs from the root (relative paths).
NEEDS = {
    'cyrus': ('usr/lib/cyrus/bin/master', 'usr/lib/cyrus/bin/imapd',
              'usr/lib/cyrus/bin/ctl_cyrusdb'),
    'courier': ('usr/lib/courier/courier-authlib/authdaemond', 'usr/sbin/couriertcpd',
                'usr/lib/courier/courier/imaplogin', 'usr/bin/imapd', 'usr/bin/couriertls',
                'usr/lib/courier-authlib/libauthuserdb.so', 'usr/sbin/makeuserdb',
                'usr/lib/courier/courier-authlib/makedatprog'),
    'postfix': ('usr/lib/postfix/sbin/master', 'usr/lib/postfix/sbin/smtpd',
                'usr/lib/postfix/sbin/lmtp', 'usr/lib/postfix/libpostfix-global.so'),
}


def root():
    env = os.environ.get('MH_SERVERS_ROOT')
    if env:
        return os.path.abspath(env)
    if os.geteuid() == 0:
        return '/var/cache/mailhaul-tests/servers'
    cache = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'),
                                                              '.cache')
    return os.path.join(cache, 'mailhaul-tests', 'servers')


def path(rel):
    return os.path.join(root(), rel)


def missing(kind):
    """None when the servers of kind ('cyrus' or 'courier') can run, else the reason."""
    base = root()
    marker = '.complete-' + kind if kind in SEPARATE else '.complete'
    if not os.path.exists(os.path.join(base, marker)):
        return ('the %s test server is not unpacked in %s (scripts/test does it: '
                'mh_install_private_servers in scripts/lib.sh)' % (kind, base))
    absent = [p for p in NEEDS[kind] if not os.path.exists(os.path.join(base, p))]
    if absent:
        return 'the private root %s lacks %s' % (base, ', '.join(absent))
    if kind == 'cyrus' and not _which('saslpasswd2'):
        return 'saslpasswd2 is not installed (Debian package sasl2-bin)'
    return None


def _which(prog):
    for d in os.environ.get('PATH', '/usr/bin:/bin').split(os.pathsep) + ['/usr/sbin',
                                                                           '/sbin']:
        p = os.path.join(d, prog)
        if os.access(p, os.X_OK):
            return p
    return None


def library_path():
    base = root()
    dirs = [os.path.join(base, d) for d in ('usr/lib', 'usr/lib/x86_64-linux-gnu',
                                            'usr/lib/courier-authlib', 'usr/lib/postfix')]
    return ':'.join(d for d in dirs if os.path.isdir(d))


def environment(extra=None):
    env = dict(os.environ)
    lib = library_path()
    env['LD_LIBRARY_PATH'] = lib + (':' + env['LD_LIBRARY_PATH']
                                    if env.get('LD_LIBRARY_PATH') else '')
    env.update(extra or {})
    return env


if __name__ == '__main__':
    if sys.argv[1:] == ['packages']:
        print(' '.join(p for kind in sorted(PACKAGES) for p in PACKAGES[kind]))
    elif sys.argv[1:2] == ['packages'] and sys.argv[2:3] and sys.argv[2] in SEPARATE:
        print(' '.join(SEPARATE[sys.argv[2]]))
    elif sys.argv[1:] == ['separate']:
        print(' '.join(sorted(SEPARATE)))
    elif sys.argv[1:] == ['runtime']:
        print(' '.join(RUNTIME_PACKAGES))
    else:
        print(root())
