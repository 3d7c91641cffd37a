#!/usr/bin/python3
"""Runs the blocks of one section of docs/recipes.md as written.

  recipes.py RECIPES_MD "SECTION TITLE" WORKDIR

(also the README: a section is a "## " or "### " heading)

Each ```console block of the section is one bash script: its "$ " lines
(with "> " or ">" continuation lines) are the commands, run in order in WORKDIR
with stderr joined to stdout; the other lines are the output expected of
the command above them. "..." as a whole line matches any number of lines,
"[...]" within a line any text. Prints each difference and exits 1 when
there is one.
"""
import re
import subprocess
import sys


def blocks(md, title):
    m = re.search(r'^###? ' + re.escape(title) + r'\n(.*?)(?=^##|\Z)', md, re.S | re.M)
    if not m:
        sys.exit('no section %r' % title)
    return re.findall(r'^```console\n(.*?)^```', m.group(1), re.S | re.M)


def parse(block):
    cmds = []
    for line in block.splitlines():
        if line.startswith('$ '):
            cmds.append([line[2:], []])
        elif (line.startswith('> ') or line == '>') and cmds and not cmds[-1][1]:
            cmds[-1][0] += '\n' + line[2:]
        elif cmds:
            cmds[-1][1].append(line)
    return cmds


def line_re(pat):
    return re.compile(''.join('.*' if p == '[...]' else re.escape(p)
                              for p in re.split(r'(\[\.\.\.\])', pat)) + r'\Z', re.S)


def match(want, got):
    """Does the list of lines got match the pattern lines want?"""
    if not want:
        return not got
    if want[0] == '...':
        return any(match(want[1:], got[i:]) for i in range(len(got) + 1))
    return bool(got) and bool(line_re(want[0]).match(got[0])) and match(want[1:], got[1:])


def main():
    md = open(sys.argv[1]).read()
    bad = 0
    for n, block in enumerate(blocks(md, sys.argv[2])):
        cmds = parse(block)
        # a marker before each command, $? kept across it for "echo $?"
        mark = "__rc=$?; printf '\\n\\001%d\\n'; (exit $__rc)\n"
        script = ''.join(mark % i + c + '\n' for i, (c, _) in enumerate(cmds)) + mark % len(cmds)
        out = subprocess.run(['bash', '-c', script], cwd=sys.argv[3], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=120).stdout
        parts = re.split(r'\n\x01(\d+)\n', out)
        got = {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}
        for i, (cmd, want) in enumerate(cmds):
            text = got.get(i, '<not run>')
            lines = text[:-1 if text.endswith('\n') else None].split('\n') if text else []
            if not match(want, lines):
                bad += 1
                print('block %d: $ %s\n--- expected\n%s\n--- got\n%s' % (n + 1, cmd, '\n'.join(want), text))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
