"""kinflux.runs.RunFolder and kinflux.io: atomic run folders that resume."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from kinflux.io import NpzError, OutputExistsError, load_npz, save_npz
from kinflux.runs import RunError, RunFolder


def _job(out, steps: int, fail_at: int | None = None, resume: bool = False, force=False):
    """A toy resumable job: a running sum with a checkpoint per step."""
    with RunFolder(out, config={"steps": steps}, resume=resume, force=force) as run:
        state = run.load_checkpoint() or {"step": 0, "total": 0.0}
        for k in range(state["step"], steps):
            if fail_at is not None and k == fail_at:
                raise KeyboardInterrupt
            state = {"step": k + 1, "total": state["total"] + np.sqrt(k + 1.0)}
            run.save_checkpoint(state)
            run.append_metrics({"step": k + 1, "total": state["total"]})
    return state


def test_resume_reaches_the_uninterrupted_result(tmp_path):
    full = _job(tmp_path / "a", 5)
    with pytest.raises(KeyboardInterrupt):
        _job(tmp_path / "b", 5, fail_at=3)
    assert not (tmp_path / "b").exists()
    assert (tmp_path / ".b.partial" / "checkpoints" / "checkpoint.pt").exists()
    with pytest.raises(RunError, match="--resume"):
        _job(tmp_path / "b", 5)
    resumed = _job(tmp_path / "b", 5, resume=True)
    assert resumed == full
    a = (tmp_path / "a" / "metrics.csv").read_text()
    b = (tmp_path / "b" / "metrics.csv").read_text()
    assert a == b
    assert not (tmp_path / ".b.partial").exists()


def test_failure_before_a_checkpoint_leaves_nothing(tmp_path):
    with pytest.raises(ValueError), RunFolder(tmp_path / "r", config={}):
        raise ValueError("bad input")
    assert list(tmp_path.iterdir()) == []


def test_existing_result_is_kept_until_success(tmp_path):
    _job(tmp_path / "r", 2)
    with pytest.raises(OutputExistsError):
        _job(tmp_path / "r", 3)
    with pytest.raises(KeyboardInterrupt):
        _job(tmp_path / "r", 3, fail_at=1, force=True)
    assert RunFolder.read_config(tmp_path / "r")["steps"] == 2  # the good run survives
    _job(tmp_path / "r", 3, force=True)
    assert RunFolder.read_config(tmp_path / "r")["steps"] == 3


def test_resume_refuses_other_options(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _job(tmp_path / "r", 4, fail_at=2)
    with pytest.raises(RunError, match="differs in steps"):
        _job(tmp_path / "r", 6, resume=True)


def test_config_records_versions(tmp_path):
    _job(tmp_path / "r", 1)
    cfg = RunFolder.read_config(tmp_path / "r")
    assert {"python", "kinflux", "torch", "numpy"} <= set(cfg["versions"])


def test_outputs_get_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        _job(tmp_path / "r", 1)
        save_npz(tmp_path / "x.npz", {"a": np.zeros(2)})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "r" / "config.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "x.npz").stat().st_mode) == 0o644


def test_npz_round_trip_and_errors(tmp_path):
    p = tmp_path / "a.npz"
    save_npz(p, {"x": np.arange(4.0), "ids": np.array(["a", "b"])}, {"k": 1})
    first = p.read_bytes()
    arrays, meta = load_npz(p, required=["x", "ids"])
    assert arrays["ids"].tolist() == ["a", "b"] and meta == {"k": 1}
    with pytest.raises(OutputExistsError):
        save_npz(p, {"x": np.zeros(1)})
    save_npz(p, {"x": np.arange(4.0), "ids": np.array(["a", "b"])}, {"k": 1}, force=True)
    assert p.read_bytes() == first  # deterministic bytes
    with pytest.raises(NpzError, match="missing array"):
        load_npz(p, required=["y"])
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(NpzError, match="not a readable"):
        load_npz(tmp_path / "empty.npz")
    with pytest.raises(NpzError, match="not found"):
        load_npz(tmp_path / "nope.npz")
