"""mptree runtime: reports this Python process (and what multiprocessing does in it) to
the mptree session over the socket named by MPTREE_SOCKET. See docs/runtime.md, which
has the map of the modules.

This package's import is the boot: it loads only what every process needs (settings,
jsonout, identity, state, connection). The supervisor, the owner's stop, the
counters, the children's bookkeeping and each module's patches come when first needed."""

import atexit
import os
import sys
import _thread

from . import connection, identity, settings, state

_installed = [False]

# The modules we patch. `patches` itself (and functools with it) is imported only when
# one of them is, and each module's patches only with that module: a program that never
# uses multiprocessing does not pay for them, a spawn child that makes no pool not for
# the pool's.
PATCHED = ('multiprocessing.util', 'multiprocessing.process', 'multiprocessing.popen_fork',
           'multiprocessing.popen_forkserver', 'multiprocessing.popen_spawn_posix',
           'multiprocessing.popen_spawn_win32',
           'multiprocessing.queues', 'multiprocessing.spawn', 'multiprocessing.pool',
           'multiprocessing.managers', 'concurrent.futures.process', 'concurrent.futures._base',
           'multiprocessing.synchronize', 'multiprocessing.connection')


def _patcher(name):
    from .patches import patcher
    return patcher(name)


class _PostImportLoader(object):
    """Runs the real loader, then our patch. The module's __loader__ and __spec__.loader
    are set back to the real loader so the module looks exactly as if we were not there."""

    def __init__(self, loader, patch):
        self.loader = loader
        self.patch = patch

    def _restore(self, module):
        try:
            if getattr(module, '__loader__', None) in (None, self):
                module.__loader__ = self.loader
            spec = getattr(module, '__spec__', None)
            if spec is not None and getattr(spec, 'loader', None) is self:
                spec.loader = self.loader
        except Exception:
            pass

    def create_module(self, spec):
        create = getattr(self.loader, 'create_module', None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        self._restore(module)
        self.loader.exec_module(module)
        _apply(module.__name__, module, self.patch)

    def __getattr__(self, name):
        return getattr(self.loader, name)


class _PostImportFinder(object):
    """A sys.meta_path entry that only ever answers for the modules we patch."""

    def __init__(self, names):
        self.names = frozenset(names)
        self.busy = set()

    def find_spec(self, fullname, path=None, target=None):
        # Called for every import of the program: one set lookup for all the others.
        if fullname not in self.names or fullname in self.busy:
            return None
        self.busy.add(fullname)
        try:
            patch = _patcher(fullname)
            spec = None
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find = getattr(finder, 'find_spec', None)
                if find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
            if patch is None or spec is None or spec.loader is None or \
                    not hasattr(spec.loader, 'exec_module'):
                return spec
            spec.loader = _PostImportLoader(spec.loader, patch)
            return spec
        except Exception:
            settings.fail('find_spec')
            return None
        finally:
            self.busy.discard(fullname)

    def invalidate_caches(self):
        pass


def _apply(name, module, patch):
    try:
        patch(module)
    except Exception:
        settings.fail('patch %s' % name)


def _startup_identity():
    """Who this interpreter is, from its command line (sys.argv exists this early)."""
    argv = list(getattr(sys, 'argv', None) or [])
    if '--multiprocessing-fork' in argv:
        # A spawn child: it learns its name and parent in Process._bootstrap.
        return identity.Identity(kind='process', start_method='spawn'), True, False
    text = identity.cmdline_text()
    if 'multiprocessing.resource_tracker import main' in text:
        return identity.Identity(name='resource_tracker', kind='helper', role='resource-tracker',
                             parent_pid=os.getppid()), True, True
    if 'multiprocessing.forkserver import main' in text:
        return identity.Identity(name='forkserver', kind='helper', role='forkserver',
                             parent_pid=os.getppid()), True, True
    if 'multiprocessing.semaphore_tracker import main' in text:
        return identity.Identity(name='semaphore_tracker', kind='helper', role='resource-tracker',
                             parent_pid=os.getppid()), True, True
    return identity.Identity(parent_pid=os.getppid()), True, True


def cache_bytecode(site_file):
    """With PYTHONDONTWRITEBYTECODE (or -B) every process of the run would compile our
    sitecustomize.py from source, and the first compilation in an interpreter is dear
    (~15M instructions, 3-4 ms, for 60 lines: the compiler's own start-up), as would be
    our modules imported later (the patches, the supervisor). The import system reads an
    up-to-date .pyc whatever that flag says, so write ours once per Python version when
    missing or stale (a copied or updated runtime folder).

    Checking each of our ~15 files in every process would cost more than the check did for
    two (~70k instructions a file), so a stamp per Python version remembers the folders'
    modification times when all were found fresh: a file added, replaced or removed (a
    build, an update, a copy) changes them. A source edited in place does not; the import
    system then ignores its stale .pyc and compiles it (slower, never wrong)."""
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        patches = os.path.join(here, 'patches')
        stamp = os.path.join(here, '__pycache__', 'checked.' + sys.implementation.cache_tag)
        key = ('%d %d %d' % (os.stat(here).st_mtime_ns, os.stat(patches).st_mtime_ns,
                             os.stat(site_file).st_mtime_ns)).encode('ascii')
        if _read_head(stamp, 64) == key:
            return
        bootstrap = sys.modules['_frozen_importlib_external']
        sources = [site_file]
        for folder in (here, patches):
            sources.extend(os.path.join(folder, entry) for entry in sorted(os.listdir(folder))
                           if entry.endswith('.py'))
        for src in sources:
            cached = bootstrap.cache_from_source(src)
            if not _fresh(src, cached, bootstrap.MAGIC_NUMBER):
                import py_compile
                py_compile.compile(src, cfile=cached, doraise=True)
        fd = os.open(stamp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, key)
        finally:
            os.close(fd)
    except Exception:
        pass   # a read-only folder: each process compiles, as without us


def _read_head(path, n):
    # os.open/os.read: no io objects for a few bytes (this runs in every process).
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            return os.read(fd, n)
        finally:
            os.close(fd)
    except OSError:
        return None


def _fresh(src, cached, magic):
    # The 16-byte header of a timestamp .pyc: magic, flags, source mtime, source size.
    try:
        st = os.stat(src)
    except OSError:
        return False
    head = _read_head(cached, 16)
    return (head is not None and len(head) == 16 and head[:4] == magic and head[4:8] == b'\0\0\0\0'
            and int.from_bytes(head[8:12], 'little') == int(st.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(head[12:16], 'little') == st.st_size & 0xFFFFFFFF)


def install():
    """Called by our sitecustomize when the session's environment is present."""
    if _installed[0]:
        return
    _installed[0] = True

    ident, eager, hello_now = _startup_identity()
    state.init(ident, connect_eagerly=eager)
    # Registered before multiprocessing.util registers its own exit function, so it runs
    # after it (atexit is LIFO): children joined at exit are reported before our flush.
    atexit.register(connection.at_exit)
    # What the platform has decides, not its name: no fork (Windows) means no fork hooks
    # and spawn children only; the supervisor's waiter is chosen the same way (waiters).
    if hasattr(os, 'register_at_fork'):
        os.register_at_fork(before=state.before_fork, after_in_parent=state.after_fork_parent,
                            after_in_child=state.after_fork_child)
    os._exit = connection.os_exit
    if sys.version_info >= (3, 12) and hasattr(_thread, '_count') and getattr(os, 'fork', None):
        os.fork = state.fork

    finder = _PostImportFinder(PATCHED)
    sys.meta_path.insert(0, finder)
    for name in PATCHED:
        mod = sys.modules.get(name)
        if mod is not None:
            _apply(name, mod, _patcher(name))

    if hello_now:
        connection.connection()
        if (settings.STOP_WHEN_GONE and ident.role is None and ident.kind == 'python'
                and state.P.conn is not None and _may_be_root()):
            # The root must see its owner's hang-up even when it has nothing else for our
            # thread to watch (no children, no queue): that thread waits on the socket
            # without a timeout, costing nothing until something happens.
            state.ensure_supervisor()


def _may_be_root():
    # Asked only once the cheap checks of who this is have passed (every helper and child
    # says hello): it reads /proc. Its module is the owner's stop, needed by the root only.
    from .owner import can_stop_run, is_run_root
    return can_stop_run() and is_run_root()
