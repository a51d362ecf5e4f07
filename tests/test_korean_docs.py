"""Korean for every page a student reads, in one vocabulary.

- Every English page a student reads (``README.md``, ``docs/*.md``, the tutorial
  chapters) has a Korean page of the same name under ``docs/ko/``; the developer
  pages (``docs/design.md``, the generated ``docs/api.md``) stay in English.
- ``docs/ko/glossary.md`` fixes one Korean term per concept, following the Korean
  edition of *Deep Learning from Scratch* 1 and 2; its last column lists the
  variants the Korean pages do not use, and no Korean page (prose, comments or
  code) contains one.
- The Korean index links every Korean chapter, and every fnn name the glossary
  mentions exists.
- The Korean pages' Python blocks run like the English ones: ``tests/test_docs.py``
  collects every Markdown file under ``docs/``, and a test here checks it does.
"""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import Path

import pytest

from tests.test_docs import markdown_files, python_blocks

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
KOREAN = DOCS / "ko"
GLOSSARY = KOREAN / "glossary.md"
DEVELOPER_PAGES = ("api.md", "design.md")  # read by people changing fnn, kept in English


def english_student_pages() -> list[Path]:
    """The README, the guides and the tutorial chapters: what a student of the course reads."""
    guides = [page for page in sorted(DOCS.glob("*.md")) if page.name not in DEVELOPER_PAGES]
    return [ROOT / "README.md", *guides, *sorted((DOCS / "tutorial").glob("*.md"))]


def korean_page(english: Path) -> Path:
    """Where the Korean translation of ``english`` lives."""
    if english == ROOT / "README.md":
        return KOREAN / "README.md"
    return KOREAN / english.relative_to(DOCS)


def korean_pages() -> list[Path]:
    """Every Korean page except the glossary, which names the discouraged variants."""
    return [page for page in sorted(KOREAN.rglob("*.md")) if page != GLOSSARY]


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def discouraged_terms(glossary: str) -> dict[str, str]:
    """``{variant: preferred term}`` from the glossary tables' last column ("쓰지 않는 표현").

    A row reads ``| English | 한국어 | fnn | variant, variant |``; rows whose last
    cell is empty discourage nothing.
    """
    found: dict[str, str] = {}
    for line in glossary.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = _cells(line)
        if len(cells) != 4 or cells[0] == "English":
            continue
        for variant in filter(None, (part.strip() for part in cells[3].split(","))):
            found[variant] = cells[1]
    return found


def test_the_glossary_table_is_read() -> None:
    terms = discouraged_terms(GLOSSARY.read_text(encoding="utf-8"))
    assert terms["디바이스"] == "장치"
    assert terms["스텝"] == "단계"
    assert terms["표본"] == "샘플"
    assert terms["밀집 계층"] == "Affine 계층(완전연결 계층)"
    assert discouraged_terms(
        "| English | 한국어 | fnn | 쓰지 않는 표현 |\n|---|---|---|---|\n| a | 가 | | 나, 다 |\n"
    ) == {
        "나": "가",
        "다": "가",
    }


@pytest.mark.parametrize("english", english_student_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_page_a_student_reads_is_in_korean(english: Path) -> None:
    korean = korean_page(english)
    assert korean.exists(), (
        f"{english.relative_to(ROOT)} has no Korean page: write {korean.relative_to(ROOT)}"
    )


def test_every_korean_page_translates_an_english_one() -> None:
    translated = {korean_page(page) for page in english_student_pages()}
    extra = [str(page.relative_to(ROOT)) for page in korean_pages() if page not in translated]
    assert not extra, f"Korean pages without an English original: {extra}"


@pytest.mark.parametrize("page", korean_pages(), ids=lambda p: str(p.relative_to(KOREAN)))
def test_korean_pages_use_the_glossary_terms(page: Path) -> None:
    terms = discouraged_terms(GLOSSARY.read_text(encoding="utf-8"))
    found = [
        f"{page.relative_to(ROOT)}:{number}: `{variant}` (the glossary's term: {preferred})"
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
        for variant, preferred in terms.items()
        if variant in line
    ]
    assert not found, "terms the glossary (docs/ko/glossary.md) does not use:\n" + "\n".join(found)


def test_the_korean_index_and_readme_link_every_chapter_and_the_glossary() -> None:
    index = (KOREAN / "index.md").read_text(encoding="utf-8")
    readme = (KOREAN / "README.md").read_text(encoding="utf-8")
    for chapter in sorted((KOREAN / "tutorial").glob("*.md")):
        assert f"](tutorial/{chapter.name})" in index, f"docs/ko/index.md does not link {chapter.name}"
        assert f"](tutorial/{chapter.name})" in readme, f"docs/ko/README.md does not link {chapter.name}"
    assert "](glossary.md)" in index and "](glossary.md)" in readme


def _resolve(dotted: str) -> object:
    """The object a dotted fnn name denotes, importing submodules as needed (AttributeError if none)."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        return functools.reduce(getattr, parts[split:], module)
    raise AttributeError(dotted)


def test_the_glossary_names_exist_in_fnn() -> None:
    names = sorted(set(re.findall(r"`(fnn(?:\.\w+)+)", GLOSSARY.read_text(encoding="utf-8"))))
    assert len(names) > 30
    missing = []
    for name in names:
        try:
            _resolve(name)
        except AttributeError:
            missing.append(name)
    assert not missing, f"docs/ko/glossary.md names what fnn does not have: {missing}"


def test_the_docs_test_runs_the_korean_code_blocks() -> None:
    collected = set(markdown_files())
    with_code = [page for page in korean_pages() if python_blocks(page)]
    assert KOREAN / "tutorial" / "09_convnets.md" in with_code
    assert KOREAN / "index.md" in with_code
    assert set(with_code) <= collected
