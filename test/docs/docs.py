#!/usr/bin/env python3
"""Runs the SQL examples of README.md and doc/*.md as a reader would.

Every ```sql block of a file runs, in order, in one psql session in the
database named by $DOCS_DB (the one pg_cron works in), inside a transaction
that is rolled back at the end, so files do not see each other's objects.
README.md runs from its first block; a file of doc/ runs after README.md's
"Getting started" blocks (its examples use those tables and models).

Marks, each on the line just before a ```sql fence:
  <!-- fails: 22023 -->   the block must fail with this SQLSTATE
  <!-- output -->         (after the block) the next ``` block is its exact
                          psql output (aligned, as psql prints it)
  <!-- skip: reason -->   the block is not run (it needs a file made
                          outside SQL); the reason is printed
Exit status 1 and a message naming file and line when an example fails.
"""
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r'^```(\w*)\s*$')


def blocks(path):
    """Yields (line, lang, text, mark, output) for every fenced block."""
    lines = open(path, encoding='utf-8').read().split('\n')
    out = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith('```'):
            j += 1
        mark = lines[start - 1].strip() if start > 0 else ''
        out.append([start + 1, lang, '\n'.join(lines[i + 1:j]), mark, None])
        i = j + 1
    # attach outputs: a block marked <!-- output --> belongs to the sql before it
    for k, b in enumerate(out):
        if b[3] == '<!-- output -->' and k > 0 and out[k - 1][1] == 'sql':
            out[k - 1][4] = b[2]
    return [b for b in out if b[1] == 'sql']


def getting_started(readme):
    """README's blocks up to the heading after '## Getting started'."""
    text = open(readme, encoding='utf-8').read().split('\n')
    end = None
    seen = False
    for n, line in enumerate(text, 1):
        if line.startswith('## Getting started'):
            seen = True
        elif seen and line.startswith('## '):
            end = n
            break
    return [b for b in blocks(readme) if end is None or b[0] < end]


def script(name, prelude, body, tmp):
    """The psql script for one file, and the output files to compare."""
    s = ['\\set ON_ERROR_STOP 1', '\\set ON_ERROR_ROLLBACK on', '\\set QUIET 1',
         'SET client_min_messages = warning;', 'BEGIN;']
    checks = []
    for n, (line, _, text, mark, output) in enumerate(prelude + body):
        where = '%s:%d' % (name if n >= len(prelude) else 'README.md', line)
        fails = re.match(r'<!-- fails: (\w{5}) -->', mark)
        if mark.startswith('<!-- skip:'):
            print('skip %s: %s' % (where, mark[len('<!-- skip:'):-len('-->')].strip()))
            continue
        s.append('\\echo DOCS-BLOCK %s' % where)
        if output is not None:
            f = os.path.join(tmp, 'out%d' % n)
            checks.append((where, f, output))
            s.append('\\o %s' % f)
        if fails:
            s += ['\\set LAST_ERROR_SQLSTATE 00000', '\\set ON_ERROR_STOP 0', text,
                  '\\set ON_ERROR_STOP 1',
                  "SELECT :'LAST_ERROR_SQLSTATE' = '%s' AS docs_ok \\gset" % fails.group(1),
                  '\\if :docs_ok', '\\else',
                  "\\echo DOCS-WRONG-SQLSTATE %s expected %s got :LAST_ERROR_SQLSTATE" % (where, fails.group(1)),
                  'SELECT 1/0;', '\\endif']
        else:
            s.append(text)
        if output is not None:
            s.append('\\o')
    s.append('ROLLBACK;')
    return '\n'.join(s) + '\n', checks


def run(name, prelude, body, top):
    """Runs one file's examples; returns a list of failure messages."""
    with tempfile.TemporaryDirectory() as tmp:
        text, checks = script(name, prelude, body, tmp)
        p = subprocess.run(['psql', '-X', '-d', os.environ.get('DOCS_DB', 'postgres'), '-f', '-'],
                           input=text, text=True, capture_output=True, cwd=top)
        log = p.stdout + p.stderr
        if p.returncode != 0:
            last = [l for l in p.stdout.split('\n') if l.startswith('DOCS-BLOCK')]
            block = last[-1].split(' ', 1)[1] if last else name
            return ['%s: the example failed:\n%s' % (block, p.stderr[-2000:])]
        bad = []
        for where, f, want in checks:
            got = open(f, encoding='utf-8').read().rstrip('\n')
            if got != want.rstrip('\n'):
                bad.append('%s: the output shown differs from what it prints:\n--- shown\n%s\n--- printed\n%s'
                           % (where, want, got))
        return bad


def main():
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    readme = os.path.join(top, 'README.md')
    files = [('README.md', [], blocks(readme))]
    start = getting_started(readme)
    for f in sorted(os.listdir(os.path.join(top, 'doc'))):
        if f.endswith('.md'):
            b = blocks(os.path.join(top, 'doc', f))
            if b:
                files.append(('doc/' + f, start, b))
    failures = 0
    for name, prelude, body in files:
        bad = run(name, prelude, body, top)
        print('%s %s (%d examples)' % ('FAIL' if bad else 'ok  ', name, len(body)))
        for msg in bad:
            print(msg)
        failures += bool(bad)
    print('docs: %d files, %d failed' % (len(files), failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
