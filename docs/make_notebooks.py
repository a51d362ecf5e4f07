"""Generate the tutorial's notebooks from its chapters: one source, the Markdown.

Each chapter ``docs/tutorial/NN_name.md`` becomes ``docs/notebooks/NN_name.ipynb`` (and
``docs/ko/tutorial/NN_name.md`` becomes ``docs/notebooks/ko/NN_name.ipynb``), committed
without outputs so that Colab and GitHub open them from the repository:

- its first cell sets the notebook up. On Colab it clones and installs fnn and
  downloads the data the chapter reads into ``../shared/data`` beside the clone,
  with fnn's own loaders (MNIST, PTB, the toy sequences) and download code (the
  books' published weights, checked against their SHA-256), so the chapter's
  paths work unchanged. In Jupyter on your own machine it moves to the root of
  the checkout the notebook is in, where the chapter's code runs (as the
  chapters say);
- every fenced ``python`` block becomes a code cell: exactly the blocks
  ``tests/test_docs.py`` runs, in order. Everything else, blocks fenced with
  another language (``text``, ``bash``) included, stays Markdown, so a notebook
  never runs what its chapter only shows (``python examples/...`` is a command to
  read, not to run in the kernel);
- relative links point at the same files from the notebook's folder, and a link
  to a chapter that has a notebook points at that notebook; images are shown
  from the repository (:data:`FILES`), as Colab shows no file beside a notebook.

:data:`REPOSITORY` names the repository Colab clones and the images come from.

Run from the project root after changing a chapter::

    python docs/make_notebooks.py          # rewrite docs/notebooks/
    python docs/make_notebooks.py --check  # exit 1 if docs/notebooks/ is out of date

``tests/test_notebooks.py`` runs the check and executes the notebooks on the
offline data.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOKS = DOCS / "notebooks"
TUTORIALS = {DOCS / "tutorial": NOTEBOOKS, DOCS / "ko" / "tutorial": NOTEBOOKS / "ko"}
"""Each folder of chapters and the folder of their notebooks."""

REPOSITORY = "https://github.com/fnn-course/fnn"
"""Where Colab clones fnn from unless ``FNN_REPOSITORY`` names another git URL (a fork, a course
mirror); a failed clone tells the student to upload a checkout to ``/content/fnn`` or set it."""
FILES = REPOSITORY + "/raw/main/"
"""Where the notebooks' images are shown from: the repository's files on its main branch."""

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
LINK = re.compile(r"(?P<open>(?P<image>!\[[^\]]*)?\]\()(?P<target>[^)\s]+)(?P<close>\))")

BOOK1 = "https://raw.githubusercontent.com/oreilly-japan/deep-learning-from-scratch/master/"
BOOK2 = "https://raw.githubusercontent.com/oreilly-japan/deep-learning-from-scratch-2/master/"


@dataclass(frozen=True)
class CourseData:
    """Files of ``../shared/data`` a chapter reads, and how the setup cell fetches them on Colab.

    Attributes:
        used_by: A pattern that matches a chapter's code when the chapter reads them.
        files: Their paths under ``shared/data``.
        fetch: The setup cell's code that downloads them into ``DATA``.
    """

    used_by: str
    files: tuple[str, ...]
    fetch: str


def _published(path: str, url: str, sha256: str) -> CourseData:
    """A weight file the books publish: the setup cell's ``fetch`` downloads it (no fnn loader does)."""
    fetch = f'fetch(\n    "{path}",\n    "{url}",\n    "{sha256}",\n)'
    return CourseData(re.escape(path.rsplit("/", 1)[1]), (path,), fetch)


COURSE_DATA = (
    CourseData(
        r"\bload_mnist\(",
        (
            "mnist/train-images-idx3-ubyte.gz",
            "mnist/train-labels-idx1-ubyte.gz",
            "mnist/t10k-images-idx3-ubyte.gz",
            "mnist/t10k-labels-idx1-ubyte.gz",
        ),
        'fnn.datasets.load_mnist(DATA / "mnist")',
    ),
    CourseData(
        r"\bload_ptb\(",
        tuple(f"ptb/ptb.{split}.txt" for split in ("train", "valid", "test")),
        'for split in ("train", "valid", "test"):\n    fnn.datasets.load_ptb(split, DATA / "ptb")',
    ),
    CourseData(r"\bload_addition\(", ("dlfs2/addition.txt",), 'fnn.datasets.load_addition(DATA / "dlfs2")'),
    CourseData(r"\bload_date\(", ("dlfs2/date.txt",), 'fnn.datasets.load_date(DATA / "dlfs2")'),
    _published(
        "dlfs/sample_weight.pkl",
        BOOK1 + "ch03/sample_weight.pkl",
        "b7f55a27988ba34c3777b0f1bbd464817c8a4db855723e6ff26f703501917a13",
    ),
    _published(
        "dlfs/simple_convnet_params.pkl",
        BOOK1 + "ch07/params.pkl",
        "290ab40c1b1218b392cdc155b633a5df642d829453702fa421ce5f3c6c55f779",
    ),
    _published(
        "dlfs/deep_convnet_params.pkl",
        BOOK1 + "ch08/deep_convnet_params.pkl",
        "8c81d1d6ddedd08c8277c957f3af30a91e455a1d65474ec2b5a0e3527b7422cc",
    ),
    _published(
        "dlfs2/cbow_params.pkl",
        BOOK2 + "ch04/cbow_params.pkl",
        "205dba67a075fce2c81a2662c035244919eac50b796199490ce1212efd19cef4",
    ),
    _published(
        "dlfs2/Rnnlm.pkl",
        BOOK2 + "ch06/Rnnlm.pkl",
        "d872e609e328834f86a0de9fea7b2968bd95a22ea748880ccaee96923e9a5903",
    ),
    _published(
        "dlfs2/AttentionSeq2seq.pkl",
        BOOK2 + "ch08/AttentionSeq2seq.pkl",
        "e648820a02cdaccc599ffb2aef65e785f49fb0cfc99d4c461a847fe231fedd54",
    ),
)
"""Everything the chapters read from ``../shared/data``."""

