"""The tutorial's figures come from ``docs/make_figures.py``, and the script still runs.

Every PNG a chapter shows (English or Korean) is one the script draws; every
figure the script draws is committed under ``docs/tutorial/figures/``, small, and
shown in both languages. The script runs each figure at a low resolution with
``--quick`` (a few training steps): the pictures are not compared, only drawn.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
IMAGE = re.compile(r"!\[(?P<alt>[^\]]+)\]\((?P<target>[^)\s]+\.png)\)")


def _make_figures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_figures = _make_figures()
FIGURES: list[str] = sorted(make_figures.FIGURES)


def shown_figures(language: str) -> dict[str, list[str]]:
    """The file names of the images each chapter of ``docs/<language>`` shows, by chapter."""
    shown = {}
    for chapter in sorted((DOCS / language).glob("*.md")):
        targets = [m["target"] for m in IMAGE.finditer(chapter.read_text(encoding="utf-8"))]
        for target in targets:
            assert (chapter.parent / target).resolve().parent == DOCS / "tutorial" / "figures", (
                f"{chapter.name} shows {target}, which is not under docs/tutorial/figures/"
            )
        shown[chapter.name] = [Path(target).name for target in targets]
    return shown


@pytest.mark.parametrize("language", ["tutorial", "ko/tutorial"])
def test_every_figure_a_chapter_shows_is_drawn_by_the_script(language: str) -> None:
    for chapter, names in shown_figures(language).items():
        assert set(names) <= set(FIGURES), f"{language}/{chapter} shows figures no function draws"


@pytest.mark.parametrize("language", ["tutorial", "ko/tutorial"])
def test_every_drawn_figure_is_shown(language: str) -> None:
    shown = {name for names in shown_figures(language).values() for name in names}
    assert set(FIGURES) - shown == set(), f"figures drawn but not shown in docs/{language}"


def test_the_korean_chapters_show_the_english_chapters_figures() -> None:
    english, korean = shown_figures("tutorial"), shown_figures("ko/tutorial")
    for chapter, names in korean.items():
        assert names == english[chapter], f"ko/tutorial/{chapter} shows other figures than tutorial/{chapter}"


def test_the_committed_figures_are_small_palette_pngs() -> None:
    committed = sorted(p.name for p in (DOCS / "tutorial" / "figures").glob("*.png"))
    assert committed == FIGURES
    for name in FIGURES:
        path = DOCS / "tutorial" / "figures" / name
        assert path.stat().st_size < 60 * 1024, f"{name} is {path.stat().st_size} bytes"
        with Image.open(path) as image:
            assert (image.format, image.mode) == ("PNG", "P"), name


@pytest.mark.parametrize("name", FIGURES)
def test_the_script_still_draws_each_figure(name: str, tmp_path: Path) -> None:
    written = make_figures.main(["--only", name, "--out", str(tmp_path), "--dpi", "20", "--quick"])
    assert written == [tmp_path / name]
    with Image.open(written[0]) as image:
        assert image.format == "PNG" and image.mode == "P"
        assert 40 <= image.width <= 300 and 20 <= image.height <= 200, image.size  # inches × 20 dpi


def test_an_unknown_figure_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        make_figures.main(["--only", "histogram", "--out", "unused"])
    assert "unknown figures ['histogram.png']; choose from" in capsys.readouterr().err
