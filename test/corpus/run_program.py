"""Runs a program file as its own __main__ under a start method, without editing it.

    python3 run_program.py fork|spawn|forkserver PROGRAM.py

set_start_method() first, then runpy runs the file as `__main__` with sys.argv[0] = the
file: spawn and forkserver children import it again from its path (as `__mp_main__`), as
they do for `python3 PROGRAM.py`. With the truth recorder loaded (usercustomize.py), the
main process's record is written after multiprocessing's exit handler has collected every
child: a finalizer of the lowest priority, which that handler runs last."""

import multiprocessing
import multiprocessing.util as util
import os
import runpy
import sys

method, program = sys.argv[1], sys.argv[2]
multiprocessing.set_start_method(method)
truth_dir = os.environ.get('MPTREE_CORPUS_TRUTH_DIR')
if truth_dir:
    import corpus_truth

    # The exit handler runs finalizers of priority >= 0 first (highest first), then collects
    # the children, then the rest: one at each end of it.
    util.Finalize(None, corpus_truth.mark_uncollected_at_exit, exitpriority=10**6)
    util.Finalize(None, lambda: corpus_truth.write(truth_dir, {'helpers': corpus_truth.helpers()}),
                  exitpriority=-10**6)
sys.argv = [program]
runpy.run_path(program, run_name='__main__')
