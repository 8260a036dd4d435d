"""The programs of the seed tutorials, found at test time (their code is never copied into
this repository). Prints a JSON list: one entry per listing, with its code, whether it can
run, and why not.

    python3 seed_programs.py SEEDS_DIR

The tutorials are pages of prose with code between: some fenced (```), most pasted as is,
one with its indentation lost, some in Python 2. A line is prose when it has Chinese outside
its strings and comments, or is a fence; a listing is a run of lines that are not prose. A
listing that compiles is a program. One that stops compiling at its own left margin, with
everything before it compiling, is a program followed by its pasted output (cut there, and
trailing constant expressions, the output's numbers, dropped). Any other compile error is
the listing as the page gives it: reported, run once to check mptree fails as Python does.
"""

import ast
import json
import os
import re
import sys
import textwrap

# Chinese, full-width forms, and typographic quotes (never Python outside a string).
CJK = re.compile('[\u2018-\u201f\u3000-\u303f\u3400-\u9fff\uff00-\uffef]')
# A line's strings and comments, taken out before looking for prose in it.
STRINGS_AND_COMMENT = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|#.*$""")
FENCE = re.compile(r'^\s*```')
URL = re.compile(r'^\s*https?://')
NEW_PROGRAM = re.compile(r'^(from|import)\s')
MP_WORDS = re.compile(r'multiprocessing|\bProcess\b|\bPool\b')
MP_IMPORT = re.compile(r'^\s*(import\s+multiprocessing|from\s+multiprocessing[\w.]*\s+import)', re.M)
MAIN_GUARD = re.compile(r'^if\s+__name__\s*==\s*[\'"]__main__[\'"]\s*:', re.M)


def is_prose(line):
    if FENCE.match(line) or URL.match(line):
        return True
    return bool(CJK.search(STRINGS_AND_COMMENT.sub('', line)))


def listings(text):
    """Runs of non-prose lines, blank lines inside them kept, with their first line number."""
    block, first = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if is_prose(line):
            if block:
                yield first, block
            block, first = [], None
        elif block or line.strip():
            # A page may list two programs with only a word between them: a new import at
            # the margin after a blank line, once a __main__ block was seen, starts another.
            if block and NEW_PROGRAM.match(line) and not block[-1].strip() and any(MAIN_GUARD.match(l) for l in block):
                yield first, block
                block = []
            if not block:
                first = number
            block.append(line.rstrip())
    if block:
        yield first, block


def dedent(lines):
    # A page's layout may put a listing's first line one space left of the rest.
    rest = [l for l in lines[1:] if l.strip()]
    if rest:
        margin = min(len(l) - len(l.lstrip()) for l in rest)
        head = lines[0].lstrip()
        if 0 < len(lines[0]) - len(head) < margin:
            lines = [' ' * margin + head] + lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return textwrap.dedent('\n'.join(lines)).split('\n')


def compile_error(source):
    try:
        ast.parse(source)
        return None
    except SyntaxError as e:
        return e


def drop_pasted_output(source):
    """Top-level constant expressions at the end (the page's output) and trailing comments."""
    tree = ast.parse(source)
    body = list(tree.body)
    while body and isinstance(body[-1], ast.Expr) and is_constant(body[-1].value):
        body.pop()
    if not body:
        return ''
    end = body[-1].end_lineno if hasattr(body[-1], 'end_lineno') else len(source.split('\n'))
    return '\n'.join(source.split('\n')[:end])


def is_constant(node):
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        return False


def program_of(lines):
    """(code, None) for a program, (code, error) for a listing that does not compile."""
    lines = dedent(lines)
    source = '\n'.join(lines)
    error = compile_error(source)
    if error is None:
        return drop_pasted_output(source), None
    at = (error.lineno or 1) - 1
    head = '\n'.join(lines[:at])
    if 0 < at < len(lines) and not lines[at][:1].isspace() and head.strip() and compile_error(head) is None:
        return drop_pasted_output(head), None
    return source, error


def classify(code, error):
    """(status, reason, start methods). status: run, broken, fragment."""
    if error is not None:
        if "Missing parentheses in call to 'print'" in str(error.msg):
            why = 'Python 2 (print statement)'
        else:
            why = '%s: %s (line %s)' % (type(error).__name__, error.msg, error.lineno)
        return 'broken', 'does not compile: ' + why, ['fork']
    if not MP_IMPORT.search(code):
        return 'fragment', 'continues an earlier listing: never imports multiprocessing', []
    tree = ast.parse(code)
    runs = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                                       ast.ClassDef, ast.Assign, ast.Expr))]
    if not runs and not any(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) for s in tree.body):
        return 'fragment', 'defines but runs nothing', []
    if re.search(r'\binput\s*\(', code):
        return 'fragment', 'interactive: reads input()', []
    if not MAIN_GUARD.search(code):
        return 'run', 'no __main__ guard: fork only (spawn and forkserver re-run its top level)', ['fork']
    return 'run', '', ['fork', 'spawn', 'forkserver']


def main(directory):
    found = []
    for seed in sorted(os.listdir(directory)):
        if not seed.endswith('.txt'):
            continue
        with open(os.path.join(directory, seed), encoding='utf-8') as f:
            text = f.read()
        for line, block in listings(text):
            code, error = program_of(block)
            # A lone line (a call shown in prose) or a page's header is not a listing.
            if len([l for l in code.split('\n') if l.strip()]) < 3 or not MP_WORDS.search(code):
                continue
            status, reason, methods = classify(code, error)
            found.append({'seed': seed, 'line': line, 'status': status, 'reason': reason,
                          'methods': methods, 'code': code + '\n'})
    json.dump(found, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == '__main__':
    main(sys.argv[1])