FETCH_PUBLISHED = """\
def fetch(path, url, sha256):  # a file the books publish, checked against its SHA-256
    if not (DATA / path).is_file():
        folder, name = url.rsplit("/", 1)
        fnn.datasets.download_file(name, (DATA / path).parent, [folder], sha256=sha256).rename(DATA / path)
"""

HEADER = {
    "en": """\
# Run this cell first. On Colab it installs fnn and downloads the data this chapter
# reads; in Jupyter it moves to the root of your fnn checkout, where the chapter's
# code runs. Generated from {chapter} by docs/make_notebooks.py:
# edit the chapter, not this notebook.""",
    "ko": """\
# 이 셀을 먼저 실행하세요. Colab에서는 fnn을 설치하고 이 장이 읽는 데이터를 내려받고,
# Jupyter에서는 이 장의 코드가 실행되는 fnn 체크아웃의 루트로 이동합니다.
# docs/make_notebooks.py가 {chapter}에서 생성한 노트북입니다.
# 이 노트북이 아니라 장(chapter)을 고치세요.""",
}

SETUP = """\
import os
import subprocess
import sys
from pathlib import Path

if "google.colab" in sys.modules:
    if not Path("/content/fnn").is_dir():
        repository = os.environ.get("FNN_REPOSITORY", "{repository}")
        cloned = subprocess.run(["git", "clone", "--quiet", "--depth=1", repository, "/content/fnn"])
        if cloned.returncode != 0:
            raise RuntimeError(
                f"could not clone fnn from {{repository}}: upload your fnn checkout to /content/fnn, "
                "or set os.environ['FNN_REPOSITORY'] to its git URL, then run this cell again"
            )
    os.chdir("/content/fnn")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--editable", "."], check=True)
{fetch}else:
    here = Path.cwd()
    root = next((p for p in (here, *here.parents) if (p / "fnn" / "__init__.py").is_file()), None)
    if root is None:
        raise RuntimeError(f"{{here}} is not in an fnn checkout: open the notebook in one, or on Colab")
    os.chdir(root)"""


def chapters() -> list[Path]:
    """Every tutorial chapter that gets a notebook: English, then Korean, each sorted."""
    return [chapter for folder in TUTORIALS for chapter in sorted(folder.glob("*.md"))]


def notebook_path(chapter: Path) -> Path:
    """Where the notebook of ``chapter`` lives: ``docs/notebooks/``, and ``docs/notebooks/ko/`` for Korean."""
    return TUTORIALS[chapter.parent] / f"{chapter.stem}.ipynb"


def split_cells(text: str) -> list[tuple[str, str]]:
    """``(cell type, source)`` of a chapter's cells: each fenced ``python`` block is code, the rest Markdown.

    A block fenced with ``python`` or ``py`` (at any indentation; dedented) is a
    ``"code"`` cell, as ``tests/test_docs.py`` finds the blocks it runs; the text
    between code blocks is one ``"markdown"`` cell, without blank lines at its ends.

    >>> split_cells("# A\\n\\n```python\\nx = 1\\n```\\n\\n```text\\n2\\n```\\n")
    [('markdown', '# A'), ('code', 'x = 1'), ('markdown', '```text\\n2\\n```')]
    """
    cells: list[tuple[str, str]] = []
    markdown: list[str] = []

    def close_markdown() -> None:
        source = "\n".join(markdown).strip("\n")
        if source:
            cells.append(("markdown", source))
        markdown.clear()

    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        end = i + 1
        if match:
            while end < len(lines) and not lines[end].strip().startswith(match["fence"]):
                end += 1
            if end == len(lines):
                raise ValueError(f"line {i + 1}: code block is never closed")
            end += 1
        if match and match["info"].strip().split(" ")[0].lower() in ("python", "py"):
            close_markdown()
            cells.append(("code", textwrap.dedent("\n".join(lines[i + 1 : end - 1])).strip("\n")))
        else:
            markdown += lines[i:end]
        i = end
    close_markdown()
    return cells


