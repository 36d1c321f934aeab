"""xdancer data build / stats / preview from the command line."""

import av

from xdancer.cli import main
from xdancer.data.dataset import DanceDataset
from xdancer.data.stats import dataset_stats


def test_build_stats_preview(shared_data, tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["data", "build", "--source", "bvh", str(shared_data / "mocap" / "cmu_jumping_jacks.bvh"),
                 "-o", str(out), "--views", "2", "--quiet"]) == 0
    assert "2 bvh clips" in capsys.readouterr().out
    ds = DanceDataset(out)
    assert [c.id for c in ds.clips] == ["bvh_cmu_jumping_jacks_v0", "bvh_cmu_jumping_jacks_v1"]
    rows = dataset_stats(out)
    assert rows[-1].source == "all" and rows[-1].clips == 2
    assert rows[0].coverage["upper_body"] > 0.9 and rows[0].coverage["left_hand"] == 0.0
    assert main(["data", "stats", str(out)]) == 0
    assert "bvh" in capsys.readouterr().out
    video = tmp_path / "clip.mp4"
    assert main(["data", "preview", str(out), "bvh_cmu_jumping_jacks_v0", "-o", str(video), "--seconds", "1"]) == 0
    with av.open(str(video)) as c:
        assert c.streams.video[0].frames == 30


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["data", "build", "--source", "dwm", str(tmp_path / "nowhere"), "-o", str(tmp_path / "ds")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xdancer: error:") and "\n" not in err
    assert not (tmp_path / "ds").exists()
    assert main(["data", "stats", str(tmp_path)]) == 2
    assert main(["data", "build", "--source", "videos", str(tmp_path), "-o", str(tmp_path / "ds"), "--views", "2"]) == 2
