"""Hostile programs: each is contained, gets the right verdict, and the evaluator stays healthy."""
import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from tinyhelen.sandbox import Limits, Sandbox

HERE = Path(__file__).parent
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="per-worker user ids need root")


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, limits=Limits(timeout=3, memory_mb=1024)) as sb:
        yield sb


def healthy(sb):
    v = sb.run(["assert sorted([3, 1, 2]) == [1, 2, 3]"] * 4)
    assert all(x.passed for x in v) and all(p.poll() is None for p in sb._procs.values())


def uid_processes(uids):
    from tinyhelen.sandbox import _user_pids
    return [p for u in uids for p in _user_pids(u)]


def _alive(marker: str) -> list[int]:
    "Processes whose command line carries `marker` (the `sleep MARKER` children the programs below start)."
    sys.path.insert(0, str(HERE))
    try:
        from sandbox_hostile import _alive as alive
    finally:
        sys.path.remove(str(HERE))
    deadline = time.monotonic() + 5  # a killed child is reaped asynchronously: give it a moment, no more
    while (pids := alive(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def _sleeper(marker: str) -> str:
    "Program text: start `sleep MARKER` by fork+exec and by posix_spawn (the raw posix calls, past the Python guard)."
    return ("import posix\n"
            "if posix.fork() == 0:\n"
            f"    posix.execv('/bin/sleep', ['sleep', '1{marker}'])\n"
            f"posix.posix_spawn('/bin/sleep', ['sleep', '2{marker}'], {{}})\n")


def test_forked_children_end_with_their_program(sandbox):
    marker = f"{time.time() % 1000:.6f}"
    v, = sandbox.run([_sleeper(marker) + "import time; time.sleep(0.3)"])
    assert v.passed, v  # the children started: the program itself was fine
    assert _alive(marker) == [], "a child outlived the program that started it"
    healthy(sandbox)


def test_forked_children_do_not_outlive_the_timeout(sandbox):
    marker = f"{time.time() % 1000:.6f}"
    t = time.monotonic()
    v, = sandbox.run([_sleeper(marker) + "while True:\n    pass"], Limits(timeout=1))
    assert v.status == "timeout" and time.monotonic() - t < 15
    assert _alive(marker) == [], "a child outlived its timed-out program"
    healthy(sandbox)


def test_forked_children_inherit_the_limits(sandbox):
    "A child may not allocate what its parent may not, nor start more processes than the program's share."
    prog = ("import posix\npid = posix.fork()\nif pid == 0:\n    try:\n        bytearray(10 * 2**30)\n"
            "    except MemoryError:\n        posix._exit(3)\n    posix._exit(0)\n"
            "assert posix.WEXITSTATUS(posix.waitpid(pid, 0)[1]) == 3, 'the child allocated past the memory limit'\n")
    v, = sandbox.run([prog])
    assert v.passed, v
    marker = f"{time.time() % 1000:.6f}"
    bomb = ("import posix\nn = 0\ntry:\n    while n < 1000:\n        if posix.fork() == 0:\n"
            f"            posix.execv('/bin/sleep', ['sleep', '{marker}'])\n        n += 1\nexcept OSError:\n    pass\n"
            "assert n < 100, f'{n} processes started'\n")
    v, = sandbox.run([bomb], Limits(timeout=10, nproc=16))
    assert v.passed, v  # fork failed well before 100 children: the process cap held
    assert _alive(marker) == [], "the capped children outlived the program"
    healthy(sandbox)


def test_python_level_fork_bomb(sandbox):
    t = time.monotonic()
    v, = sandbox.run(["import os\nwhile True:\n    os.fork()"], Limits(timeout=3))
    assert not v.passed and time.monotonic() - t < 15
    healthy(sandbox)


@ROOT_ONLY
def test_ctypes_fork_bomb_is_capped_and_reaped(sandbox):
    bomb = "import ctypes\nlibc = ctypes.CDLL(None)\nwhile True:\n    libc.fork()"
    with Sandbox(workers=1, guard=False) as bare:  # ctypes gets past the Python layer: the OS layer must hold
        t = time.monotonic()
        v, = bare.run([bomb], Limits(timeout=2, nproc=16))
        assert v.status == "timeout" and time.monotonic() - t < 30
        assert uid_processes(set(u for u in bare.uids)) == [], "no process of the bomb survives"
        healthy(bare)


def test_infinite_loop_times_out(sandbox):
    v, = sandbox.run(["while True:\n    pass"], Limits(timeout=1))
    assert v.status == "timeout" and 0.9 < v.seconds < 10
    healthy(sandbox)


def test_huge_allocation_is_refused(sandbox):
    v, = sandbox.run(["x = bytearray(10 * 2**30)\nassert len(x) > 0"])
    assert v.status == "error" and "MemoryError" in v.reason
    healthy(sandbox)


def test_files_outside_its_folder_survive(sandbox, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("alive")
    tmp_path.chmod(0o755)
    attacks = [f"import ctypes\nassert ctypes.CDLL(None).unlink({str(canary).encode()!r}) == 0",
               f"open({str(canary)!r}, 'w').write('dead')",
               f"import shutil\nshutil.rmtree({str(tmp_path)!r})",
               "import os\nos.remove('/etc/hostname')"]
    verdicts = sandbox.run(attacks)
    assert all(not v.passed for v in verdicts), verdicts
    assert canary.read_text() == "alive" and os.path.exists("/etc/hostname")
    healthy(sandbox)


def test_no_network(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(3)
    port = server.getsockname()[1]
    got = []

    def accept():
        try:
            got.append(server.accept())
        except OSError:  # timed out or closed: nothing came
            pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    v, = sandbox.run([f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"])
    t.join()
    server.close()
    assert v.status == "error" and ("OSError" in v.reason or "unreachable" in v.reason), v
    assert got == [], "the listener on the host must see no connection"
    healthy(sandbox)


def test_killing_its_parent_fails(sandbox):
    prog = "import ctypes, os\nassert ctypes.CDLL(None).kill(os.getppid(), 9) == 0"
    v, = sandbox.run([prog])
    assert not v.passed
    healthy(sandbox)


def test_os_exit_is_not_a_pass(sandbox):
    v, = sandbox.run(["import os\nos._exit(0)\nassert False"])
    assert v.status == "failed" and "exited before" in v.reason
    healthy(sandbox)


def test_stdout_flood_is_contained(sandbox):
    flood, endless = "for _ in range(200_000):\n    print('x' * 1000)", "while True:\n    print('y' * 10000)"
    v1, v2 = sandbox.run([flood, endless], Limits(timeout=2))
    assert v1.status == "passed" and v2.status == "timeout"
    healthy(sandbox)


def test_cwd_and_env_changes_do_not_leak(sandbox):
    cwd, env = os.getcwd(), dict(os.environ)
    first, = sandbox.run(["import os\nos.chdir('/')\nos.environ['EVIL'] = '1'"])
    second, = sandbox.run(["import os\nassert 'EVIL' not in os.environ\nassert os.path.basename(os.getcwd()).startswith('sandbox-')"])
    assert first.passed and second.passed, (first, second)
    assert os.getcwd() == cwd and dict(os.environ) == env


def test_forged_pass_is_not_accepted(sandbox):
    prog = "import os, json\nfor fd in range(3, 64):\n    try: os.write(fd, json.dumps(['x', 'passed', '']).encode())\n    except OSError: pass\nassert False"
    v, = sandbox.run([prog])
    assert not v.passed
    healthy(sandbox)


def test_verdicts_are_deterministic(sandbox):
    progs = ["assert 1", "assert 0", "while 1: pass", "1/0", "import os\nos._exit(3)"] * 3
    runs = [[v.status for v in sandbox.run(progs, Limits(timeout=1))] for _ in range(2)]
    assert runs[0] == runs[1] and runs[0][:5] == ["passed", "failed", "timeout", "error", "failed"]


def test_files_do_not_outlive_their_program(sandbox):
    first, = sandbox.run(["import os, tempfile\nopen('left.txt', 'w').write('x')\nopen(os.path.join(tempfile.gettempdir(), 'left2.txt'), 'w').write('x')\nos.mkdir('sub')"])
    second, = sandbox.run(["import os\nassert os.listdir('.') == [], os.listdir('.')"])
    assert first.passed and second.passed, (first, second)


def test_imports_are_found_in_the_text():
    from tinyhelen.sandbox import _imports_of
    prog = ("from typing import List\nimport os, sys as s\ndef f():\n    import a.b as c, d\nfrom . import q\n"
            "from .x import y\n# import this\nx = 'import antigravity'\n")
    assert _imports_of(prog) == {"typing", "os", "sys", "a.b", "d"}, "statements only: not comments, not relative"


def test_a_folder_that_cannot_be_removed_does_not_stop_the_zygote(tmp_path, monkeypatch):
    import tinyhelen.sandbox as S
    stuck = tmp_path / "sandbox-stuck"
    stuck.mkdir()  # as if the last program had left it undeletable
    monkeypatch.setattr(S, "_home", str(stuck))
    v = S.run_one("import os\nassert os.getcwd() != " + repr(str(stuck)), Limits(timeout=5), None)
    assert v.passed, v
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox-stuck"], "the throwaway folder is gone again"


# --- issue 16: an unforgeable verdict, and the same guarantees with or without root -----------------------------
import json
import shutil
import subprocess
import tempfile


def _failures(results: dict) -> dict:
    return {k: v for k, v in results.items() if not v[0]}


def test_hostile_programs_are_contained_as_the_current_user(tmp_path):
    sys.path.insert(0, str(HERE))
    try:
        from sandbox_hostile import run_all
    finally:
        sys.path.remove(str(HERE))
    results = run_all(str(tmp_path))
    assert len(results) >= 30 and _failures(results) == {}, _failures(results)


def _runs_as(user: str, python: str) -> bool:
    return subprocess.run([shutil.which("runuser"), "-u", user, "--", python, "-c", "import sys"], capture_output=True).returncode == 0


@pytest.fixture
def unprivileged():
    """(run, base): `run(argv, levels=0)` runs argv as the user nobody, inside `levels` nested user namespaces, with
    a world-readable copy of the (standard-library only) sandbox module on its path; the user may not read this
    checkout or its interpreter (e.g. both under /root)."""
    if os.geteuid() != 0 or not shutil.which("runuser"):
        pytest.skip("needs root to become an unprivileged user")
    python = next((p for p in (sys.executable, shutil.which("python3"), "/usr/bin/python3") if p and _runs_as("nobody", p)), None)
    if python is None:
        pytest.skip("no Python interpreter the user nobody can run")
    base = Path(tempfile.mkdtemp(prefix="sandbox-unpriv-"))
    pkg = base / "tinyhelen"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    shutil.copy(HERE.parent / "tinyhelen" / "sandbox.py", pkg / "sandbox.py")
    shutil.copy(HERE / "sandbox_hostile.py", base / "sandbox_hostile.py")
    for p in (base, pkg, *pkg.iterdir(), base / "sandbox_hostile.py"):
        p.chmod(0o755 if p.is_dir() else 0o644)

    def run(args, levels=0):
        nest = ["unshare", "-U", "--map-user=1", "--map-group=1"] * levels
        return subprocess.run([shutil.which("runuser"), "-u", "nobody", "--", *nest, python, *args], cwd=base,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(base)}, capture_output=True, text=True,
                              timeout=300)
    yield run, base
    shutil.rmtree(base, ignore_errors=True)


def test_hostile_programs_are_contained_as_an_unprivileged_user(unprivileged):
    run, base = unprivileged
    work = base / "work"
    work.mkdir()
    shutil.chown(work, "nobody")
    r = run([str(base / "sandbox_hostile.py"), str(work)])
    assert r.returncode == 0, r.stderr[-3000:]
    results = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(results) >= 30 and _failures(results) == {}, _failures(results)


def test_without_namespaces_it_refuses_unless_told_unsafe(unprivileged):
    # 32 nested user namespaces: the kernel's nesting limit, so the sandbox cannot make the ones it needs
    run, _ = unprivileged
    script = ("from tinyhelen.sandbox import Sandbox, SandboxUnavailable\n"
              "try:\n    Sandbox(workers=1)\nexcept SandboxUnavailable as e:\n    print('refused:', e)\n"
              "for _ in range(2):\n    with Sandbox(workers=2, unsafe=True) as sb:\n"
              "        print([v.status for v in sb.run(['assert 1', 'assert 0'])], sb.isolated)\n")
    r = run(["-c", script], levels=32)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0].startswith("refused: cannot isolate") and "TINYHELEN_SANDBOX_UNSAFE=1" in lines[0], r.stdout
    assert lines[1:] == ["['passed', 'failed'] False"] * 2, r.stdout
    assert r.stderr.count("sandbox: UNSAFE") == 1 and "reach the network" in r.stderr, r.stderr


def test_a_patched_assertionerror_is_still_a_failed_test(sandbox):
    v, = sandbox.run(["import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\nassert 1 == 2, 'wrong'"])
    assert v.status == "failed" and "wrong" in v.reason, v


def test_common_modules_still_work_under_the_guard(sandbox):
    prog = ("from collections import namedtuple\nimport enum, typing, dataclasses, threading, json\n"
            "P = namedtuple('P', 'x y')\nclass C(enum.Enum):\n    A = 1\nT = typing.TypeVar('T')\n"
            "@dataclasses.dataclass\nclass D:\n    x: int\nout = []\nth = threading.Thread(target=lambda: out.append(1))\n"
            "th.start(); th.join()\nassert P(1, 2).y == 2 and C.A.value == 1 and D(3).x == 3 and out == [1]\n"
            "def f(n): return 1 if n == 0 else n * f(n - 1)\nimport sys; sys.setrecursionlimit(5000)\nassert f(2000) > 0")
    v, = sandbox.run([prog])
    assert v.passed, v


def test_packages_under_tmp_still_import(tmp_path, monkeypatch):
    # a virtual environment under /tmp: its modules must stay importable inside the sandbox
    lib = Path(tempfile.mkdtemp(prefix="venv-lib-", dir="/tmp"))
    try:
        (lib / "th_probe_mod.py").write_text("VALUE = 42\n")
        lib.chmod(0o755)
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(lib), os.environ.get("PYTHONPATH", "")]))
        with Sandbox(workers=1, limits=Limits(timeout=5)) as sb:
            v, = sb.run(["import th_probe_mod\nassert th_probe_mod.VALUE == 42"])
        assert v.passed, v
    finally:
        shutil.rmtree(lib, ignore_errors=True)
