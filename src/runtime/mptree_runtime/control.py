"""Control requests from the session: join / terminate / kill a child of this process."""

from . import connection, state
from .settings import fail


def handle_control(msg):
    rid = msg.get('id')
    op = msg.get('op')
    pid = msg.get('pid')
    p = state.current()
    state.flush_journal(p)    # the session may know a child from its own hello already
    st = p.children.get(pid) if type(pid) is int else None
    proc = st.proc_ref() if st is not None else None

    def answer(**kw):
        out = {'type': 'control.result', 'id': rid}
        out.update(kw)
        connection.send(out)

    if st is None or proc is None:
        if st is not None and st.exited and op == 'join':
            return answer(ok=True, exitCode=st.exit_code)
        if st is None and op == 'join' and pid in p.collected:
            return answer(ok=True, exitCode=p.collected[pid])
        if st is None and op in ('terminate', 'kill') and pid in p.collected:
            return answer(ok=True)
        return answer(ok=False, error='not a child of %d' % p.pid)
    if op in ('terminate', 'kill'):
        try:
            getattr(proc, op)()
            answer(ok=True)
        except Exception as exc:
            answer(ok=False, error='%s failed: %s' % (op, exc))
        return
    if op == 'join':
        timeout = msg.get('timeout')
        if type(timeout) not in (int, float) or timeout < 0:
            timeout = None

        def joiner():
            state.block_signals()
            try:
                proc.join(timeout)
                code = proc.exitcode
                if code is None:
                    answer(ok=False, timedOut=True,
                           error='still running after %s s' % ('%g' % timeout if timeout is not None else 'forever',))
                else:
                    answer(ok=True, exitCode=code)
            except Exception as exc:
                try:
                    answer(ok=False, error='join failed: %s' % (exc,))
                except Exception:
                    fail('control join')

        state.start_thread(p, joiner, ())
        return
    answer(ok=False, error='unknown op %r' % (op,))
