#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every help text reads as documentation: each command's help exits 0, every option listed
has a description, no description or sentence stops mid-way, `help sync` groups its options,
shows SOURCE DEST in its usage, has three worked examples and lists every exit code of
README.md; `mailhaul help help` works. No server is needed."""
import os
import re

from mhtest import cli, tap

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'README.md')
# Words a description or a sentence cannot end with.
DANGLING = {'a', 'an', 'the', 'and', 'or', 'of', 'to', 'with', 'for', 'in', 'on', 'by', 'from',
            'as', 'at', 'than', 'but', 'nor', 'is', 'are', 'be', 'not', 'its', 'their', 'your'}
OPTION = re.compile(r'^  (?:-\w, )?(--[\w-]+)(?:[= ]\S+)?(?:\s{2,}(.*))?$')


def commands():
    r = cli.run(['--help'])
    tap.eq(r.code, 0, 'exit code of mailhaul --help')
    block = r.stdout.split('Commands:\n', 1)[1].split('\n\n', 1)[0]
    return [line.split()[0] for line in block.splitlines()]


def readme_exit_codes(command=None):
    """The codes of README's table; for @command, those not said to be another
    command's alone (a row that starts with `check --send-test`: is check's)."""
    with open(README, encoding='utf-8') as f:
        text = f.read()
    table = text.split('## Exit codes', 1)[1].split('\n## ', 1)[0]
    rows = re.findall(r'^\| (\d+) \| (`[a-z]+[^`]*`:)?', table, re.M)
    return [code for code, only in rows
            if command is None or not only or only.startswith('`%s' % command)]


def complete(text, what):
    """The text ends as a sentence or a list item ends: not on a dangling word, a comma, an
    opening bracket or a hyphen, and with its brackets closed."""
    t = text.rstrip()
    if not t:
        return '%s: empty' % what
    last = re.split(r'[\s(]', t)[-1].lower()
    if t[-1] in ',;(-/' or last in DANGLING:
        return '%s ends mid-sentence: %r' % (what, t[-60:])
    if t.count('(') != t.count(')'):
        return '%s has unbalanced brackets: %r' % (what, t[-80:])
    return None


def problems(text):
    """What is cut off or missing in a help text: [str]."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = OPTION.match(line)
        if m and not line.startswith('   '):
            desc = m.group(2) or ''
            # Continuation lines are indented further than the option.
            while i + 1 < len(lines) and re.match(r'^ {6,}\S', lines[i + 1]) and \
                    not OPTION.match(lines[i + 1]):
                i += 1
                desc += ' ' + lines[i].strip()
            if not desc.strip():
                out.append('%s has no description' % m.group(1))
            else:
                p = complete(desc, m.group(1))
                if p:
                    out.append(p)
            i += 1
            continue
        if line.strip() and not line.startswith(' ') and not line.endswith(':'):
            # A paragraph: the lines up to the next blank one.
            para = [line]
            while i + 1 < len(lines) and lines[i + 1].strip() and \
                    not lines[i + 1].startswith('  '):
                i += 1
                para.append(lines[i])
            text_ = ' '.join(para)
            if not text_.startswith('Usage:'):
                p = complete(text_, 'paragraph %r' % text_[:40])
                if p:
                    out.append(p)
                elif text_.rstrip()[-1] not in '.:)`':
                    out.append('paragraph %r does not end a sentence' % text_[-60:])
        elif line.startswith('  ') and not line.startswith('   ') and line.strip() \
                and not line.strip().startswith('-'):
            # An indented list item (a command, an exit code, an example's title).
            item = line.strip()
            while i + 1 < len(lines) and re.match(r'^ {4,}\S', lines[i + 1]) and \
                    not lines[i + 1].strip().startswith(('mailhaul', '--')):
                i += 1
                item += ' ' + lines[i].strip()
            if not item.startswith(('mailhaul', 'Usage')):
                p = complete(item, 'line %r' % item[:40])
                if p:
                    out.append(p)
        i += 1
    return out


@tap.test
def every_help_is_complete():
    bad = []
    for cmd in commands():
        r = cli.run(['help', cmd])
        if r.code != 0:
            bad.append('help %s: exit code %d' % (cmd, r.code))
            continue
        bad += ['help %s: %s' % (cmd, p) for p in problems(r.stdout)]
        r2 = cli.run([cmd, '--help'])
        if r2.code != 0 or r2.stdout != r.stdout:
            bad.append('%s --help differs from help %s' % (cmd, cmd))
    r = cli.run(['--help'])
    bad += ['--help: %s' % p for p in problems(r.stdout)]
    tap.check(not bad, 'help texts:\n' + '\n'.join(bad))


@tap.test
def help_help():
    r = cli.run(['help', 'help'])
    tap.eq(r.code, 0, 'exit code of help help')
    tap.contains('Usage: mailhaul help [COMMAND]', r.stdout)
    tap.check(not problems(r.stdout), 'help help: %s' % problems(r.stdout))


@tap.test
def sync_help_teaches():
    r = cli.run(['help', 'sync'])
    out = r.stdout
    tap.contains('mailhaul sync [OPTION…] SOURCE DEST', out, 'the usage')
    for heading in ('Accounts', 'What is copied:', 'Deleting', 'Speed', 'Providers',
                    'Output'):
        tap.match(r'^%s' % re.escape(heading), out, 'group heading %s' % heading)
    examples = out.split('Examples:\n', 1)[1].split('\n\n', 1)[0]
    runs = re.findall(r'^    mailhaul ', examples, re.M)
    tap.eq(len(runs), 3, 'worked examples')
    codes = out.split('Exit codes:\n', 1)[1]
    listed = re.findall(r'^  (\d+) ', codes, re.M)
    missing = [c for c in readme_exit_codes('sync') if c not in listed]
    tap.check(not missing, 'exit codes of README.md missing from help sync: %s' % missing)
    main = cli.run(['--help']).stdout.split('Exit codes:\n', 1)[1]
    missing = [c for c in readme_exit_codes()
               if c not in re.findall(r'^  (\d+) ', main, re.M)]
    tap.check(not missing, 'exit codes of README.md missing from mailhaul --help: %s' % missing)


@tap.test
def unknown_option_suggests():
    r = cli.run(['sync', '--folderlats', 'x'])
    cli.expect_error(r, 64, '--folderlats', 'did you mean --folderlast')
    r = cli.run(['check', '--hots', 'x'])
    cli.expect_error(r, 64, 'did you mean --host')


if __name__ == '__main__':
    tap.main()
