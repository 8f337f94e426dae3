#!/usr/bin/env python
"""Build tinyhelen's docs site offline: README.md + nbs/**/*.ipynb -> static HTML (Sphinx + myst-nb).

Quarto (what `nbdev_docs` needs) cannot be installed from PyPI, so this script does its job:

1. every notebook under nbs/ goes through nbdev's own quarto-free docs processor (the one
   `nbdev.serve.proc_nbs` runs), so `show_doc` renders and backticked names become links;
2. nbdev directives become myst-nb cell tags (`hide` drops the cell, `echo: false` ->
   remove-input, `output: false` -> remove-output, `output: asis` -> the output inlined as
   markdown, `code-fold` -> a collapsed cell); exported code stays visible after its docs;
   everything that is not nbformat is dropped;
3. README.md (read at build time) becomes the home page, with a table of contents of the
   notebooks ordered by their number (one section per folder: nbs/, nbs/experiments/, ...);
   figures/smoke/RESULTS.md, the results summary of the last sweep (`make reproduce`), becomes the
   Results page, its figures included;
4. Sphinx builds the site with the config in docs/conf.py. Nothing is fetched from the network.

Module notebooks (nbs/*.ipynb) are stored without outputs, so the build runs them first, skipping
the cells nbdev_test skips (`eval: false`, settings.ini's tst_flags such as `slow`); each result is
cached under the work folder until the notebook or the package changes. Experiment notebooks
(nbs/experiments/) carry the outputs `tinyhelen sweep publish` copied from their sweep runs and
are rendered as they are; `--execute all` runs them too, `--execute none` runs nothing. Every page
shows what a reader needs: no stderr (warnings, progress bars, library logs) and no machine paths.
Run from anywhere: `python docs/build.py [--out DIR]`.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import os
import re
import shutil
import sys
import time
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
DEFAULT_OUT = DOCS / "_build" / "html"

_re_num = re.compile(r"^(\d+)")
_re_nbdev_prefix = re.compile(r"^\d+[a-zA-Z0-9]*_")  # what nbdev strips from page names (00_core -> core)
_re_directive = re.compile(r"^\s*#\s*\|")
_re_source_link = re.compile(r"^\[source\]\([^)]*\)(\{[^}]*\})?\s*$")


# ---------------------------------------------------------------------------------------------
# Which notebooks, in which order, under which page names
# ---------------------------------------------------------------------------------------------

def notebooks(nbs: Path) -> list[Path]:
    "Every notebook under `nbs` (relative paths), skipping hidden and build folders, in site order."
    skip = {"_proc", "_docs", "_site", "_build"}
    found = [p.relative_to(nbs) for p in nbs.rglob("*.ipynb")
             if not any(part.startswith((".", "_")) or part in skip for part in p.relative_to(nbs).parts)]
    return sorted(found, key=order_key)


def order_key(rel: Path):
    "Top-level notebooks first, then each folder; inside one, by notebook number, unnumbered last."
    m = _re_num.match(rel.stem)
    return (len(rel.parts) > 1, rel.parent.as_posix(), int(m.group(1)) if m else float("inf"), rel.stem)


def page_names(rels: list[Path]) -> dict[Path, str]:
    "Page name (no suffix) per notebook: nbdev's own naming (`00_core` -> `core`), unless two collide."
    short = {rel: (rel.parent / _re_nbdev_prefix.sub("", rel.stem.lower())).as_posix() for rel in rels}
    taken = list(short.values())
    names = {}
    for rel, name in short.items():
        clash = taken.count(name) > 1 or name == "index"  # index is the home page (README)
        names[rel] = (rel.parent / rel.stem).as_posix() if clash else name
    return names


# ---------------------------------------------------------------------------------------------
# One notebook: nbdev's processor, then directives -> myst-nb tags. Runs in a worker process.
# ---------------------------------------------------------------------------------------------

def _processors():
    "nbdev's docs processors, less the Quarto-only ones, with exported code kept and run without re-running tests."
    from nbdev import processors as P
    from nbdev.config import get_config

    class exec_docs(P.exec_show_docs):
        "Like nbdev's: run exported cells and imports so `show_doc` can render, but keep every stored output."
        def __call__(self, cell):
            if not getattr(self.nb, "has_docs_", None) or not hasattr(self, "k") or not P._do_eval(cell): return
            trees = cell.parsed_() or []
            if getattr(cell, "has_sd", False) or P._show_docs(trees):
                self.k.cell(cell)  # the rendered doc becomes this cell's output
                res = None
            elif cell.directives_.keys() & {"export", "exports", "exporti", "exec_doc"}:
                res = self.k.run_cell(cell.source)
            else:  # a cell that mixes imports with other code (a test): nbdev runs it all, we only import
                res = self.k.run_cell("\n".join(ast.unparse(t) for t in trees if isinstance(t, (ast.Import, ast.ImportFrom))))
            exc = self.k.exc if res is None else res.exception
            if exc: raise RuntimeError(f"{self.nb.path_}: cell {cell.idx_} failed while rendering docs:\n{cell.source}") from exc

    def drop_nbdev_only(cell):
        "`default_exp` and `hide` cells are for nbdev, not readers (nbdev's rm_export would also drop exported code)."
        if cell.directives_ and cell.directives_.keys() & {"default_exp", "hide"}: del cell["source"]

    extra = [P._import_obj(o) for o in get_config().get("procs", "").split()]
    return [P.populate_language, P.add_show_docs, P.strip_ansi, P.hide_line, P.filter_stream_, P.rm_header_dash,
            P.clean_show_doc, exec_docs, drop_nbdev_only, P.ai_magics, P.clean_magics, P.hide_, P.add_links,
            P.strip_hidden_metadata, *extra]


def _package_digest() -> str:
    "A digest of the package's code and settings: cached executions are stale once it changes."
    h = hashlib.sha1()
    for f in sorted((REPO / "tinyhelen").rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts: h.update(f.relative_to(REPO).as_posix().encode()); h.update(f.read_bytes())
    h.update((REPO / "settings.ini").read_bytes())
    return h.hexdigest()


def _execute_cached(path: Path, cache: Path, digest: str):
    "`_execute`, or its stored result when neither the notebook nor the package changed since."
    import nbformat
    from execnb.nbio import dict2nb
    key = hashlib.sha1(path.read_bytes() + digest.encode()).hexdigest()[:16]
    hit = cache / f"{path.stem}-{key}.ipynb"
    if hit.exists():
        res = dict2nb(nbformat.read(hit, as_version=4))
    else:
        res = _execute(path)
        cache.mkdir(parents=True, exist_ok=True)
        for old in cache.glob(f"{path.stem}-*.ipynb"): old.unlink()
        from execnb.nbio import nb2dict
        _write_if_changed(hit, nbformat.writes(nbformat.from_dict({k: v for k, v in nb2dict(res).items() if k != "path_"})) + "\n")
    res["path_"] = str(path)
    return res


def _execute(path: Path):
    "Run the notebook (kernel python3, cwd = its folder), skipping cells nbdev_test would skip."
    import nbformat
    from execnb.nbio import dict2nb
    from nbclient import NotebookClient
    from nbdev.config import get_config

    skip = {f for f in get_config().get("tst_flags", "").split()}
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code": continue
        flags = {m.group(1) for m in re.finditer(r"^\s*#\s*\|\s*([\w-]+)(:?\s*(\S*))", cell.source, re.M)
                 if m.group(1) in skip or (m.group(1) == "eval" and m.group(3).lower() == "false")}
        if flags: cell.metadata.setdefault("tags", []).append("skip-execution")
    try:
        NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as e:  # CellExecutionError carries the cell and its traceback; say which notebook
        raise RuntimeError(f"{path}: a cell failed while executing it for the docs (nbdev_test --path {path} "
                           f"shows the same failure):\n{e}") from None
    res = dict2nb(nb)
    res["path_"] = str(path)
    return res


def _frontmatter(nb) -> dict:
    "nbdev's frontmatter (a YAML raw cell, or the `# Title` / `> summary` markdown) without removing its cell."
    from nbdev.frontmatter import _fm2dict, _md2dict
    fm = {}
    for cell in nb.cells:
        if cell.cell_type == "raw": fm.update(_fm2dict(cell.source))
        elif cell.cell_type == "markdown": fm.update(_md2dict(cell.source)); break
    return fm


def _md_from_yaml(fm: dict) -> str:
    return f"# {fm['title']}" + (f"\n\n> {fm['description']}" if fm.get("description") else "")


def _asis_markdown(outputs) -> str:
    "A `show_doc` (or any `output: asis`) result as page markdown: heading, signature block, docstring."
    text = "".join("".join(o["data"]["text/markdown"]) for o in outputs if "text/markdown" in o.get("data", {}))
    lines = text.strip().splitlines()
    while lines and lines[0].strip() in ("---", ""): lines.pop(0)  # a transition cannot start a section
    lines = [l for l in lines if not _re_source_link.match(l)]  # links to GitHub: the source is on the page
    out, sig = [], []
    for line in lines + [""]:
        if line.startswith(">      ") or (sig and line.startswith(">  ")):  # nbdev's signature: quoted code
            sig.append(line[1:].removeprefix("     ").rstrip()); continue
        if sig:
            out += ["```{code-block} python", ":class: nbdev-signature", "", *sig, "```"]; sig = []
        out.append(("{.nbdev-doc}\n" if re.match(r"^#{2,6} ", line) else "") + line)  # show_doc's heading
    return "\n".join(out).strip() + "\n"


def _rewrite_links(md: str, page: str, names: set[str], base: str) -> str:
    "nbdev links to the Quarto site (`{base}core.html#data_root`) -> links to this site's pages."
    from myst_parser.mdit_to_docutils.base import default_slugify
    if not base: return md

    def sub(m):
        target, anchor = m.group(1), m.group(2) or ""
        if target not in names: return m.group(0)
        rel = os.path.relpath(target, os.path.dirname(page) or ".")
        return f"]({rel}.ipynb" + (f"#{default_slugify(anchor[1:])}" if anchor else "") + ")"

    return re.sub(r"\]\(" + re.escape(base) + r"([^)#\s]+)\.html(#[^)\s]*)?\)", sub, md)


def _strip_directives(src: str) -> str:
    lines = src.splitlines()
    while lines and _re_directive.match(lines[0]): lines.pop(0)
    return "\n".join(lines).strip("\n")


def _source_directives(cell) -> dict:
    from nbdev.process import extract_directives
    return extract_directives(cell, remove=False) if cell.cell_type == "code" else {}  # reads, changes nothing


def _is_false(d: dict, key: str) -> bool: return [a.lower() for a in d.get(key, [])] == ["false"]


def _title_first(cells: list) -> list:
    "An experiment notebook opens with papermill's parameters cell; its page opens with the title, then the parameters."
    title = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and re.match(r"\s*# ", c.source)), None)
    if not title: return cells
    before = cells[:title]
    if all(c.cell_type == "code" and ("parameters" in c.metadata.get("tags", []) or not c.source.strip()) for c in before):
        return [cells[title], *before, *cells[title + 1:]]
    return cells


def _to_myst(nb, page: str, names: set[str], base: str):
    "nbdev-processed notebook -> a plain nbformat 4 notebook whose cell tags myst-nb understands."
    import nbformat
    from nbformat import v4
    from execnb.nbio import nb2dict
    from tinyhelen.report import reader_outputs  # what publishing keeps of outputs, the pages keep too

    cells, raw = [], _title_first(list(nb.cells))
    # exported code goes after the docs nbdev rendered for it (nbdev inserts those in reverse order)
    i = 0
    while i < len(raw):
        c = raw[i]
        docs = []
        while i + 1 + len(docs) < len(raw) and getattr(raw[i + 1 + len(docs)], "has_sd", False): docs.append(raw[i + 1 + len(docs)])
        if docs and c.cell_type == "code" and c.directives_.keys() & {"export", "exporti", "exports"}:
            cells += [*reversed(docs), c]; i += 1 + len(docs)
        else:
            cells.append(c); i += 1

    out = []
    for c in cells:
        # nbdev's directives: those it parsed, plus the Quarto ones its processors added (show_doc's)
        d = {**(getattr(c, "directives_", None) or {}), **_source_directives(c)}
        if c.cell_type == "markdown":
            out.append(v4.new_markdown_cell(_rewrite_links(c.source, page, names, base)))
        elif c.cell_type == "raw":
            from nbdev.frontmatter import _fm2dict
            fm = _fm2dict(c.source)
            out.append(v4.new_markdown_cell(_md_from_yaml(fm)) if fm.get("title") else v4.new_raw_cell(c.source))
        else:
            if _is_false(d, "include:"): continue
            src, outputs = _strip_directives(c.source), reader_outputs(nb2dict(c.get("outputs", [])), REPO)
            echo = not _is_false(d, "echo:")
            if d.get("output:") == ["asis"]:
                if echo and src: out.append(v4.new_code_cell(src))
                md = _asis_markdown(outputs)
                if md.strip(): out.append(v4.new_markdown_cell(_rewrite_links(md, page, names, base)))
                continue
            if not src and not outputs: continue
            tags = [t for t in c.metadata.get("tags", []) if t != "export"]  # the author's own (e.g. papermill's)
            tags += (["remove-input"] if not echo else []) + (["remove-output"] if _is_false(d, "output:") else [])
            if d.get("code-fold:", ["false"])[0].lower() in ("true", "show"): tags.append("hide-input")
            if d.keys() & {"export", "exporti", "exports"}: tags.append("export")  # styled as nbdev's "Exported source"
            cell = v4.new_code_cell(src, outputs=[nbformat.from_dict(o) for o in outputs])
            if tags: cell.metadata["tags"] = tags
            out.append(cell)
    meta = {k: v for k, v in nb2dict(nb.metadata).items() if k in ("kernelspec", "language_info")}
    res = v4.new_notebook(cells=out, metadata=meta)
    for i, cell in enumerate(res.cells): cell.id = f"c{i}"  # stable ids: an unchanged page is not rebuilt
    res = nbformat.reads(nbformat.writes(res), as_version=4)  # outputs in nbformat's in-memory form (joined lines)
    nbformat.validate(res)
    return res


def render(nb, page: str, names: set[str]):
    """An nbdev notebook (execnb's `read_nb` form; cwd inside the repo) -> the nbformat notebook of its page.
    `page` is its page name, `names` all page names (for links between pages)."""
    from nbdev.config import get_config
    from nbdev.process import NBProcessor

    os.environ["IN_TEST"] = "1"  # as nbdev's own processor: modules may skip work at import
    warnings.filterwarnings("ignore", message="Found cells containing imports")  # we run only their imports
    cfg = get_config()
    nb.frontmatter_ = _frontmatter(nb)
    NBProcessor(nb=nb, procs=_processors()).process()
    base = f"{cfg.doc_host.rstrip('/')}{cfg.doc_baseurl.rstrip('/')}/" if cfg.get("doc_host") else ""
    return _to_myst(nb, page, set(names), base)


def process_notebook(src: str, dst: str, page: str, names: list[str], execute: bool, cache: str | None = None,
                     digest: str = "") -> str:
    "Worker: render one notebook for the site (executed first if `execute`, through `cache` if given); returns a timing note."
    import nbformat
    from execnb.nbio import read_nb

    t0, src, cwd, main = time.time(), Path(src), os.getcwd(), sys.modules["__main__"]
    os.chdir(src.parent)  # as nbdev_test: a notebook runs from its folder
    try:
        nb = (_execute_cached(src, Path(cache), digest) if cache else _execute(src)) if execute else read_nb(src)
        res = render(nb, page, set(names))
    finally:
        os.chdir(cwd)
        sys.modules["__main__"] = main  # IPython's shell replaces it; this worker's next task is looked up there
    _write_if_changed(Path(dst), nbformat.writes(res) + "\n")
    return f"{src.name}: {time.time() - t0:.1f} s"


# ---------------------------------------------------------------------------------------------
# The home page and the site
# ---------------------------------------------------------------------------------------------

def _write_if_changed(path: Path, text: str):
    "Sphinx rebuilds only pages whose source changed: leave unchanged ones untouched."
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _readme_page(readme: Path, src: Path, nbs: Path, names: dict[Path, str], title: str) -> str:
    """README.md as a MyST page: links to notebooks go to their pages, images are copied in, links to
    other repository files stay text (the site has no copy of them)."""
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    by_path = {(nbs.relative_to(REPO) / rel).as_posix(): name for rel, name in names.items()}

    def link(m):
        bang, label, target = m.group(1), m.group(2), m.group(3)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target, re.I): return m.group(0)
        path, _, anchor = target.partition("#")
        norm = os.path.normpath(path).replace(os.sep, "/")
        if norm in by_path: return f"{bang}[{label}]({by_path[norm]}.ipynb{'#' + anchor if anchor else ''})"
        if norm == "figures/smoke/RESULTS.md" and (REPO / norm).is_file(): return f"[{label}](results.md)"
        # a profile's results table links to its results page (the executed notebook that wrote it)
        page = by_path.get(f"nbs/results/{Path(norm).parent.name}.ipynb") if norm.endswith("/RESULTS.md") else None
        if page: return f"[{label}]({page}.ipynb)"
        f = REPO / norm
        if bang and f.is_file():  # an image: ship it with the site
            dest = src / "_readme" / norm
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)
            return f"![{label}](_readme/{norm})"
        return label if not bang else f"*{label}*"

    parts = re.split(r"(^```.*?^```\s*$|^~~~.*?^~~~\s*$)", text, flags=re.M | re.S)  # leave code blocks alone
    text = "".join(p if i % 2 else re.sub(r"(!?)\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", link, p)
                   for i, p in enumerate(parts))
    if not re.search(r"^# ", text, re.M): text = f"# {title}\n\n{text}"
    return text


def _results_page(results: Path, src: Path) -> str:
    """figures/smoke/RESULTS.md (written by `tinyhelen sweep summary`) as a page, its figures copied in."""
    text = results.read_text(encoding="utf-8")

    def image(m):
        f = (results.parent / m.group(2)).resolve()
        if re.match(r"^[a-z][a-z0-9+.-]*:|^/", m.group(2), re.I): return m.group(0)
        if not f.is_file(): return f"*{m.group(1)} (figure not in this checkout: run the sweep)*"
        dest = src / "_results" / m.group(2)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
        return f"![{m.group(1)}](_results/{m.group(2)})"

    return re.sub(r"!\[([^\]]*)\]\(([^)\s]+)\)", image, text)


def _toctrees(names: dict[Path, str], extra: list[str] = ()) -> str:
    "Hidden toctrees for the sidebar: extra pages (the results) first, then one per folder of notebooks, in notebook order."
    groups: dict[str, list[str]] = {"results": list(extra)} if extra else {}
    for rel, name in names.items():
        groups.setdefault(rel.parent.as_posix(), []).append(name)
    out = []
    for folder, pages in groups.items():
        caption = "Notebooks" if folder == "." else folder.replace("_", " ").replace("/", " / ").capitalize()
        if folder == "results" and extra: caption = "Results"
        out += ["", "```{toctree}", ":hidden:", f":caption: {caption}", "", *pages, "```"]
    return "\n".join(out) + "\n"


EXECUTE = ("modules", "all", "none")


def executes(rel: Path, execute: str) -> bool:
    """Whether the build runs this notebook: `modules` runs the top-level (module) notebooks, whose outputs are not
    stored; `all` the experiments too. Results pages (nbs/results/) never: they read a profile's runs, which only
    the machine that ran it has, so they are executed by their make target (`make cpu`) and stored with outputs."""
    if rel.parts[0] == "results":
        return False
    return execute == "all" or (execute == "modules" and len(rel.parts) == 1)


def build(out: Path, work: Path, execute: str = "modules", jobs: int = 2, strict: bool = False, quiet: bool = False,
          verbose: bool = False) -> Path:
    "Build the site into `out`; staged sources, Sphinx caches and executed notebooks go to `work`. Returns out/index.html."
    import configparser
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    t0 = time.time()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    cfg = configparser.ConfigParser()  # settings.ini uses %(name)s interpolation, as nbdev reads it
    cfg.read(REPO / "settings.ini")
    title = cfg.get("DEFAULT", "title", fallback="tinyhelen")
    nbs = REPO / cfg.get("DEFAULT", "nbs_path", fallback="nbs")

    rels = notebooks(nbs)
    names = page_names(rels)
    src = work / "src"
    # pages of notebooks that no longer exist must go, or Sphinx keeps them
    keep = {f"{n}.ipynb" for n in names.values()} | {"index.md", "results.md"}
    if src.exists():
        for f in src.rglob("*.ipynb"):
            if f.relative_to(src).as_posix() not in keep: f.unlink()
        shutil.rmtree(src / "_readme", ignore_errors=True)
        shutil.rmtree(src / "_results", ignore_errors=True)
    src.mkdir(parents=True, exist_ok=True)

    # the notebooks import this checkout's package, whatever is installed
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    if execute not in EXECUTE: raise ValueError(f"execute={execute!r}: choose from {', '.join(EXECUTE)}")
    jobs = max(1, min(jobs, len(rels)))
    digest = _package_digest() if execute != "none" else ""
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futs = [pool.submit(process_notebook, str(nbs / rel), str(src / f"{names[rel]}.ipynb"), names[rel],
                            list(names.values()), executes(rel, execute), str(work / "executed"), digest) for rel in rels]
        for f in futs: say("  processed", f.result())
    t1 = time.time()

    # the results summary of the last sweep (make reproduce), when there is one
    results = REPO / "figures" / "smoke" / "RESULTS.md"
    if results.exists():
        _write_if_changed(src / "results.md", _results_page(results, src))
    elif (src / "results.md").exists():
        (src / "results.md").unlink()
    extra = ["results"] if results.exists() else []
    _write_if_changed(src / "index.md", _readme_page(REPO / "README.md", src, nbs, names, title) + _toctrees(names, extra))

    from sphinx.cmd.build import build_main
    import myst_nb.sphinx_ext
    # myst-nb writes notebook copies for download next to OUT (OUT/../jupyter_execute): keep them in `work`
    myst_nb.sphinx_ext.OUTPUT_FOLDER = str(work / "jupyter_execute")
    args = ["-b", "html", "-c", str(DOCS), "-d", str(work / "doctrees"), "-j", "1",
            "-D", f"nb_execution_cache_path={work / 'jupyter_cache'}", str(src), str(out)]
    if not verbose: args.insert(0, "-q")  # Sphinx's progress lines only with --verbose; warnings always
    if strict: args[:0] = ["-W", "--keep-going"]
    rc = build_main(args)
    if rc: raise SystemExit(f"sphinx-build failed (exit {rc})")
    _drop_dead_anchors(out)
    # Sphinx copies static files only when some page was rebuilt: a CSS edit alone must show too
    shutil.copytree(DOCS / "_static", out / "_static", dirs_exist_ok=True)
    say(f"docs: {len(rels)} notebooks processed in {t1 - t0:.1f} s, site built in {time.time() - t1:.1f} s "
        f"-> {out / 'index.html'}")
    return out / "index.html"


def _drop_dead_anchors(site: Path):
    """nbdev links every backticked name it knows (`Units.judge`) to `page.html#unitsjudge`, but only names with
    their own `show_doc` get a heading there: such links go to the page itself rather than to a missing anchor."""
    ids = {f.resolve(): set(re.findall(r'\bid="([^"]+)"', f.read_text(encoding="utf-8", errors="replace")))
           for f in site.glob("**/*.html") if "_static" not in f.relative_to(site).parts}
    for f in ids:
        html = f.read_text(encoding="utf-8")

        def fix(m):
            page, anchor = m.group(2), m.group(3)
            target = (f.parent / page).resolve() if page else f
            if target in ids and anchor not in ids[target]:
                return f'{m.group(1)}"{page or "#"}"'
            return m.group(0)

        new = re.sub(r'(<a class="reference internal" href=)"([^"#]*)#([^"]+)"', fix, html)
        if new != html: f.write_text(new, encoding="utf-8")


def broken_links(site: Path) -> list[tuple[str, str, str]]:
    """(page, link, why) for every link of the built site that leads nowhere: a page or file not in the site, an
    anchor missing from its page, or a file name the linkifier turned into a web address (`http://RESULTS.md`).
    Web links are not fetched (the build is offline)."""
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self):
            super().__init__(); self.links, self.ids = [], set()
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if a.get("id"): self.ids.add(a["id"])
            if tag == "a" and a.get("name"): self.ids.add(a["name"])
            for k in ("href", "src"):
                if a.get(k) and not (tag == "link" and k == "href" and a.get("rel") == "canonical"): self.links.append(a[k])

    pages = {}
    for f in site.rglob("*.html"):
        if "_static" in f.relative_to(site).parts: continue  # the theme's template fragments, not pages
        p = Links(); p.feed(f.read_text(encoding="utf-8", errors="replace")); pages[f.resolve()] = p
    bad = []
    for f, p in pages.items():
        rel = f.relative_to(site.resolve()).as_posix()
        for href in p.links:
            if re.match(r"^(mailto|javascript|data):", href): continue
            if re.match(r"^https?://", href):
                host = re.sub(r"^https?://", "", href).split("/")[0]
                if re.search(r"\.(md|py|ipynb|ya?ml|json|csv|txt|ini|toml|png)$", host, re.I):
                    bad.append((rel, href, "a file name made into a web address"))
                continue
            path, _, anchor = href.partition("#")
            target = (f.parent / path.split("?")[0]).resolve() if path else f
            if not target.exists():
                bad.append((rel, href, "no such file in the site")); continue
            if anchor and target.suffix == ".html" and target in pages and anchor not in pages[target].ids:
                bad.append((rel, href, "no such anchor"))
    return sorted(set(bad))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="Open OUT/index.html in a browser; no server is needed.")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the HTML site (default: docs/_build/html)")
    p.add_argument("--work", type=Path, default=None,
                   help="folder for staged pages and Sphinx caches (default: OUT's parent/.docs-work-<OUT's name>)")
    p.add_argument("--execute", choices=EXECUTE, default="modules",
                   help="which notebooks to run before rendering: modules (nbs/*.ipynb, whose outputs are not stored; "
                        "cached until they or the package change), all (experiment notebooks too), none (render stored "
                        "outputs only). Cells flagged with settings.ini's tst_flags or `eval: false` are never run "
                        "(default: modules)")
    p.add_argument("--jobs", type=int, default=2, help="notebooks processed in parallel (default: 2)")
    p.add_argument("--check-links", action="store_true", help="after building, fail on a link to a page, file or anchor "
                   "the site does not have, or on a file name turned into a web address (http://RESULTS.md)")
    p.add_argument("--strict", action="store_true", help="turn Sphinx warnings into errors")
    p.add_argument("--quiet", action="store_true", help="print only warnings and errors")
    p.add_argument("--verbose", action="store_true", help="show Sphinx's own progress output")
    a = p.parse_args(argv)
    out = a.out.resolve()
    work = (a.work or out.parent / f".docs-work-{out.name}").resolve()
    index = build(out, work, execute=a.execute, jobs=a.jobs, strict=a.strict, quiet=a.quiet, verbose=a.verbose)
    if a.check_links:
        bad = broken_links(index.parent)
        if bad: raise SystemExit(f"{len(bad)} broken link(s):\n" + "\n".join(f"  {page}: {href} ({why})" for page, href, why in bad))
        if not a.quiet: print("links: all internal links resolve")


if __name__ == "__main__":
    main()
