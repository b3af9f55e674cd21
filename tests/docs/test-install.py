#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`meson install` into a scratch DESTDIR: the binary, both man pages, the bash and zsh
completions, the example config and the systemd user units are where README says; each man
page renders with `man -l` without a warning; the example config is one the installed
binary accepts; the units run the installed binary; and the bash completion, sourced into
a bash, completes a command, an option, an option's value and a stored account (asking
the installed binary for its help and its stored sign-ins); the zsh completion parses, is
bound to mailhaul by compinit, and completes a command, an option and a value."""
import contextlib
import os
import shutil
import subprocess

from mhtest import cli, tap

BUILD = os.environ['MH_BUILD_ROOT']
S = {}


def installed(*parts):
    return os.path.join(S['dest'] + S['dirs']['prefix'], *parts)


def setup():
    @contextlib.contextmanager
    def ctx():
        dest, dirs = cli.meson_install(BUILD)
        S.update(dest=dest, dirs=dirs)
        yield
    return ctx()


def expected_files():
    d = S['dirs']
    return {
        'binary': (d['bindir'], 'mailhaul'),
        'mailhaul(1)': (d['mandir'], 'man1', 'mailhaul.1'),
        'mailhaul.conf(5)': (d['mandir'], 'man5', 'mailhaul.conf.5'),
        'bash completion': (d['datadir'], 'bash-completion', 'completions', 'mailhaul'),
        'zsh completion': (d['datadir'], 'zsh', 'site-functions', '_mailhaul'),
        'example config': (d['datadir'], 'doc', 'mailhaul', 'mailhaul.conf.example'),
        'service unit': ('lib', 'systemd', 'user', 'mailhaul-sync@.service'),
        'timer unit': ('lib', 'systemd', 'user', 'mailhaul-sync@.timer'),
    }


def path_of(what):
    return installed(*expected_files()[what])


def env():
    e = cli.environment()
    e['PATH'] = os.path.dirname(path_of('binary')) + os.pathsep + e.get('PATH', '')
    return e


@tap.test
def every_file_is_installed():
    missing = [what + ': ' + path_of(what) for what in expected_files()
               if not os.path.isfile(path_of(what))]
    tap.check(not missing, 'not installed:\n  ' + '\n  '.join(missing))
    tap.check(os.access(path_of('binary'), os.X_OK), 'the binary is not executable')
    r = subprocess.run([path_of('binary'), '--version'], capture_output=True, text=True)
    tap.match(r'^mailhaul \d+\.\d+', r.stdout, 'mailhaul --version')


@tap.test
def man_pages_render_without_warnings():
    for what, name in (('mailhaul(1)', 'mailhaul'), ('mailhaul.conf(5)', 'mailhaul.conf')):
        page = path_of(what)
        r = subprocess.run(['man', '-l', '--warnings', page], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH='80', MANPAGER='cat', PAGER='cat'))
        tap.eq(r.returncode, 0, 'man -l %s exit code\n%s' % (page, r.stderr))
        tap.eq(r.stderr, '', 'warnings of man -l --warnings %s' % page)
        tap.contains('NAME', r.stdout, 'man -l %s' % page)
        tap.contains(name + ' - ', r.stdout, 'man -l %s' % page)
        r = subprocess.run(['groff', '-ww', '-man', '-z', page], capture_output=True, text=True)
        tap.eq(r.stderr, '', 'warnings of groff -ww -man -z %s' % page)
    text = subprocess.run(['man', '-l', path_of('mailhaul(1)')], capture_output=True,
                          text=True, env=dict(os.environ, MANWIDTH='80')).stdout
    for section in ('SYNOPSIS', 'COMMANDS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES'):
        tap.contains(section, text, 'mailhaul(1)')


@tap.test
def example_config_is_accepted():
    r = subprocess.run([path_of('binary'), 'provider', 'show', 'm365', '--config',
                        path_of('example config')], capture_output=True, text=True, env=env())
    tap.eq(r.returncode, 0, 'provider show with the example config\n%s' % r.stderr)
    tap.contains('contoso.onmicrosoft.com', r.stdout, 'provider show m365')
    r = subprocess.run([path_of('binary'), 'sync', '--job', 'alice', '--dry', '--config',
                        path_of('example config'), '--justlogin', '--timeout1', '1'],
                       capture_output=True, text=True, env=env(), stdin=subprocess.DEVNULL)
    tap.not_contains('unknown', r.stderr, 'sync --job alice of the example config')


@tap.test
def units_run_the_installed_binary():
    bindir = os.path.join(S['dirs']['prefix'], S['dirs']['bindir'])
    with open(path_of('service unit')) as f:
        service = f.read()
    tap.contains('ExecStart=%s/mailhaul sync --job %%i --quiet\n' % bindir, service,
                 'mailhaul-sync@.service')
    tap.contains('Type=oneshot', service, 'mailhaul-sync@.service')
    with open(path_of('timer unit')) as f:
        timer = f.read()
    for line in ('OnCalendar=hourly', 'Persistent=true', 'RandomizedDelaySec=',
                 'WantedBy=timers.target'):
        tap.contains(line, timer, 'mailhaul-sync@.timer')


def complete(*words, extra_env=None):
    """COMPREPLY of the installed bash completion for a command line ending in words[-1]."""
    script = ('source "$1"; shift; complete -p mailhaul || exit 3; COMP_WORDS=("$@"); '
              'COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _mailhaul; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    e = env()
    e.update(extra_env or {})
    r = subprocess.run(['bash', '--norc', '--noprofile', '-c', script, 'bash',
                        path_of('bash completion')] + list(words),
                       capture_output=True, text=True, env=e, timeout=60)
    tap.eq(r.returncode, 0, 'bash completion of %r\n%s' % (words, r.stderr))
    tap.contains('complete -F _mailhaul mailhaul', r.stdout, 'complete -p mailhaul')
    return r.stdout.splitlines()[1:]


@tap.test
def bash_completes_commands_and_options():
    got = complete('mailhaul', 'sy')
    tap.eq(got, ['sync'], 'completions of "mailhaul sy"')
    got = complete('mailhaul', 'batch-')
    tap.eq(got, ['batch-report'], 'completions of "mailhaul batch-"')
    got = complete('mailhaul', 'sync', '--delete2')
    tap.eq(sorted(got), ['--delete2', '--delete2duplicates', '--delete2folders'],
           'completions of "mailhaul sync --delete2"')
    got = complete('mailhaul', 'check', '--pass')
    tap.eq(got, ['--passfile', '--password'], 'completions of "mailhaul check --pass"')
    got = complete('mailhaul', 'login', '--flow', '')
    tap.eq(sorted(got), ['browser', 'device', 'paste'], 'values of --flow')
    got = complete('mailhaul', '--host1', 'h', '--justf')
    tap.eq(sorted(got), ['--justfolders', '--justfoldersizes'],
           'imapsync style: options of sync')


@tap.test
def bash_completes_stored_accounts_and_providers():
    r = cli.run(['login', 'generic:carol', '--token-store', 'file'],
                env={'MAILHAUL_PASSWORD': 'not-a-real-one'})
    tap.eq(r.code, 0, 'storing a password for generic:carol\n%s' % r)
    got = complete('mailhaul', 'sync', 'gen')
    tap.check('generic:carol' in got and 'generic:' in got,
              'completions of "mailhaul sync gen": %r' % got)
    got = complete('mailhaul', 'provider', 'show', 'g')
    tap.eq(sorted(got), ['generic', 'gmail'], 'completions of "mailhaul provider show g"')


@tap.test
def zsh_completion_parses_and_completes():
    if shutil.which('zsh') is None:
        tap.skip('zsh is not installed')
    r = subprocess.run(['zsh', '-n', path_of('zsh completion')], capture_output=True,
                       text=True)
    tap.eq(r.returncode, 0, 'zsh -n _mailhaul\n%s' % r.stderr)
    # compinit finds it in an fpath and binds it to mailhaul.
    script = ('fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2/zcompdump"; '
              'print -r -- "$_comps[mailhaul]"')
    r = subprocess.run(['zsh', '-f', '-c', script, 'zsh',
                        os.path.dirname(path_of('zsh completion')), S['dest']],
                       capture_output=True, text=True, env=env(), timeout=60)
    tap.eq(r.stdout.strip(), '_mailhaul', 'zsh binding of mailhaul\n%s' % r.stderr)
    # Its logic, with the completion system's builtins replaced by ones that print what
    # they are given.
    stubs = (r'_describe() { print -l -- ${(P)${@[-1]}}; }; compadd() { print -l -- "$@"; }; '
             r'_files() { print -- _files "$@"; }; _message() { :; }; '
             r'_call_program() { shift; "$@"; }; '
             r'source "$1" >/dev/null; shift; words=("$@"); CURRENT=$#; PREFIX=${@[-1]}; '
             r'_mailhaul')

    def zcomplete(*words):
        r = subprocess.run(['zsh', '-f', '-c', stubs, 'zsh', path_of('zsh completion')] +
                           list(words), capture_output=True, text=True, env=env(), timeout=60)
        tap.eq(r.stderr, '', 'zsh completion of %r' % (words,))
        return r.stdout.splitlines()
    got = zcomplete('mailhaul', 'sy')
    tap.check(any(l.startswith('sync:') for l in got), 'commands: %r' % got)
    got = zcomplete('mailhaul', 'sync', '--del')
    tap.check('--delete2folders:Delete destination folders that are not on the source' in got,
              'options of sync: %r' % got)
    tap.eq(zcomplete('mailhaul', 'login', '--flow', ''), ['browser', 'device', 'paste'],
           'values of --flow')


if __name__ == '__main__':
    tap.main(setup=setup)
