"""The `tinyhelen` console script as a user runs it."""
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "tinyhelen"


def run(*args, **kw):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=300, **kw)


def test_top_level_help_lists_groups():
    r = run("--help")
    assert r.returncode == 0 and "groups:" in r.stdout and "data" in r.stdout


@pytest.mark.parametrize("args", [("data", "--help"), ("data", "stats", "--help"), ("data", "download", "--help")])
def test_group_and_command_help(args):
    r = run(*args)
    assert r.returncode == 0 and "usage: tinyhelen data" in r.stdout


def test_unknown_group_is_an_error():
    r = run("nonsense")
    assert r.returncode != 0 and "invalid choice" in r.stderr


def test_data_stats_writes_report(tmp_path):
    r = run("data", "stats", "--out", str(tmp_path), "--genres", "web", "wiki")
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "data_stats.md").read_text()
    assert "| web |" in md and "| wiki |" in md and (tmp_path / "data_stats.png").stat().st_size > 10_000


def test_bad_data_root_is_a_clear_error(tmp_path):
    r = run("data", "stats", "--data-root", str(tmp_path / "nope"))
    assert r.returncode == 2 and str(tmp_path / "nope") in r.stderr and "Traceback" not in r.stderr


def test_offline_download_fails_fast_with_advice(tmp_path):
    r = run("data", "download", "--data-root", str(tmp_path), "--versions", "leaner", "--sizes", "10M",
            "--splits", "validation", env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)})
    assert r.returncode == 2 and "could not download" in r.stderr and "TINYHELEN_DATA" in r.stderr


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys):
    import tinyhelen.refine
    from tinyhelen.cli import main
    from tinyhelen.core import UsageError

    def fails_with(exc):
        def run(**kw):
            raise exc
        return run
    monkeypatch.setattr(tinyhelen.refine, "run", fails_with(UsageError("out/ holds a run over\nother input; use a new --output")))
    assert main(["refine", "run"]) == 2
    err = capsys.readouterr().err
    assert err == "tinyhelen refine: error: out/ holds a run over other input; use a new --output\n"
    monkeypatch.setattr(tinyhelen.refine, "run", fails_with(KeyError("a bug")))
    with pytest.raises(KeyError):
        main(["refine", "run"])


@pytest.mark.parametrize("args, needle", [
    ((), "needs a config: --config FILE"),
    (("--config", "{bad}"), "unknown config field(s) nope"),
    (("--config", "configs/train/clm.yaml", "--set", "lr"), "--set takes key=value"),
])
def test_train_run_mistakes_are_one_line(tmp_path, args, needle):
    bad = tmp_path / "bad.yaml"
    bad.write_text("nope: 1\n")
    r = run("train", "run", *[a.format(bad=bad) for a in args], cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert len(r.stderr.strip().splitlines()) == 1
