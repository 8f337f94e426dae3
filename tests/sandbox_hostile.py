"""Hostile programs and what must hold after each: run by tests/test_sandbox.py in this process (as whoever runs
pytest) and, as root, again as an unprivileged user (`runuser`) with only the standard library and a copy of
`tinyhelen/sandbox.py` on the path. Prints one JSON object: case -> [contained, detail]."""
import json
import os
import socket
import sys
import tempfile
import threading
import time

from tinyhelen.sandbox import Limits, Sandbox

# what the verdict line looked like before and looks like now: a forger writes both
_FORGE = """
import os, json, sys, gc
nonces = set()
def look(d):
    for v in list(d.values()):
        if isinstance(v, (str, bytes)) and len(v) == 32:
            nonces.add(v if isinstance(v, str) else v.decode('ascii', 'replace'))
try:
    f = sys._getframe(1)
    while f is not None:
        look(f.f_locals); f = f.f_back
except Exception:
    pass
try:
    for o in gc.get_objects():
        if isinstance(o, dict): look(o)
except Exception:
    pass
for n in nonces:
    for fd in range(3, 64):
        for msg in (json.dumps([n, 'passed', '']).encode(), ('\\n' + n + ' passed \\n').encode()):
            try: os.write(fd, msg)
            except OSError: pass
os._exit(0)
"""

# (name, program, os_level): os_level cases must also be contained with the Python-level guard off (None: an OS
# case whose verdict may be anything; what it leaves behind is checked instead)
CASES = [
    ("forged_verdict_from_frames", _FORGE + "assert False", False),
    ("patched_json_forges", "import json\nreal = json.dumps\njson.dumps = lambda o, *a, **k: real([o[0], 'passed', ''])\n"
     "assert False", False),
    ("patched_assertionerror", "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\nassert False", False),
    ("patched_os_exit", "import os, sys\nos._exit = lambda code: None\nsys.exit = lambda *a: None\nassert False", False),
    ("patched_builtins", "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.type = lambda *a: str\n"
     "builtins.BaseException = object\nassert False", False),
    ("signal_handler_frame_forgery", "import signal, os\ndef h(signum, frame):\n    f = frame\n    while f is not None:\n"
     "        for v in list(f.f_locals.values()):\n            if isinstance(v, bytes) and len(v) == 32:\n"
     "                for fd in range(3, 64):\n                    try: os.write(fd, b'\\n' + v + b' passed \\n')\n"
     "                    except OSError: pass\n                os._exit(0)\n        f = f.f_back\n"
     "signal.signal(signal.SIGALRM, h)\nsignal.setitimer(signal.ITIMER_REAL, 0.01)\nwhile True: pass", False),
    ("trace_skips_the_assert", "import sys\ndef t(frame, event, arg):\n    if event == 'line' and frame.f_lineno == 7:\n"
     "        frame.f_lineno = 8\n    return t\nsys.settrace(t); sys._getframe().f_trace = t\nassert False\nx = 1\n", False),
]


def os_cases(canary: str, evaluator: int, port: int, marker: str) -> list:
    return [
        ("kill_the_evaluator", f"import posix, signal\nposix.kill({evaluator}, signal.SIGKILL)\nimport time; time.sleep(1)", True),
        ("kill_the_parent", "import posix, signal\nppid = posix.getppid()\nassert ppid > 0, 'no parent in sight'\n"
         "posix.kill(ppid, signal.SIGKILL)\nimport time; time.sleep(1)", True),
        ("kill_everything", "import posix, signal\nposix.kill(-1, signal.SIGKILL)\nimport time; time.sleep(1)", True),
        ("setsid_fork_outlives_verdict", "import posix\npid = posix.fork()\nif pid == 0:\n    posix.setsid()\n"
         f"    posix.execv('/bin/sleep', ['sleep', '{marker}'])\n", None),
        ("network_to_127", f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)", True),
        ("overwrite_file_outside", f"open({canary!r}, 'w').write('dead')", True),
        ("delete_file_outside", f"import posix\nposix.unlink({canary!r})", True),
        ("write_dev_shm", "open('/dev/shm/tinyhelen-escape', 'w').write('x')", True),
        ("write_var_tmp", "open('/var/tmp/tinyhelen-escape', 'w').write('x')", True),
        ("write_tmp", "open('/tmp/tinyhelen-escape', 'w').write('x')", True),
    ]


def _alive(marker: str) -> list[int]:
    "Processes whose command line carries `marker` (left by the setsid case)."
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(name))
            except OSError:
                pass
    return found


def run_all(workdir: str) -> dict:
    canary = os.path.join(workdir, "canary.txt")
    with open(canary, "w") as f:
        f.write("alive")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    got, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                got.append(server.accept())
            except OSError:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    marker = f"{time.time() % 1000:.6f}"
    cases = CASES + os_cases(canary, os.getpid(), server.getsockname()[1], marker)
    escapes = ["/dev/shm/tinyhelen-escape", "/var/tmp/tinyhelen-escape", "/tmp/tinyhelen-escape"]
    for p in escapes:
        if os.path.lexists(p):
            os.unlink(p)
    out = {}
    for guard in (True, False):
        mine = [c for c in cases if guard or c[2] is not False]
        try:
            sb = Sandbox(workers=2, limits=Limits(timeout=3, memory_mb=1024), guard=guard)
        except TypeError:  # a sandbox without the switch: only its default configuration is tried
            if not guard:
                continue
            sb = Sandbox(workers=2, limits=Limits(timeout=3, memory_mb=1024))
        with sb:
            verdicts = sb.run([c[1] for c in mine])
            healthy = [v.status for v in sb.run(["assert sorted([3, 1, 2]) == [1, 2, 3]"] * 2)]
        for (name, _, _), v in zip(mine, verdicts):
            ok = not v.passed or dict((c[0], c[2]) for c in cases)[name] is None
            out[f"{name}{'' if guard else ' (OS layer alone)'}"] = [ok, f"{v.status}: {v.reason}"[:200]]
        out[f"evaluator healthy{'' if guard else ' (OS layer alone)'}"] = [healthy == ["passed"] * 2, str(healthy)]
        out[f"no setsid fork left{'' if guard else ' (OS layer alone)'}"] = [_alive(marker) == [], str(_alive(marker))]
    stop.set()
    server.close()
    with open(canary) as f:
        out["canary intact"] = [f.read() == "alive", ""]
    out["no connection reached 127.0.0.1"] = [got == [], str(len(got))]
    left = [p for p in escapes if os.path.lexists(p)]
    out["nothing written to /tmp, /var/tmp, /dev/shm"] = [left == [], str(left)]
    return out


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(dir=sys.argv[1] if len(sys.argv) > 1 else None) as d:
        print(json.dumps(run_all(d)))
