"""A small Debug Adapter Protocol client, enough to drive debugpy the way VS Code does:
launch a program through `python -m debugpy.adapter` (stdio), attach to each subprocess
the adapter announces (`debugpyAttach`: a new connection to the adapter's port), set
breakpoints, wait for stops, continue. Standard library only, for the runtime's tests."""

import json
import os
import queue
import socket
import subprocess
import threading
import time

TRACE = os.environ.get('MPTREE_DAP_TRACE') == '1'


def debugpy_python():
    """An interpreter that can import debugpy (Debian's /usr/bin/python3 with
    python3-debugpy), or None."""
    for candidate in (os.environ.get('MPTREE_DEBUGPY_PYTHON'), '/usr/bin/python3'):
        if not candidate or not os.path.exists(candidate):
            continue
        r = subprocess.run([candidate, '-c', 'import debugpy'], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return candidate
    return None


class Channel(object):
    """One DAP connection: Content-Length framed JSON both ways, a reader thread, requests
    matched to responses by seq, events in a queue."""

    def __init__(self, name, reader, writer, closer):
        self.name = name
        self._reader = reader
        self._writer = writer
        self._closer = closer
        self._seq = 0
        self._lock = threading.Lock()
        self._responses = {}
        self._cond = threading.Condition()
        self.events = queue.Queue()
        self.closed = False
        threading.Thread(target=self._read_loop, daemon=True).start()

    @classmethod
    def over_socket(cls, name, host, port):
        sock = socket.create_connection((host, port), timeout=30)
        sock.settimeout(None)
        f = sock.makefile('rwb', buffering=0)

        def close():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        return cls(name, f, f, close)

    def _read_loop(self):
        try:
            while True:
                headers = {}
                while True:
                    line = self._reader.readline()
                    if not line:
                        raise EOFError
                    line = line.strip()
                    if not line:
                        break
                    k, _, v = line.decode('ascii').partition(':')
                    headers[k.strip().lower()] = v.strip()
                n = int(headers['content-length'])
                body = b''
                while len(body) < n:
                    chunk = self._reader.read(n - len(body))
                    if not chunk:
                        raise EOFError
                    body += chunk
                msg = json.loads(body.decode('utf-8'))
                if msg.get('type') == 'response':
                    with self._cond:
                        self._responses[msg['request_seq']] = msg
                        self._cond.notify_all()
                elif msg.get('type') == 'event':
                    self.events.put(msg)
                elif msg.get('type') == 'request':
                    # Reverse requests (runInTerminal) are not asked for: we launch with
                    # console=internalConsole. Answer anything else with a refusal.
                    self._send({'type': 'response', 'request_seq': msg['seq'], 'success': False,
                                'command': msg.get('command'), 'message': 'not supported'})
        except (EOFError, OSError, ValueError):
            pass
        finally:
            self.closed = True
            with self._cond:
                self._cond.notify_all()
            self.events.put({'type': 'event', 'event': '<closed>'})

    def _send(self, msg):
        data = json.dumps(msg).encode('utf-8')
        with self._lock:
            self._writer.write(b'Content-Length: %d\r\n\r\n' % len(data) + data)
            self._writer.flush()

    def request(self, command, arguments=None, wait=True, timeout=60):
        with self._lock:
            self._seq += 1
            seq = self._seq
        self._send({'seq': seq, 'type': 'request', 'command': command,
                    'arguments': arguments or {}})
        if not wait:
            return seq
        return self.response(seq, timeout)

    def response(self, seq, timeout=60):
        deadline = time.monotonic() + timeout
        with self._cond:
            while seq not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError('%s: no response to request %d' % (self.name, seq))
                self._cond.wait(left)
            msg = self._responses.pop(seq)
        if not msg.get('success'):
            raise AssertionError('%s: %s failed: %s' % (self.name, msg.get('command'), msg.get('message')))
        return msg.get('body') or {}

    def close(self):
        try:
            self._closer()
        except Exception:
            pass


class DebugRun(object):
    """A program launched under debugpy with subProcess on: every process it starts gets a
    session of its own, attached as VS Code attaches (the adapter's debugpyAttach event).
    `on_event(session, event)` sees every event of every session, from the reader threads."""

    def __init__(self, python, program, env, cwd, breakpoints=(), stop_on_entry=False):
        self.python = python
        self.breakpoints = list(breakpoints)   # [(path, line)]
        self.adapter = subprocess.Popen([python, '-m', 'debugpy.adapter'] + (['--log-dir', os.environ['MPTREE_DAP_LOG_DIR']] if os.environ.get('MPTREE_DAP_LOG_DIR') else []), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        env=dict(os.environ), cwd=cwd)
        self.root = Channel('root', self.adapter.stdout, self.adapter.stdin, self._kill_adapter)
        self.sessions = [self.root]
        self.pid_of = {}            # Channel -> debuggee pid (its `process` event)
        self.stops = queue.Queue()  # (channel, pid, stopped event body)
        self.exited = threading.Event()
        self._lock = threading.Lock()
        self._pumps = []
        self.attach_errors = []
        self._launch(program, env, cwd, stop_on_entry)

    def _kill_adapter(self):
        if self.adapter.poll() is None:
            self.adapter.kill()
        self.adapter.wait()

    def _configure(self, channel):
        by_file = {}
        for path, line in self.breakpoints:
            by_file.setdefault(path, []).append(line)
        for path, lines in by_file.items():
            channel.request('setBreakpoints', {'source': {'path': path},
                                               'breakpoints': [{'line': n} for n in lines]})
        channel.request('setExceptionBreakpoints', {'filters': []})
        channel.request('configurationDone')

    def _start_pump(self, channel):
        t = threading.Thread(target=self._pump, args=(channel,), daemon=True)
        t.start()
        self._pumps.append(t)

    def _launch(self, program, env, cwd, stop_on_entry):
        ch = self.root
        ch.request('initialize', {'clientID': 'mptree-test', 'adapterID': 'debugpy',
                                  'pathFormat': 'path', 'linesStartAt1': True,
                                  'columnsStartAt1': True, 'supportsRunInTerminalRequest': False})
        launch = ch.request('launch', {
            'name': 'mptree test', 'type': 'debugpy', 'request': 'launch', 'program': program,
            'cwd': cwd, 'env': env, 'python': [self.python], 'console': 'internalConsole',
            'subProcess': True, 'justMyCode': True, 'stopOnEntry': stop_on_entry,
            'redirectOutput': True}, wait=False)
        self._wait_event(ch, 'initialized')
        self._configure(ch)
        ch.response(launch)
        self._start_pump(ch)

    def _wait_event(self, ch, name, timeout=60):
        deadline = time.monotonic() + timeout
        held = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('%s: no %s event' % (ch.name, name))
                ev = ch.events.get(timeout=left)
                if ev.get('event') == name:
                    return ev
                held.append(ev)
        finally:
            for ev in held:   # seen before the pump started: give them back to it
                ch.events.put(ev)

    def _pump(self, ch):
        while True:
            ev = ch.events.get()
            name = ev.get('event')
            body = ev.get('body') or {}
            if TRACE:
                print('dap %s: %s %s' % (ch.name, name, json.dumps(body)[:300]), flush=True)
            if name == '<closed>':
                return
            if name == 'process':
                with self._lock:
                    self.pid_of[ch] = body.get('systemProcessId')
            elif name == 'stopped':
                self.stops.put((ch, self.pid_of.get(ch), body))
            elif name == 'debugpyAttach':
                threading.Thread(target=self._attach_guarded, args=(body,), daemon=True).start()
            elif name in ('terminated', 'exited') and ch is self.root:
                self.exited.set()

    def _attach_guarded(self, config):
        try:
            self._attach_child(config)
        except Exception as e:   # the test sees it as a session that never stops
            self.attach_errors.append(repr(e))
            if TRACE:
                import traceback
                traceback.print_exc()

    def _attach_child(self, config):
        connect = config.get('connect') or {}
        ch = Channel.over_socket('child %s' % config.get('subProcessId'),
                                 connect.get('host', '127.0.0.1'), connect['port'])
        with self._lock:
            self.sessions.append(ch)
        ch.request('initialize', {'clientID': 'mptree-test', 'adapterID': 'debugpy',
                                  'pathFormat': 'path', 'linesStartAt1': True,
                                  'columnsStartAt1': True})
        attach = ch.request('attach', config, wait=False)
        self._wait_event(ch, 'initialized')
        self._configure(ch)
        ch.response(attach)
        self._start_pump(ch)

    def next_stop(self, timeout=60):
        return self.stops.get(timeout=timeout)

    def stack_top(self, ch, thread_id):
        frames = ch.request('stackTrace', {'threadId': thread_id, 'levels': 1})['stackFrames']
        return frames[0] if frames else None

    def resume(self, ch, thread_id):
        ch.request('continue', {'threadId': thread_id})

    def wait_exit(self, timeout=120):
        if not self.exited.wait(timeout):
            raise AssertionError('the debugged program did not end')

    def close(self):
        for ch in list(self.sessions):
            if ch is not self.root:
                ch.close()
        try:
            if not self.root.closed:
                self.root.request('disconnect', {'terminateDebuggee': True}, timeout=10)
        except AssertionError:
            pass
        self.root.close()
