"""Every run folder gets a report.html a person can open anywhere: self-contained, every image
decodable, each section drawn from the run's own numbers; ``sparseae report`` rebuilds it from
the saved files; and a real headless Chromium loads it with every image decoded and no console
error, keeping a screenshot."""

import base64
import html
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sparseae.cli import main

SECTIONS = ["Features (notes §4)", "Cost", "Metrics", "Mean activations ρ̂", "Hidden activations",
            "What the units respond to", "Hyperparameters", "The notes&#x27; figures, drawn by this code"]
ARTIFACTS = Path(os.environ.get("SPARSEAE_TEST_ARTIFACTS", Path(__file__).parents[1] / "build" / "test-artifacts"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report") / "run"
    argv = ["train", "--max-iter", "30", "--patches", "3000", "--validation-fraction", "0.2", "--quiet"]
    assert main([*argv, "--out", str(folder)]) == 0
    return folder


def _images(page):
    return re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)">', page)


def test_the_report_is_self_contained_and_every_image_decodes(run):
    page = (run / "report.html").read_text(encoding="utf-8")
    assert [m for m in re.findall(r"<h2>(.*?)</h2>", page)] == SECTIONS
    assert "http://" not in page and "https://" not in page and "<script" not in page and "<link" not in page
    assert len(re.findall(r"<img ", page)) == len(_images(page)) == 7  # every image is an embedded PNG
    for alt, data in _images(page):
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            image.load()
            assert image.width > 20 and image.height > 20, alt


def test_the_metrics_table_shows_the_held_out_and_training_metrics_of_the_run(run):
    metrics = json.loads((run / "metrics.json").read_text())
    page = (run / "report.html").read_text(encoding="utf-8")
    table = page[page.index("<h2>Metrics</h2>") :].split("</table>")[0]
    rows = {cells[0]: cells[1:] for cells in (re.findall(r"<td>(.*?)</td>", r) for r in table.split("<tr>")) if cells}
    held_out, training = metrics["validation"], metrics["training"]
    assert rows["fraction of variance unexplained (centred)"] == [f"{held_out['fvu']:.6g}", f"{training['fvu']:.6g}"]
    assert rows["units active per example (L0)"] == [f"{held_out['l0']:.6g}", f"{training['l0']:.6g}"]
    assert rows["examples"] == ["600", "2400"]
    assert held_out["n_examples"] == 600 and len(held_out["scores"]) == 30


def test_report_rebuilds_the_page_from_the_saved_files_and_opens_it(run, tmp_path, monkeypatch, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    before = (copy / "report.html").read_text(encoding="utf-8")
    (copy / "report.html").unlink()
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    assert main(["report", str(copy), "--open"]) == 0
    after = (copy / "report.html").read_text(encoding="utf-8")
    assert after == before  # the same page
    assert opened == [(copy / "report.html").resolve().as_uri()]
    assert "wrote" in capsys.readouterr().out


def test_report_of_data_that_are_not_image_patches_omits_the_pictures_of_patches(tmp_path):
    X = np.random.default_rng(0).uniform(0, 1, size=(200, 10))
    np.save(tmp_path / "x.npy", X)
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--n-hidden", "4", "--max-iter", "5",
                 "--quiet", "--out", str(tmp_path / "run")]) == 0
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "not square patches: no tiles" in page and "What the units respond to" not in page
    assert html.escape("training rows (none held out)") in page


def test_report_on_what_is_not_a_finished_run_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for folder, message in [(tmp_path / "nowhere", "is not a run folder"),
                            (tmp_path / "empty", "not a finished run folder (it has no metrics.json)")]:
        assert main(["report", str(folder)]) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def _chromium():
    return next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)


@pytest.mark.skipif(_chromium() is None,
                    reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
def test_a_real_browser_shows_the_report_with_every_image_and_no_console_error(run):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    problems = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium())
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in (
                "error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(
                f"network request: {r.url}"))
            page.goto((run / "report.html").resolve().as_uri())
            images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert len(images) == 7 and all(done and width > 0 for _, done, width in images), images
    assert problems == []
    with Image.open(ARTIFACTS / "report.png") as screenshot:
        assert screenshot.height > 2000  # the whole page, every section
