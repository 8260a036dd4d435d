"""What a program nobody here wrote knows about its own processes, recorded without editing it.

Loaded into every Python process of a run by usercustomize.py (this folder on PYTHONPATH,
MPTREE_CORPUS_TRUTH_DIR set): each process that ends through multiprocessing's own paths
writes DIR/<pid>.json with the processes it started (pid, name, daemon, exit code, whether
the program's own code called join(), whether it was still uncollected when the exit
handler began), the queues it created and the puts/gets/task_done() it made on any queue,
and the pools it created (size, workers). run_program.py writes the main process's record
after multiprocessing's exit handler. Only what the objects hold is read: no poll, no
wait, so the program's collection of its children is what it would be without this.
"""

import json
import os
import sys
import threading

_lock = threading.Lock()
_CONTEXT = os.path.join('multiprocessing', 'context.py')
_state = {}
def _reset():
    _state.clear()
    _state.update(started=[], queues={}, counts={}, pools=[])


def _called_from_program(frame):
    # The nearest caller outside the recorder, mptree's runtime and multiprocessing's
    # context (ctx.Queue() is the program's call) decides.
    while frame is not None and ('mptree_runtime' in frame.f_code.co_filename or
                                 frame.f_code.co_filename == __file__ or
                                 frame.f_code.co_filename.endswith(_CONTEXT)):
        frame = frame.f_back
    if frame is None:
        return False
    name = frame.f_code.co_filename
    return not (os.sep + 'multiprocessing' + os.sep in name or os.sep + 'concurrent' + os.sep in name)


def _pool_list_of_caller():
    """id() of the worker list of the pool starting this process, if a pool is."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name in ('_repopulate_pool_static', '_repopulate_pool'):
            found = frame.f_locals.get('pool')
            if not isinstance(found, list):
                found = getattr(frame.f_locals.get('self'), '_pool', None)
            return id(found)
        frame = frame.f_back
    return None


def _entry_of(p):
    for obj, entry in _state['started']:
        if obj is p:
            return entry
    return None


def _collected(entry, how):
    """The first collection of a child: multiprocessing's exit handler and a pool's
    upkeep are named as such, whatever call they made."""
    if entry['collectedBy'] is not None:
        return
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code.co_name == '_exit_function' and code.co_filename.endswith('util.py'):
            how = 'exit'
            break
        if os.sep + 'concurrent' + os.sep in code.co_filename or code.co_filename.endswith(os.sep + 'pool.py'):
            how = 'pool'
            break
        frame = frame.f_back
    entry['collectedBy'] = how


def _queue_key(q):
    try:
        return q._rlock._semlock.name or str(id(q))
    except AttributeError:
        return str(id(q))


def _count(q, what):
    key = _queue_key(q)
    with _lock:
        counts = _state['counts'].setdefault(key, {'puts': 0, 'gets': 0, 'tasksDone': 0})
        counts[what] += 1


def _returncode(p):
    popen = getattr(p, '_popen', None)
    return getattr(popen, 'returncode', None)


def record():
    """This process's record, as it stands now."""
    started = []
    for p, entry in _state['started']:
        entry = dict(entry)
        entry['exitCode'] = _returncode(p)
        started.append(entry)
    pools = []
    for pool, size, list_id in _state['pools']:
        workers = [e['pid'] for _, e in _state['started'] if e['poolList'] == list_id]
        pools.append({'size': size, 'workers': sorted(workers), 'kind': type(pool).__name__})
    return {'pid': os.getpid(), 'ppid': os.getppid(), 'started': started,
            'queues': _state['queues'], 'counts': _state['counts'], 'pools': pools}


def write(directory, extra=None):
    data = record()
    data.update(extra or {})
    path = os.path.join(directory, '%d.json' % os.getpid())
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(data, f)
    os.replace(path + '.tmp', path)


