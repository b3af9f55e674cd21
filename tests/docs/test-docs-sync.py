#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The man pages follow the program: every command and option that the built binary's help
prints (`mailhaul --help`, `mailhaul COMMAND --help`, and --help-all where offered) appears
in docs/mailhaul.1.scd (and every command in README.md), every exit code of the global help
too, and every config key that
src/config.c accepts appears in docs/mailhaul.conf.5.scd; the other way round, every key
that mailhaul.conf(5) documents is accepted by the binary. The lists are read at test time,
so an option added to a table shows here until the page says what it does."""
import os
import re
import subprocess
import tempfile

from mhtest import cli, tap

SRC = os.environ['MH_SOURCE_ROOT']
PAGE1 = os.path.join(SRC, 'docs', 'mailhaul.1.scd')
PAGE5 = os.path.join(SRC, 'docs', 'mailhaul.conf.5.scd')
# An option line of GOption's help or of a hand-written one: "  -q, --quiet ...",
# "  --host1=HOST ...", "  --jobs N ...".
OPTION_LINE = re.compile(r'^\s+(?:(-[A-Za-z]), )?(--[A-Za-z0-9][A-Za-z0-9_-]*)', re.M)


def run(*args):
    r = subprocess.run([cli.binary()] + list(args), capture_output=True, text=True,
                       env=cli.environment(), timeout=30)
    return r.stdout + r.stderr


def commands():
    text = run('--help')
    block = text.split('Commands:', 1)[1].split('\n\n', 1)[0]
    names = re.findall(r'^  ([a-z][a-z-]*) ', block, re.M)
    tap.check(len(names) >= 5, 'no commands in `mailhaul --help`:\n' + text)
    return names


def options_of(command):
    if command == 'help':
        return set()  # `mailhaul help [COMMAND]` takes no option
    text = run(command, '--help')
    if '--help-all' in text:
        text += run(command, '--help-all')
    found = set()
    for short, long in OPTION_LINE.findall(text):
        found.add(long)
        if short:
            found.add(short)
    tap.check(found, '`mailhaul %s --help` lists no option:\n%s' % (command, text))
    return found


def documented(page, word):
    """Whether @word appears in @page as a whole word (not as the start of a longer one)."""
    return re.search(r'(?<![A-Za-z0-9_-])' + re.escape(word) + r'(?![A-Za-z0-9_-])', page)


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


@tap.test
def every_command_is_in_the_man_page():
    page = read(PAGE1)
    missing = [c for c in commands() if not documented(page, c)]
    tap.check(not missing, 'commands missing from docs/mailhaul.1.scd: %s' % missing)


@tap.test
def every_command_is_in_the_readme():
    readme = read(os.path.join(SRC, 'README.md'))
    missing = [c for c in commands() if c != 'help' and
               not re.search(r'`mailhaul %s[` ]' % re.escape(c), readme) and
               not re.search(r'/ `%s`' % re.escape(c), readme)]
    tap.check(not missing, 'commands README.md does not show as `mailhaul COMMAND`: %s' %
              missing)


@tap.test
def every_option_of_every_command_is_in_the_man_page():
    page = read(PAGE1)
    missing = []
    for command in commands():
        for option in sorted(options_of(command)):
            if not documented(page, option):
                missing.append('%s %s' % (command, option))
    tap.check(not missing, 'options that `mailhaul COMMAND --help` prints but '
              'docs/mailhaul.1.scd does not mention:\n  ' + '\n  '.join(missing))


@tap.test
def every_exit_code_is_in_the_man_page():
    text = run('--help')
    codes = re.findall(r'^\s+(\d+)\s{2,}', text.split('Exit codes:', 1)[1], re.M)
    tap.check(len(codes) >= 5, 'no exit codes in `mailhaul --help`:\n' + text)
    status = read(PAGE1).split('# EXIT STATUS', 1)[1].split('\n# ', 1)[0]
    missing = [c for c in codes if '*%s*' % c not in status]
    tap.check(not missing, 'exit codes missing from EXIT STATUS: %s' % missing)


def config_keys():
    """The keys src/config.c accepts: its tables of key names."""
    text = read(os.path.join(SRC, 'src', 'config.c'))
    keys = []
    for table in re.findall(r'static const char \*const (?:config|job)_keys\[\] = \{(.*?)\};',
                            text, re.S):
        keys += re.findall(r'"([a-z0-9-]+)"', table)
    tap.check(len(keys) >= 10, 'no key tables found in src/config.c')
    return keys


@tap.test
def every_config_key_is_in_the_config_man_page():
    page = read(PAGE5)
    missing = [k for k in config_keys() if not re.search(r'^\*%s\* =' % re.escape(k), page,
                                                         re.M)]
    tap.check(not missing, 'config keys that src/config.c accepts but '
              'docs/mailhaul.conf.5.scd does not describe (as "*KEY* = ..."): %s' % missing)


@tap.test
def every_documented_provider_key_is_accepted():
    page = read(PAGE5)
    section = page.split('# PROVIDER AND ACCOUNT KEYS', 1)[1].split('\n# ', 1)[0]
    keys = re.findall(r'^\*([a-z0-9-]+)\* =', section, re.M)
    tap.check(len(keys) >= 10, 'no keys found in PROVIDER AND ACCOUNT KEYS')
    sample = {'imap-port': '993', 'imap-tls': 'ssl', 'flow': 'device', 'token-store': 'file'}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'config.ini')
        for key in keys:
            with open(path, 'w') as f:
                f.write('[provider generic]\n%s = %s\n' % (key, sample.get(key, 'x')))
            out = run('provider', 'show', 'generic', '--config', path)
            tap.check('unknown key' not in out, 'documented key %s refused:\n%s' % (key, out))


if __name__ == '__main__':
    tap.main()
