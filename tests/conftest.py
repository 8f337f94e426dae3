"""Shared pytest set-up: slow/gpu markers, a quiet W&B, run folders in a temp dir, the lab's data copy."""
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    try:
        import torch
        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(pytest.mark.skip(reason="slow: run with --runslow (make test-slow)"))
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


@pytest.fixture(autouse=True, scope="session")
def _quiet_tracking(tmp_path_factory):
    # tests never talk to W&B and never write into the repo's runs/; the environment is restored after the session
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WANDB_MODE", "disabled")
        mp.setenv("TINYHELEN_RUNS", str(tmp_path_factory.mktemp("runs")))
        mp.delenv("TINYHELEN_DATA", raising=False)
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    "The lab machines' larger data copy (../shared/data); tests that need it skip elsewhere."
    if not (SHARED_DATA / "tinyhelen").is_dir():
        pytest.skip("../shared/data is not here (only lab machines have it)")
    return SHARED_DATA
