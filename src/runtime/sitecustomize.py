# mptree: loaded by site.py because the session puts this folder first on PYTHONPATH.
# It must stay tiny and must never change what the user's program sees: it installs the
# runtime only when the session asked for it, then hands over to the user's own
# sitecustomize, exactly as if this file did not exist.


def _mptree_boot():
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))

    if os.environ.get('MPTREE_SOCKET') and os.environ.get('MPTREE_TOKEN'):
        # Every process of the run imports the runtime; with PYTHONDONTWRITEBYTECODE set
        # each would compile it from source again (~15 ms per spawn child). Our own files
        # may be cached even then: the flag is the user's choice for their code.
        dont_write = sys.dont_write_bytecode
        try:
            sys.dont_write_bytecode = False
            try:
                import mptree_runtime
            finally:
                sys.dont_write_bytecode = dont_write
            mptree_runtime.install()
            if dont_write:
                mptree_runtime.cache_bytecode(__file__)
        except Exception as exc:  # never let our failure reach the user's program
            if os.environ.get('MPTREE_DEBUG') == '1':
                try:
                    os.write(2, ('mptree: runtime not installed: %r\n' % (exc,)).encode('utf-8', 'replace'))
                except Exception:
                    pass

    def ours(entry):
        # realpath costs an lstat per path component: only for a candidate that already
        # ends like our folder (the session passes it as is; a symlink would differ).
        try:
            entry = os.path.abspath(entry or os.curdir)
            if entry == here:
                return True
            if os.path.basename(entry) != os.path.basename(here):
                return False
            return os.path.realpath(entry) == os.path.realpath(here)
        except Exception:
            return False

    # Chain to the next sitecustomize on sys.path. Our folder is taken off sys.path for
    # good (the runtime is already imported), so sys.path is what a bare run would show.
    # The user's module's errors propagate: site.py then reports them with the very same
    # "Error in sitecustomize" line as without mptree.
    sys.path[:] = [p for p in sys.path if not ours(p)]
    me = sys.modules.pop('sitecustomize', None)
    try:
        import sitecustomize  # noqa: F401  (the user's, if any)
    except ImportError as exc:
        if exc.name != 'sitecustomize':
            raise
    finally:
        # The import system reads sys.modules['sitecustomize'] back once this file has
        # run: it must hold the user's module if there is one, else this one.
        if 'sitecustomize' not in sys.modules and me is not None:
            sys.modules['sitecustomize'] = me


_mptree_boot()
del _mptree_boot
