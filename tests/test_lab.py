"""`make lab`: JupyterLab serves nbs/ offline (as root too) with tinyhelen importable from the checkout."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_package_is_the_checkout():
    import tinyhelen
    assert Path(tinyhelen.__file__).resolve().parent == ROOT / "tinyhelen", "editable install: nbdev_export is all it takes"


def test_jupyterlab_serves_the_notebooks(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
           "--IdentityProvider.token=t0ken", "--notebook-dir", str(ROOT / "nbs")] + (["--allow-root"] if os.geteuid() == 0 else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path)})
    try:
        deadline, body = time.time() + 60, None
        while time.time() < deadline and body is None:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token=t0ken", timeout=2).read().decode()
            except OSError:
                time.sleep(0.5)
        assert body is not None, "JupyterLab did not answer within 60 s"
        assert "00_core.ipynb" in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)
