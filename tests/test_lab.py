"""`make lab`: JupyterLab serves nbs/ offline (as root too) with tinyhelen importable from the checkout."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
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
        api = f"http://127.0.0.1:{port}/api/contents"
        deadline, listing = time.time() + 60, None
        while time.time() < deadline and listing is None:
            try:
                listing = json.loads(urllib.request.urlopen(f"{api}?token=t0ken", timeout=2).read())
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer within 60 s"
        served = {c["name"] for c in listing["content"] if c["type"] == "notebook"}
        assert served == {p.name for p in (ROOT / "nbs").glob("*.ipynb")}, "every notebook of nbs/, nothing else"
        # a notebook opened in the lab is the one on disk, cell for cell
        nb = json.loads(urllib.request.urlopen(f"{api}/00_core.ipynb?token=t0ken&content=1", timeout=10).read())["content"]
        on_disk = json.loads((ROOT / "nbs" / "00_core.ipynb").read_text())
        assert [(c["cell_type"], c["source"]) for c in nb["cells"]] == \
            [(c["cell_type"], "".join(c["source"])) for c in on_disk["cells"]]
        # and no request without the token gets in
        try:
            urllib.request.urlopen(api, timeout=10)
            raise AssertionError("the contents API answered without the token")
        except urllib.error.HTTPError as e:
            assert e.code == 403
    finally:
        proc.terminate()
        proc.wait(timeout=30)
