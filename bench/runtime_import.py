"""The runtime's start-up cost in a spawn child, two runtime folders side by side.

    python3 bench/runtime_import.py RUNTIME_A RUNTIME_B [ROUNDS] [--instructions]

Each RUNTIME is a folder holding sitecustomize.py and mptree_runtime/ (src/runtime, or a
copy of an older one). This process (bare: the runtime is not on its own path) listens on a
Unix socket as the session would, and starts spawn children with the environment the
launcher gives a run (the folder first on PYTHONPATH, MPTREE_SOCKET/TOKEN/RUN_ID). Per
round, in an order that rotates: for each folder, a child whose start+join is timed, and a
child run with -X importtime (PYTHONPROFILEIMPORTTIME) whose lines for sitecustomize and
mptree_runtime.* are summed (self time: what importing our own modules costs; the boot's
cumulative time: sitecustomize, which imports the package and installs it). Medians and
quartiles are printed; a first round warms the bytecode caches and is not counted.

On a loaded host those times are mostly the scheduler's. --instructions counts instead the
instructions each spawn child runs, whole (valgrind's callgrind, which multiprocessing
starts as the child's executable; PYTHONHASHSEED=0), which no other process changes: per
round one bare child (no runtime) and one per folder.
"""

import multiprocessing as mp
import os
import socket
import statistics
import sys
import tempfile
import threading
import time


def noop():
    pass


def _serve(sock):
    # Accept every child's connection and read it to its end, as a session would.
    def drain(conn):
        with conn:
            while conn.recv(65536):
                pass
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


def _child(ctx, runtime, address, importtime):
    if runtime:
        os.environ['PYTHONPATH'] = runtime
        os.environ['MPTREE_SOCKET'] = address
        os.environ['MPTREE_TOKEN'] = 'bench'
        os.environ['MPTREE_RUN_ID'] = 'bench-runtime-import'
    saved = os.dup(2)
    log = tempfile.TemporaryFile()
    if importtime:
        os.environ['PYTHONPROFILEIMPORTTIME'] = '1'
        os.dup2(log.fileno(), 2)     # the child's -X importtime lines
    try:
        t = time.perf_counter()
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        wall = time.perf_counter() - t
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        for key in ('PYTHONPATH', 'MPTREE_SOCKET', 'MPTREE_TOKEN', 'MPTREE_RUN_ID',
                    'PYTHONPROFILEIMPORTTIME'):
            os.environ.pop(key, None)
    if p.exitcode != 0:
        raise SystemExit('child failed with %s' % p.exitcode)
    if not importtime:
        return wall
    log.seek(0)
    ours = boot = 0
    for line in log.read().decode('utf-8', 'replace').splitlines():
        if not line.startswith('import time:') or '|' not in line:
            continue
        fields = line[len('import time:'):].split('|')
        try:
            self_us, cumulative_us = int(fields[0]), int(fields[1])
        except ValueError:
            continue        # the header line
        name = fields[2].strip()
        if name == 'sitecustomize' or name.startswith('mptree_runtime'):
            ours += self_us
        if name == 'sitecustomize':
            boot = cumulative_us
    return ours, boot


def _quartiles(values):
    q = statistics.quantiles(values, n=4)
    return '%.0f (%.0f-%.0f)' % (statistics.median(values), q[0], q[2])


def _instructions(ctx, runtimes, address, folder, rounds):
    # multiprocessing runs this script as the child's interpreter: callgrind around Python.
    wrapper = os.path.join(folder, 'python-under-callgrind')
    with open(wrapper, 'w') as f:
        f.write('#!/bin/sh\nexec valgrind --tool=callgrind -q --callgrind-out-file="$MPTREE_BENCH_OUT" '
                '%s "$@"\n' % sys.executable)
    os.chmod(wrapper, 0o755)
    ctx.set_executable(wrapper)
    os.environ['PYTHONHASHSEED'] = '0'
    sides = [''] + runtimes
    counts = {r: [] for r in sides}
    for i in range(rounds + 1):
        for r in (sides if i % 2 == 0 else sides[::-1]):
            out = os.path.join(folder, 'callgrind.out')
            os.environ['MPTREE_BENCH_OUT'] = out
            _child(ctx, r, address, False)
            with open(out) as f:
                total = [int(line.split()[1]) for line in f if line.startswith('summary:')]
            os.unlink(out)
            if i:
                counts[r].append(total[0])
    print('%d rounds, Python %s, instructions of a whole spawn child (millions)' % (rounds, sys.version.split()[0]))
    bare = statistics.median(counts[''])
    for r in sides:
        m = statistics.median(counts[r])
        print('  %-60s %8.2f  (min %.2f, max %.2f)  %+.2f vs bare' % (
            r or 'bare (no runtime)', m / 1e6, min(counts[r]) / 1e6, max(counts[r]) / 1e6, (m - bare) / 1e6))


def main():
    runtimes = [os.path.abspath(d) for d in sys.argv[1:3]]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else 100
    ctx = mp.get_context('spawn')
    folder = tempfile.mkdtemp(prefix='mptree-bench-')
    address = os.path.join(folder, 's')
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen(64)
    threading.Thread(target=_serve, args=(server,), daemon=True).start()
    if '--instructions' in sys.argv:
        return _instructions(ctx, runtimes, address, folder, rounds)
    walls = {r: [] for r in runtimes}
    ours = {r: [] for r in runtimes}
    boots = {r: [] for r in runtimes}
    for i in range(rounds + 1):
        order = runtimes if i % 2 == 0 else runtimes[::-1]
        for importtime in (False, True):
            for r in order:
                got = _child(ctx, r, address, importtime)
                if i == 0:
                    continue        # warm-up: bytecode caches written
                if importtime:
                    ours[r].append(got[0])
                    boots[r].append(got[1])
                else:
                    walls[r].append(got * 1e6)
    print('%d rounds, Python %s' % (rounds, sys.version.split()[0]))
    for r in runtimes:
        print(r)
        print('  our modules, self (us), median (quartiles): %s' % _quartiles(ours[r]))
        print('  sitecustomize, cumulative (us):             %s' % _quartiles(boots[r]))
        print('  spawn child start+join (us):                %s' % _quartiles(walls[r]))


if __name__ == '__main__':
    main()
