from dataclasses import dataclass, field

import pytest
import torch

from xdancer.checkpoint import load_checkpoint, save_checkpoint
from xdancer.config import load_config, to_dict
from xdancer.constants import exact_div
from xdancer.errors import InputError
from xdancer.io_utils import atomic_path, check_output_path


@dataclass
class Inner:
    lr: float = 1e-3
    sizes: tuple[int, ...] = (1, 2)


@dataclass
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=Inner)


def test_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: y\ninner:\n  sizes: [3, 4]\n")
    cfg = load_config(Outer, p, ["inner.lr=3e-4"])
    assert cfg == Outer("y", Inner(3e-4, (3, 4)))
    assert to_dict(cfg) == {"name": "y", "inner": {"lr": 3e-4, "sizes": [3, 4]}}
    with pytest.raises(InputError, match="unknown Inner option"):
        load_config(Outer, None, ["inner.lrr=1"])


def test_exact_div():
    assert exact_div(24000, 30) == 800
    with pytest.raises(ValueError):
        exact_div(22050, 24)


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("ok")
    assert target.read_text() == "ok" and list(tmp_path.iterdir()) == [target]


def test_unwritable_output(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        check_output_path(tmp_path / "nope" / "x.mp4")
    with pytest.raises(InputError, match="must end in"):
        check_output_path(tmp_path / "x.avi", (".mp4",))


def test_checkpoint_round_trip(tmp_path):
    t = {"w": torch.arange(6.0).view(2, 3)}
    save_checkpoint(tmp_path / "m", t, {"config": {"a": 1}, "step": 3})
    back, meta = load_checkpoint(tmp_path / "m.safetensors")
    assert torch.equal(back["w"], t["w"]) and meta["config"] == {"a": 1} and meta["step"] == 3
    with pytest.raises(InputError):
        load_checkpoint(tmp_path / "missing")


def test_unwritable_special_folder_is_refused():
    import pathlib

    if not pathlib.Path("/proc").is_dir():
        pytest.skip("no /proc on this system")
    with pytest.raises(InputError, match="not writable"):
        check_output_path("/proc/x.npz")


def test_atomic_output_gets_normal_permissions(tmp_path):
    import os

    target = tmp_path / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("ok")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_configs_own_validation_error_is_bad_input():
    @dataclass
    class Positive:
        n: int = 1

        def __post_init__(self):
            if self.n < 1:
                raise ValueError(f"n must be >= 1, got {self.n}")

    with pytest.raises(InputError, match="invalid Positive: n must be >= 1"):
        load_config(Positive, None, ["n=0"])
