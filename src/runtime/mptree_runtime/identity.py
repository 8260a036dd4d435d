"""Process identity: who this process is, as the hello says it (its start time as an OS
scan reports it, its command line without debugpy's part, its name and kind)."""

import os
import sys
import time

# When the runtime was installed: the hello's `created` where /proc cannot say.
install_ms = time.time() * 1000.0
# The boot time (s since the epoch), read once per run: fork children inherit it and spawn
# children get it with the preparation data (patches.spawn).
boot_seconds = [None]

def _read_proc(path):
    # os.open/os.read: no io objects for a 300-byte file (this runs in every process).
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def boot_time():
    # /proc/stat is slow to produce (~100 us, per-CPU figures): read once per run; fork
    # children inherit it and spawn children get it with the preparation data.
    if boot_seconds[0] is None:
        data = _read_proc('/proc/stat')
        i = data.index(b'\nbtime ')
        boot_seconds[0] = int(data[i + 7:data.index(b'\n', i + 1)])
    return boot_seconds[0]


def proc_start_ms():
    # /proc start time matches what an OS scan of the same pid reports, so the session can
    # tell a reused pid from the same process.
    try:
        data = _read_proc('/proc/self/stat')
        ticks = int(data[data.rindex(b')') + 2:].split()[19])
        return (boot_time() + ticks / float(os.sysconf('SC_CLK_TCK'))) * 1000.0
    except Exception:
        return None


# debugpy runs a debugged program as `python [-X ...] .../debugpy --connect H:P
# --configure-qt none --adapter-access-token SECRET program args`. The tree shows the
# program's command line, and the adapter's token must not travel further (snapshots, logs).
_DEBUGPY_VALUE_OPTIONS = ('--connect', '--listen', '--adapter-access-token', '--log-to',
                          '--parent-session-pid', '--pid')
_DEBUGPY_FLAGS = ('--wait-for-client', '--log-to-stderr')


def without_debugpy(argv):
    """argv with debugpy's own part (its entry point and options) taken out."""
    for i, a in enumerate(argv[1:], 1):
        a = str(a)
        nxt = str(argv[i + 1]) if i + 1 < len(argv) else ''
        is_entry = ((a == 'debugpy' and argv[i - 1] == '-m')
                    or os.path.basename(os.path.normpath(a)) == 'debugpy') and (
            nxt in _DEBUGPY_VALUE_OPTIONS or nxt in _DEBUGPY_FLAGS or nxt.startswith('--configure-'))
        if not is_entry:
            continue
        start = i - 1 if a == 'debugpy' and argv[i - 1] == '-m' else i
        j = i + 1
        while j < len(argv):
            opt = str(argv[j])
            if opt in _DEBUGPY_FLAGS:
                j += 1
            elif (opt in _DEBUGPY_VALUE_OPTIONS or opt.startswith('--configure-')) and j + 1 < len(argv):
                j += 2
            else:
                break
        return list(argv[:start]) + list(argv[j:])
    # A subprocess under debugpy runs `-c "import sys; ...; pydevd.settrace(..., access_token=
    # SECRET, ...); <the original code>"`: keep the original code only.
    out = []
    for a in argv:
        a = str(a)
        at = a.find('pydevd.settrace(')
        end = a.find('); ', at) if at >= 0 else -1
        out.append(a[end + 3:] if end >= 0 else a)
    return out


def argv_list():
    argv = getattr(sys, 'orig_argv', None) or getattr(sys, 'argv', None) or []
    if any('debugpy' in str(a) or 'pydevd' in str(a) for a in argv[:8]):
        argv = without_debugpy(argv)
    out, total = [], 0
    for a in argv:
        a = str(a)
        total += len(a)
        if total > 65536:  # keep hello far below the 1 MiB line limit
            out.append('...')
            break
        out.append(a)
    return out


def cmdline_text():
    """The full command line, for recognising helpers (3.8/3.9 lack sys.orig_argv)."""
    argv = getattr(sys, 'orig_argv', None)
    if argv:
        return ' '.join(argv)
    try:
        with open('/proc/self/cmdline', 'rb') as f:
            return f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
    except Exception:
        return ' '.join(getattr(sys, 'argv', []) or [])


class Identity(object):
    __slots__ = ('name', 'daemon', 'kind', 'role', 'start_method', 'target', 'parent_pid')

    def __init__(self, name='MainProcess', daemon=False, kind='python', role=None,
                 start_method=None, target=None, parent_pid=None):
        self.name = name
        self.daemon = daemon
        self.kind = kind
        self.role = role
        self.start_method = start_method
        self.target = target
        self.parent_pid = parent_pid


# The Process object a child runs (set in _bootstrap), and how to describe it; patches
