"""Every command the README and docs/ show names a script that exists,
configs that exist and options the script accepts (its ``--help``).

Running each command is the job of the listed manual runs (they train for
minutes to hours); this catches what a rename breaks: a moved script, a
renamed config, a dropped or respelt option.
"""
import contextlib
import glob
import io
import os.path as osp
import re
import runpy
import shlex
import sys

import pytest

REPO = osp.normpath(osp.join(osp.dirname(__file__), '..', '..'))
DOCS = sorted([osp.join(REPO, 'README.md'),
               *glob.glob(osp.join(REPO, 'docs', '*.md')),
               *glob.glob(osp.join(REPO, 'configs', '**', 'README.md'),
                          recursive=True)])
SCRIPT = re.compile(r'(?:^|\s)python3? ((?:tools|benchmarks)/\S+\.py)')
# docs/new_task.md's configs live in the user's own folder
USER_PATHS = ('configs/my_', )


def commands(path):
    """(line number, command) of each ``python tools/...`` or ``python
    benchmarks/...`` command in fenced blocks and inline code, with
    backslash continuations joined."""
    text = open(path).read()
    found = []
    for block in re.finditer(r'```[a-z]*\n(.*?)```', text, re.S):
        start = text.count('\n', 0, block.start()) + 2
        lines = block.group(1).split('\n')
        i = 0
        while i < len(lines):
            line, first = lines[i], i
            while line.rstrip().endswith('\\') and i + 1 < len(lines):
                i += 1
                line = line.rstrip()[:-1] + ' ' + lines[i].strip()
            found.append((start + first, line))
            i += 1
    for span in re.finditer(r'`([^`\n]+)`', re.sub(r'```.*?```', '', text,
                                                   flags=re.S)):
        found.append((text.count('\n', 0, span.start()) + 1, span.group(1)))
    out = []
    for lineno, line in found:
        line = line.split('#')[0] if ' #' in line else line
        for match in SCRIPT.finditer(line):
            rest = line[match.start(1):].split('&&')[0].split('|')[0]
            out.append((lineno, rest.strip()))
    return out


CASES = [(osp.relpath(path, REPO), lineno, cmd) for path in DOCS
         for lineno, cmd in commands(path)]


def help_text(script, cache={}):
    if script not in cache:
        out = io.StringIO()
        argv = sys.argv
        sys.argv = [script, '--help']
        try:
            with contextlib.redirect_stdout(out), \
                    pytest.raises(SystemExit):
                runpy.run_path(osp.join(REPO, script), run_name='__main__')
        finally:
            sys.argv = argv
        cache[script] = out.getvalue()
    return cache[script]


def test_the_docs_show_commands():
    scripts = {cmd.split()[0] for _, _, cmd in CASES}
    assert {'tools/train.py', 'tools/test.py', 'tools/run_experiment.py',
            'tools/misc/upgrade_config.py'} <= scripts


@pytest.mark.parametrize('doc,lineno,cmd', CASES,
                         ids=[f'{d}:{n}' for d, n, _ in CASES])
def test_documented_command(doc, lineno, cmd):
    try:
        tokens = shlex.split(cmd)
    except ValueError:  # an unclosed quote in a shortened example
        tokens = cmd.split()
    script = tokens[0]
    assert osp.isfile(osp.join(REPO, script)), f'{doc}:{lineno}: {script}'
    for token in tokens[1:]:
        for path in re.findall(r'configs/[\w./-]+\.py', token):
            if not path.startswith(USER_PATHS) and '{' not in token:
                assert osp.isfile(osp.join(REPO, path)), \
                    f'{doc}:{lineno}: {path} does not exist'
    options = [t.lstrip('[').split('=')[0].rstrip(']')
               for t in tokens[1:] if t.lstrip('[').startswith('--')]
    if options:
        known = help_text(script)
        for option in options:
            assert re.search(re.escape(option) + r'\b', known), \
                f'{doc}:{lineno}: {script} has no option {option}'