def helpers():
    """Pids of the forkserver and the resource tracker (a child's os.getppid() under forkserver)."""
    found = {}
    for role, module, attr in (('forkserver', 'multiprocessing.forkserver', '_forkserver'),
                               ('tracker', 'multiprocessing.resource_tracker', '_resource_tracker')):
        owner = getattr(sys.modules.get(module), attr, None)
        found[role] = getattr(owner, '_forkserver_pid', None) or getattr(owner, '_pid', None)
    return found


def mark_uncollected_at_exit():
    """Called as the exit handler begins: which children it is about to collect."""
    import multiprocessing.process as process
    for p, entry in _state['started']:
        entry['uncollectedAtExit'] = p in process._children


def install(directory):
    _reset()
    import multiprocessing.pool as pool_module
    import multiprocessing.process as process
    import multiprocessing.queues as queues

    base = process.BaseProcess
    original_start, original_join, original_bootstrap = base.start, base.join, base._bootstrap

    def start(self):
        pool_list = _pool_list_of_caller()
        original_start(self)
        entry = {'pid': self.pid, 'name': self.name, 'daemon': bool(self.daemon), 'joined': False,
                 'poolList': pool_list, 'uncollectedAtExit': None, 'collectedBy': None}
        with _lock:
            _state['started'].append((self, entry))

    def join(self, timeout=None):
        by_program = _called_from_program(sys._getframe(1))
        before = _returncode(self)
        original_join(self, timeout)
        entry = _entry_of(self)
        if entry is not None and _returncode(self) is not None:
            entry['joined'] = entry['joined'] or by_program
            if before is None:
                _collected(entry, 'join')

    def polling(original):
        def read(self, *args):
            before = _returncode(self)
            result = original(self, *args)
            entry = _entry_of(self)
            if entry is not None and before is None and _returncode(self) is not None:
                _collected(entry, 'poll')
            return result
        return read

    original_cleanup = process._cleanup

    def cleanup():
        # start() and active_children() collect every finished child first.
        before = [(p, _returncode(p)) for p in list(process._children)]
        original_cleanup()
        how = {'start': 'start', 'active_children': 'active_children'}.get(sys._getframe(1).f_code.co_name, 'poll')
        for p, code in before:
            entry = _entry_of(p)
            if entry is not None and code is None and _returncode(p) is not None:
                _collected(entry, how)

    process._cleanup = cleanup
    base.is_alive = polling(base.is_alive)
    base.exitcode = property(polling(base.exitcode.fget))

    def bootstrap(self, *args, **kwargs):
        # A fork child inherits its parent's record: it starts its own.
        _reset()
        try:
            return original_bootstrap(self, *args, **kwargs)
        finally:
            try:
                write(directory, {'name': self.name})
            except Exception:
                pass

    base.start, base.join, base._bootstrap = start, join, bootstrap

    def wrap_queue(cls):
        original_init = cls.__init__

        def init(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            # Queues multiprocessing makes for itself (a pool's, a manager's) are not the program's.
            if _called_from_program(sys._getframe(1)):
                maxsize = args[0] if args else kwargs.get('maxsize', 0)
                _state['queues'][_queue_key(self)] = {
                    'kind': type(self).__name__, 'maxsize': maxsize, 'ownerPid': os.getpid(),
                    'order': len(_state['queues'])}
        cls.__init__ = init
        for method, what in (('put', 'puts'), ('get', 'gets'), ('task_done', 'tasksDone')):
            original = cls.__dict__.get(method)
            if original is None:
                continue

            def counted(self, *args, _original=original, _what=what, **kwargs):
                result = _original(self, *args, **kwargs)
                _count(self, _what)
                return result
            setattr(cls, method, counted)

    for cls in (queues.Queue, queues.JoinableQueue, queues.SimpleQueue):
        wrap_queue(cls)

    original_pool_init = pool_module.Pool.__init__

    def pool_init(self, *args, **kwargs):
        original_pool_init(self, *args, **kwargs)
        if not isinstance(self, pool_module.ThreadPool):
            _state['pools'].append((self, self._processes, id(self._pool)))
    pool_module.Pool.__init__ = pool_init
