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


# --- commands made from signatures (tinyhelen.cli.command) -------------------------------------------------------------
import argparse
import inspect
import re
import shlex
from typing import Literal

REPO = Path(__file__).resolve().parent.parent


def all_commands():
    "(group, command, parser) of every command, as `tinyhelen GROUP COMMAND` builds them."
    from tinyhelen.cli import GROUPS, build_parser, subcommands
    return [(g, name, p) for g in GROUPS for name, p in subcommands(build_parser(g)).choices.items()]


def given(p: argparse.ArgumentParser) -> list[str]:
    "Command-line words that fill a command's required arguments with the value 'x'."
    words = []
    for a in p._actions:
        if a.required or (not a.option_strings and a.dest != "help"):
            words += [a.option_strings[0], "x"] if a.option_strings else ["x"]
    return words


def test_every_parameter_is_a_flag_with_its_signature_default():
    "Each parameter of each command's function (or config dataclass) is reachable, and unset it is the signature's default."
    cmds = all_commands()
    assert len(cmds) >= 20
    for g, name, p in cmds:
        sig = inspect.signature(p.params_from)  # the function, or the dataclass's generated __init__
        flags = {a.dest: a for a in p._actions if a.dest != "help"}
        assert set(flags) == set(sig.parameters), (g, name, set(flags) ^ set(sig.parameters))
        for k, a in flags.items():
            assert a.help, f"tinyhelen {g} {name}: {k} has no help (add a `# comment` after the parameter)"
        ns = vars(p.parse_args(given(p)))
        fn = ns.pop("_fn")
        for k, par in sig.parameters.items():
            if par.default is not inspect.Parameter.empty:
                assert ns[k] == par.default, (g, name, k, ns[k], par.default)
        call = p.params_from(**ns) if inspect.isclass(p.params_from) else inspect.signature(fn).bind(**ns)
        assert call is not None


@pytest.mark.parametrize("argv, lines", [
    (("eval", "instruct"), ["--judge-model JUDGE_MODEL judge LLM name, or a local folder for transformers (default: gpt-4-turbo)",
                            "--judge-backend {openai,transformers,replay,fixture,none}", "--model NAME=PATH",
                            "--max-new-tokens MAX_NEW_TOKENS longest answer, in tokens (default: 960)"]),
    (("data", "stats"), ["--data-root ROOT folder with the corpora (unset: $TINYHELEN_DATA, else the embedded sample)",
                         "--size {10M,100M} corpus size (default: 10M)", "splits to count (together) (default: validation test)"]),
    (("lintseq", "generate"), ["--linter {fast,pylint} fast: the built-in checker", "(default: fast)", "--reject-lint-errors"]),
    (("data", "build-code-corpus"), ["--no-pylint switch off: keep only functions pylint accepts"]),
    (("refine", "run"), ["--max-oov MAX_OOV re-ask above this OOV rate (default: 0.1)", "resumes"]),
])
def test_help_shows_each_flags_text_default_and_choices(argv, lines):
    r = run(*argv, "--help", env={**__import__("os").environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    flat = " ".join(r.stdout.split())
    for line in lines:
        assert line in flat, (line, r.stdout)
    assert flat.count("(default: gpt-4-turbo)") <= 1  # a default is shown once, in its flag's line


def readme_line(prefix: str) -> list[str]:
    "The words after `tinyhelen` of the first README command (in `backticks`) starting with `prefix`."
    found = [m for m in re.findall(r"`(tinyhelen [^`]*)`", (REPO / "README.md").read_text()) if m.startswith(prefix)]
    assert found, f"README.md no longer shows `{prefix}...`"
    return shlex.split(found[0])[1:]


def parsed_call(argv: list[str]) -> tuple:
    "The function a command line calls and its arguments, as `main` would call it."
    from tinyhelen.cli import build_parser
    ns = vars(build_parser(argv[0]).parse_args(argv[1:]))
    fn = ns.pop("_fn")
    return fn, inspect.signature(fn).bind(**ns).arguments


def expected_call(fn, *args, **kw) -> dict:
    bound = inspect.signature(fn).bind(*args, **kw)
    bound.apply_defaults()
    return bound.arguments


def test_readme_invocations_parse_to_the_expected_call():
    from tinyhelen.eval.glue import evaluate_glue
    from tinyhelen.eval.instruct import evaluate_instruct
    fn, got = parsed_call(readme_line("tinyhelen eval glue "))
    assert fn is evaluate_glue
    assert got == expected_call(evaluate_glue, "runs/example-mlm/bert-smoke-leaner/checkpoints/step-000200",
                                tasks=["cola", "rte"], out="runs/glue")
    fn, got = parsed_call(readme_line("tinyhelen eval instruct "))
    assert fn is evaluate_instruct
    assert got == expected_call(evaluate_instruct, ["clm=runs/example-clm/llama-1M-leaner/checkpoints/step-000300",
                                                    "sft=runs/example-sft/llama-1M-code/checkpoints/step-000100"],
                                "runs/instruct", judge_backend="openai", judge_model="gpt-4-turbo",
                                judge_base_url="http://localhost:8000/v1")
    fn, got = parsed_call(["data", "download", "--data-root", "d", "--no-glue", "--sizes", "10M"])
    assert got["root"] == "d" and got["glue"] is False and got["eval"] is True and got["sizes"] == ["10M"]


def test_a_value_outside_the_choices_is_refused_in_one_line():
    r = run("data", "stats", "--size", "1G")
    assert r.returncode == 2 and "invalid choice: '1G'" in r.stderr and "Traceback" not in r.stderr


def toy(path: str,  # a file
        lr: float = 1e-3,  # learning rate
        tags: list[str] = ("a",),  # labels
        linter: Literal["fast", "pylint"] = "fast",  # which linter
        limit: int | None = None,  # only the first N
        quick: bool = False,  # fewer steps
        plots: bool = True,  # draw figures
        data_root: str | None = None,  # where the data is
        ):
    "A toy command."


def test_signature_rules():
    "Positional without a default; types, several values, Literal choices, switches both ways; overrides by name."
    from tinyhelen.cli import command
    group = argparse.ArgumentParser()
    p = command(group, toy, flags={"data_root": "--root"})
    ns = vars(group.parse_args(["toy", "f.py", "--lr", "0.5", "--tags", "x", "y", "--linter", "pylint", "--limit", "3",
                                "--quick", "--no-plots", "--root", "r"]))
    assert ns["_fn"] is toy and {k: v for k, v in ns.items() if k != "_fn"} == dict(
        path="f.py", lr=0.5, tags=["x", "y"], linter="pylint", limit=3, quick=True, plots=False, data_root="r")
    with pytest.raises(SystemExit):
        group.parse_args(["toy", "f.py", "--linter", "flake8"])
    assert "learning rate (default: 0.001)" in " ".join(p.format_help().split())
    with pytest.raises(TypeError, match="no parameter.*data_rot"):
        command(argparse.ArgumentParser(), toy, flags={"data_rot": "--root"})
