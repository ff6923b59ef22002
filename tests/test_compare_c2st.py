"""The comparison harness's C2ST column, its --reference row (matched by file name) and the note that says
when the painting classifier saturates. Unit level: the full harness run is covered by test_compare.py."""
import functools

import pytest
import torch

from conftest import make_images
from cyclegan.comparison.report import metrics_table
from cyclegan.metrics.c2st import c2st
from cyclegan.comparison.run import c2st_column, reference_outputs, saturation_notes


def test_reference_outputs_are_matched_by_file_name(tmp_path):
    make_images(tmp_path / "ref", 3, size=(32, 32), prefix="photo")
    (tmp_path / "ref" / "photo1.jpg").rename(tmp_path / "ref" / "photo1_fake.jpg")  # cyclegan-test's naming
    records = [{"photo": f"/x/photo{i}.png"} for i in (0, 1, 7)]
    imgs, row = reference_outputs(tmp_path / "ref", records, str(tmp_path), 32, None)
    assert len(imgs) == 2 and row == {"images": 2, "failed": 1}
    with pytest.raises(FileNotFoundError, match="no file matches"):
        reference_outputs(tmp_path / "ref", [{"photo": "/x/other.png"}], str(tmp_path), 32, None)


@pytest.mark.slow
def test_c2st_column_ranks_noise_above_real_like_outputs(tmp_path, one_thread, monkeypatch):
    import cyclegan.comparison.run as run
    fast = {"load_size": 40, "crop": 32, "steps": 40, "n_boot": 200, "n_perm": 200}
    monkeypatch.setattr(run, "c2st", functools.partial(c2st, **fast))  # quick settings for a test
    paintings = make_images(tmp_path / "p", 24, size=(40, 40), seed=0)
    same = [run.load_photo(p, 40)[0] for p in make_images(tmp_path / "q", 12, size=(40, 40), seed=0, prefix="q")]
    noise = list(torch.rand(12, 3, 40, 40, generator=torch.Generator().manual_seed(0)))
    summary = {"cyclegan": {}, "gatys_domain": {}, "photos": {}}
    photos, held = ([run.load_photo(p, 40)[0] for p in part] for part in (paintings[:4], paintings[12:]))
    notes = c2st_column(summary, {"cyclegan": noise, "gatys_domain": same}, photos, held, 0, "cpu")
    assert summary["cyclegan"]["c2st"] > 0.9 and summary["cyclegan"]["c2st"] > summary["gatys_domain"]["c2st"]
    assert summary["photos"]["c2st"].startswith("not computed") and "needs 10 each" in summary["photos"]["c2st"]
    assert "0.5 = indistinguishable" in notes[0]
    _, header, rows = metrics_table(summary)
    assert header[2].startswith("C2ST") and rows[0][2].startswith(f"{summary['cyclegan']['c2st']:.3f} [")


class AlwaysPainting:
    def predict_prob(self, images):
        return torch.ones(len(images))

    def fraction_paintings(self, images):
        return float((self.predict_prob(images) > 0.5).float().mean())


def test_saturation_is_said_on_the_page():
    summary = {"photos": {"fraction_paintings": 0.1}}
    notes = saturation_notes(summary, AlwaysPainting(), 4, 32)
    assert summary["noise"]["fraction_paintings"] == 1.0 and "SATURATES" in notes[0]
    assert saturation_notes({}, None, 4, 32) == []