def relink(markdown: str, chapter: Path, notebook: Path) -> str:
    """``markdown`` of ``chapter`` with its relative links made to work from ``notebook``.

    A link to a file that exists points at the same file from the notebook's
    folder, and a link to a chapter that has a notebook points at that notebook:
    they work in Jupyter and on GitHub. An image is shown from the repository
    (:data:`FILES`), since Colab shows no image beside a notebook. Other links
    (URLs, anchors, targets that do not exist) are left as they are.
    """

    def move(match: re.Match[str]) -> str:
        path, hash_, anchor = match["target"].partition("#")
        target = (chapter.parent / path).resolve()
        if not path or re.match(r"[a-z]+:", path) or not target.exists():
            return match[0]
        if match["image"]:
            moved = FILES + target.relative_to(ROOT).as_posix()
        else:
            if target.suffix == ".md" and target.parent in TUTORIALS:
                target = notebook_path(target)
            moved = Path(os.path.relpath(target, notebook.parent)).as_posix()
        return f"{match['open']}{moved}{hash_}{anchor}{match['close']}"

    return LINK.sub(move, markdown)


def course_data(code: str) -> list[CourseData]:
    """The data sets and weight files of ``../shared/data`` that ``code`` reads."""
    used = [data for data in COURSE_DATA if re.search(data.used_by, code)]
    if "shared/data" in code and not used:
        raise ValueError("the code reads ../shared/data, but no entry of COURSE_DATA matches it: add one")
    return used


def fetch_code(data: list[CourseData]) -> str:
    """The code that downloads ``data`` into ``../shared/data`` on Colab (run from the clone's root)."""
    published = [FETCH_PUBLISHED] if any(d.fetch.startswith("fetch(") for d in data) else []
    return "\n".join(
        [
            "import fnn",
            "",
            'DATA = Path("../shared/data")  # beside the project root, where the chapter reads it',
            "",
            *published,
            *(d.fetch for d in data),
        ]
    )


def setup_cell(chapter: Path, code: str) -> str:
    """The first cell: on Colab install fnn and fetch the data ``code`` reads, elsewhere go to the root."""
    data = course_data(code)
    fetch = "\n" + textwrap.indent(fetch_code(data), "    ") + "\n" if data else ""
    language = "ko" if chapter.parent == DOCS / "ko" / "tutorial" else "en"
    header = HEADER[language].format(chapter=chapter.relative_to(ROOT).as_posix())
    return header + "\n" + SETUP.format(repository=REPOSITORY, fetch=fetch)


def _cell(kind: str, number: int, source: str) -> dict[str, Any]:
    """A notebook cell as nbformat 4.5 stores it, with a stable id (the same chapter gives the same file)."""
    cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{number}", "metadata": {}}
    cell["source"] = source.splitlines(keepends=True)
    if kind == "code":
        cell |= {"execution_count": None, "outputs": []}
    return cell


def make_notebook(chapter: Path) -> dict[str, Any]:
    """The notebook of ``chapter``, without outputs, as the JSON object of an ``.ipynb`` file."""
    cells = split_cells(chapter.read_text(encoding="utf-8"))
    code = "\n".join(source for kind, source in cells if kind == "code")
    notebook = notebook_path(chapter)
    sources = [("code", setup_cell(chapter, code))]
    for kind, source in cells:
        sources.append((kind, relink(source, chapter, notebook) if kind == "markdown" else source))
    return {
        "cells": [_cell(kind, number, source) for number, (kind, source) in enumerate(sources)],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(chapter: Path) -> str:
    """The text of the notebook file of ``chapter``, laid out as Jupyter writes it."""
    return json.dumps(make_notebook(chapter), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def orphans() -> list[Path]:
    """Notebooks whose chapter is gone."""
    expected = set(map(notebook_path, chapters()))
    present = (path for folder in TUTORIALS.values() for path in folder.glob("*.ipynb"))
    return sorted(path for path in present if path not in expected)


def stale() -> list[Path]:
    """Notebooks that differ from what their chapters give now or are missing, and orphans."""
    differ = [
        path
        for path, text in ((notebook_path(chapter), render(chapter)) for chapter in chapters())
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    return differ + orphans()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/notebooks/ from the tutorial's chapters.")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/notebooks/ is out of date")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale()
        for path in outdated:
            print(f"{path.relative_to(ROOT)} is out of date: run `python docs/make_notebooks.py`")
        return 1 if outdated else 0
    for path in orphans():
        path.unlink()
    for chapter in chapters():
        path = notebook_path(chapter)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(chapter), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
