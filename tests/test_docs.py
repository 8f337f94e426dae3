"""The docs site builds offline from nbs/ and README.md, and its pages hold what the notebooks say."""
import html
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _first_heading(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "): return line[2:].strip()
    return ""


def _notebook_title(path: Path) -> str:
    "The notebook's first markdown heading, as words (what the page's <h1> must say)."
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = next(l for c in cells if c["cell_type"] == "markdown" for l in "".join(c["source"]).splitlines() if l.startswith("# "))
    return " ".join(re.findall(r"\w+", text[2:]))


def _page_title(page: Path) -> str:
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page.read_text(encoding="utf-8"), re.S).group(1)
    return " ".join(re.findall(r"\w+", html.unescape(re.sub(r"<[^>]+>", "", h1))))


def test_docs_site_builds_offline(tmp_path):
    out = tmp_path / "html"
    # any HTTP(S) client that honours the proxy settings fails fast: the build must not need the network
    env = {**os.environ, "PYTHONPATH": str(REPO), "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}
    # stored outputs only (test_module_pages_show_executed_outputs runs a notebook); every internal link must resolve
    r = subprocess.run([sys.executable, str(REPO / "docs" / "build.py"), "--out", str(out), "--quiet", "--execute", "none",
                        "--check-links"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert not (tmp_path / "jupyter_execute").exists(), "build files must stay out of OUT's parent"

    # the home page is the README, and the sidebar lists every notebook
    home = (out / "index.html").read_text(encoding="utf-8")
    assert _first_heading(REPO / "README.md") in home
    nbs = sorted(p for p in (REPO / "nbs").glob("*.ipynb"))
    for nb in nbs:
        page = re.sub(r"^\d+[a-zA-Z0-9]*_", "", nb.stem.lower()) + ".html"
        assert _page_title(out / page) == _notebook_title(nb), page
        assert f'href="{page}"' in home, f"{page} missing from the table of contents"
    # ... in notebook order
    pages = [re.sub(r"^\d+[a-zA-Z0-9]*_", "", nb.stem.lower()) + ".html" for nb in nbs]
    toc = [m for m in re.findall(r'href="([^"#/]+\.html)"', home) if m in pages]
    assert list(dict.fromkeys(toc)) == pages

    # the experiment notebooks (a folder of their own) and the paper-scale page
    for nb in sorted((REPO / "nbs" / "experiments").glob("*.ipynb")):
        page = "experiments/" + re.sub(r"^\d+[a-zA-Z0-9]*_", "", nb.stem.lower()) + ".html"
        assert _page_title(out / page) == _notebook_title(nb) and f'href="{page}"' in home, page
    assert "torchrun" in (out / "paper_scale.html").read_text(encoding="utf-8")
    # an experiment page: the title before papermill's parameters, outputs without stderr or machine paths
    exp = (out / "experiments" / "pretrain.html").read_text(encoding="utf-8")
    assert exp.index("<h1>Pre-training") < exp.index("Parameters (papermill)")
    assert "site-packages" not in exp and "TqdmWarning" not in exp and not re.search(r"/(?:work|home|tmp)/[^<\s]*runs/", exp)
    # file names in prose stay text: no http://RESULTS.md (check-links fails on those too)
    assert not re.search(r'href="https?://[A-Za-z_]+\.md', home + exp)

    # the module page: prose, show_doc's rendering of the API, exported code, no nbdev directive left
    core = (out / "core.html").read_text(encoding="utf-8")
    assert "<h1>Core" in core
    assert 'id="data-root"' in core and "data_root" in core and "TINYHELEN_DATA" in core
    assert "else the embedded sample" in core  # data_root's docstring, as show_doc renders it
    assert 'class="cell tag_export' in core  # exported code is shown
    assert "#|" not in core and "show_doc(" not in core and "default_exp" not in core
    assert "import shutil" not in core  # a `#| hide` cell
    # nothing is loaded from the web when the pages are viewed
    for html in (home, core):
        assert not re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', html)
    css = (out / "_static" / "tinyhelen.css").read_text()
    assert css == (REPO / "docs" / "_static" / "tinyhelen.css").read_text() and "_static/tinyhelen.css" in core


def _build_module():
    spec = importlib.util.spec_from_file_location("docs_build", REPO / "docs" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_directives_become_cell_tags(monkeypatch):
    "Each nbdev directive a reader meets, on a small notebook: what the page shows of it."
    import nbformat
    from execnb.nbio import dict2nb

    build = _build_module()
    monkeypatch.chdir(REPO / "nbs")  # nbdev reads settings.ini from here, as for a real notebook
    monkeypatch.setenv("IN_TEST", "1")

    def code(src, outputs=(), **meta):
        return {"cell_type": "code", "source": src, "metadata": meta, "outputs": list(outputs), "execution_count": None}

    def stream(text): return {"output_type": "stream", "name": "stdout", "text": text.splitlines(True)}  # as in .ipynb

    nb = dict2nb({"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "language": "python",
                  "display_name": "Python 3"}, "papermill": {"duration": 1.0}}, "cells": [
        code("#| default_exp demo"),
        {"cell_type": "markdown", "metadata": {}, "source": "# Demo\n\n> One line.\n\nIntro prose stays on the page."},
        code('#| export\ndef twice(x: int) -> int:\n    "Twice `x`."\n    return 2 * x'),
        code("#| hide\nsecret = 1"),
        code("#| echo: false\nprint('only the output')", [stream("only the output\n")]),
        code("#| output: false\nprint('only the code')", [stream("only the code\n")]),
        code("#| include: false\nnot_on_the_page = 1"),
        code("assert twice(2) == 4\nprint('stored')", [stream("stored\n")], papermill={"status": "completed"}, hidden=True),
        code("#| code-fold: true\nfolded = 2"),
    ]})
    nb["path_"] = str(REPO / "nbs" / "demo.ipynb")
    page = build.render(nb, "demo", {"demo"})
    nbformat.validate(page)  # plain nbformat: no nbdev attributes left
    assert set(page.metadata) <= {"kernelspec", "language_info"}

    cells = [(c.cell_type, c.source, c.metadata.get("tags", []), c.get("outputs", [])) for c in page.cells]
    text = "\n".join(src for _, src, _, _ in cells)
    assert "#|" not in text and "secret" not in text and "not_on_the_page" not in text and "default_exp" not in text
    assert cells[0][1].startswith("# Demo") and "Intro prose stays on the page." in cells[0][1]
    kinds = [(t, tags) for t, _, tags, _ in cells]
    doc = next(i for i, (t, src, _, _) in enumerate(cells) if t == "markdown" and "twice" in src)
    assert "### twice" in cells[doc][1] and "Twice" in cells[doc][1] and "nbdev-signature" in cells[doc][1]
    assert kinds[doc + 1] == ("code", ["export"]) and "return 2 * x" in cells[doc + 1][1]  # docs, then the code
    by_src = {src.splitlines()[0]: (tags, outs) for t, src, tags, outs in cells if t == "code"}
    assert by_src["print('only the output')"][0] == ["remove-input"]
    assert by_src["print('only the code')"][0] == ["remove-output"]
    assert by_src["folded = 2"][0] == ["hide-input"]
    tags, outs = by_src["assert twice(2) == 4"]
    assert tags == [] and [o["text"] for o in outs] == ["stored\n"]  # stored output kept, test cell not re-run
    assert all(set(c.metadata) <= {"tags"} for c in page.cells)


def test_every_notebook_gets_a_page_in_number_order(tmp_path):
    build = _build_module()
    for rel in ["10_train.ipynb", "2_data.ipynb", "99_cli.ipynb", "notes.ipynb", "experiments/02_b.ipynb",
                "experiments/01_a.ipynb", ".ipynb_checkpoints/2_data-checkpoint.ipynb", "_proc/2_data.ipynb"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    rels = build.notebooks(tmp_path)
    assert [r.as_posix() for r in rels] == ["2_data.ipynb", "10_train.ipynb", "99_cli.ipynb", "notes.ipynb",
                                            "experiments/01_a.ipynb", "experiments/02_b.ipynb"]
    names = build.page_names(rels)
    assert names[Path("2_data.ipynb")] == "data" and names[Path("experiments/01_a.ipynb")] == "experiments/a"
    toc = build._toctrees(names)
    assert toc.index(":caption: Notebooks") < toc.index("data") < toc.index("train") < toc.index(":caption: Experiments")


def test_results_page_carries_its_figures(tmp_path):
    "figures/RESULTS.md -> a page whose figures are copied beside it; a figure not on disk becomes a note."
    build = _build_module()
    figs = tmp_path / "figures"
    (figs / "run-1").mkdir(parents=True)
    (figs / "run-1" / "loss.png").write_bytes(b"\x89PNG")
    (figs / "RESULTS.md").write_text("# Results\n\n![loss](run-1/loss.png)\n\n![gone](run-2/x.png)\n")
    src = tmp_path / "src"
    page = build._results_page(figs / "RESULTS.md", src)
    assert "![loss](_results/run-1/loss.png)" in page and (src / "_results" / "run-1" / "loss.png").read_bytes() == b"\x89PNG"
    assert "![gone]" not in page and "gone (figure not in this checkout" in page
    toc = build._toctrees({Path("00_core.ipynb"): "core"}, ["results"])
    assert toc.index(":caption: Results") < toc.index(":caption: Notebooks")


def test_module_pages_show_executed_outputs(tmp_path, monkeypatch):
    "A module notebook (stored without outputs) is run for its page: the worked example's table and figure show."
    import nbformat
    build = _build_module()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("TINYHELEN_RUNS", str(tmp_path / "runs"))
    names = list(build.page_names(build.notebooks(REPO / "nbs")).values())
    dst, cache = tmp_path / "stats.ipynb", tmp_path / "executed"
    build.process_notebook(str(REPO / "nbs" / "01c_stats.ipynb"), str(dst), "stats", names, True, str(cache), "d1")
    page = nbformat.read(dst, as_version=4)
    outs = [o for c in page.cells if c.cell_type == "code" for o in c.outputs]
    assert any("| web |" in o.get("data", {}).get("text/markdown", "") for o in outs), "the stats table is shown"
    assert any("image/png" in o.get("data", {}) for o in outs), "the figure is shown"
    assert not any(o.get("name") == "stderr" for o in outs)
    # a second build reuses the execution; a changed package (digest) runs it again
    (cached,) = cache.glob("01c_stats-*.ipynb")
    stamp = cached.stat().st_mtime_ns
    build.process_notebook(str(REPO / "nbs" / "01c_stats.ipynb"), str(dst), "stats", names, True, str(cache), "d1")
    assert cached.stat().st_mtime_ns == stamp
    assert build.executes(Path("01c_stats.ipynb"), "modules") and not build.executes(Path("experiments/01_a.ipynb"), "modules")
    assert build.executes(Path("experiments/01_a.ipynb"), "all") and not build.executes(Path("results/cpu.ipynb"), "all")


def test_link_check_finds_broken_links(tmp_path):
    build = _build_module()
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.html").write_text('<h2 id="x">x</h2><a href="sub/b.html#y">ok</a><a href="#x">ok</a>'
                                     '<a href="missing.html">bad</a><a href="sub/b.html#nope">bad</a>'
                                     '<a href="http://RESULTS.md">bad</a><a href="https://arxiv.org/abs/2501.00522">ok</a>')
    (tmp_path / "sub" / "b.html").write_text('<p id="y">y</p><img src="../a.html">')
    assert [(p, h) for p, h, _ in build.broken_links(tmp_path)] == [
        ("a.html", "http://RESULTS.md"), ("a.html", "missing.html"), ("a.html", "sub/b.html#nope")]
    build._drop_dead_anchors(tmp_path)  # nbdev symbol links without a heading go to the page
    (tmp_path / "c.html").write_text('<a class="reference internal" href="sub/b.html#gone">n</a>')
    build._drop_dead_anchors(tmp_path)
    assert 'href="sub/b.html"' in (tmp_path / "c.html").read_text()
