"""JSON out. Messages are flat dicts of str/int/float/bool/None and lists of those;
ensure_ascii-style escaping keeps every line valid UTF-8 even for lone surrogates.
Hand-written rather than json.dumps: `json` imports `re` and more, and this runs in every
process that says anything (the hot lines are string templates of their own modules)."""

import time

_time = time.time
_escape = [None]


def _estr(s):
    """A JSON string. Most of ours (names, command lines, kinds) need no escape at all: they
    are quoted as they are, and _json (a shared library: ~0.2 ms to load) is loaded only
    by the first string that does, which a spawn child's hello seldom has."""
    if s.isascii() and s.isprintable() and '"' not in s and '\\' not in s:
        return '"' + s + '"'
    escape = _escape[0]
    if escape is None:
        try:
            from _json import encode_basestring_ascii as escape
        except ImportError:  # pragma: no cover - every CPython has _json
            from json.encoder import py_encode_basestring_ascii as escape
        _escape[0] = escape
    return escape(s)


def json_value(v):
    if v is None:
        return 'null'
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    t = type(v)
    if t is str:
        return _estr(v)
    if t is int:
        return '%d' % v
    if t is float:
        return repr(v) if v == v and v not in (float('inf'), float('-inf')) else 'null'
    if t is list or t is tuple:
        return '[' + ','.join([json_value(x) for x in v]) + ']'
    if t is dict:
        return '{' + ','.join([_estr(str(k)) + ':' + json_value(x) for k, x in v.items()]) + '}'
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, int):
        return '%d' % v
    if isinstance(v, float):
        return json_value(float(v))
    return _estr(str(v))


def encode(msg):
    """One protocol line (bytes, newline included); stamps the message's time if unset."""
    if 't' not in msg:
        msg['t'] = _time() * 1000.0
    return ('{"v":1,' + json_value(msg)[1:] + '\n').encode('ascii')
