"""The tutorial's notebooks are current, run their chapters' code, and run on the offline data.

``docs/notebooks/`` holds one notebook per chapter, generated from its Markdown by
``docs/make_notebooks.py`` (one source, never maintained twice):

- each notebook equals what the script generates now (a chapter changed without
  regenerating fails here);
- its code cells are the setup cell and then exactly the blocks that
  ``tests/test_docs.py`` runs for its chapter, in order;
- its relative links resolve from its folder;
- it runs top to bottom in a Jupyter kernel started in a student's checkout,
  with ``../shared/data`` holding only the files its setup cell fetches on Colab
  (so a chapter that reads a file the setup cell forgets fails here), no
  ``FNN_*`` variable but the backend under test, an empty per-user cache and
  ``MPLBACKEND=Agg``.

Every English notebook runs. A Korean notebook runs too when its program differs
from the English one's; the programs are compared without comments and
docstrings, which are what the translation changes, and ``tests/test_docs.py``
already runs every Korean chapter's blocks and checks what they print.
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from nbclient import NotebookClient

import fnn
from tests.helpers import serving
from tests.test_docs import LINK, python_blocks, student_checkout

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def _make_notebooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "docs" / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


generator = _make_notebooks()
CHAPTERS: list[Path] = generator.chapters()


def _id(chapter: Path) -> str:
    return chapter.relative_to(ROOT / "docs").as_posix()


def read(chapter: Path) -> nbformat.NotebookNode:
    """The committed notebook of ``chapter``."""
    path = generator.notebook_path(chapter)
    notebook: nbformat.NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return notebook


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def program(sources: list[str]) -> str:
    """What ``sources`` compute: their syntax trees without comments and docstrings."""
    dumps = []
    for source in sources:
        tree = ast.parse(source)
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body:
                first = body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                    first.value.value = ""
        dumps.append(ast.dump(tree))
    return "\n".join(dumps)


def english(chapter: Path) -> Path:
    return ROOT / "docs" / "tutorial" / chapter.name


def runs_its_own_program(chapter: Path) -> bool:
    """Whether the notebook of ``chapter`` must run: English, or Korean with code of its own."""
    if chapter == english(chapter) or not english(chapter).is_file():
        return True
    blocks = [[code for _, code in python_blocks(page)] for page in (chapter, english(chapter))]
    return program(blocks[0]) != program(blocks[1])


def published_files() -> list[tuple[str, str, str]]:
    """``(path under shared/data, URL, SHA-256)`` of each file the setup cell's ``fetch`` downloads."""
    calls = "\n".join(data.fetch for data in generator.COURSE_DATA)
    return re.findall(r'fetch\(\s*"([^"]+)",\s*"([^"]+)",\s*"([0-9a-f]{64})",\s*\)', calls)


def notebook_folder(root: Path, chapter: Path) -> Path:
    """The folder of the notebook of ``chapter`` in the checkout ``root``, made a real one.

    ``student_checkout`` links ``docs/`` to this checkout's, and a kernel started in a
    link finds itself in the folder the link points to, outside the student's checkout:
    each folder on the way becomes a real one that links to what the original holds.
    """
    notebook: Path = generator.notebook_path(chapter)
    folder = root
    for part in notebook.parent.relative_to(ROOT).parts:
        folder = folder / part
        original = folder.resolve()
        folder.unlink()
        folder.mkdir()
        for entry in original.iterdir():
            (folder / entry.name).symlink_to(entry)
    return folder


def link_offline_data(data: Path, names: set[str]) -> None:
    """Links to the offline copies of ``names`` (paths under ``shared/data``) in ``data``."""
    for name in names:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).symlink_to(DATA / name)


@pytest.fixture
def book_repositories(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server whose ``/book1/`` and ``/book2/`` serve the offline copies under the books' paths."""
    site = tmp_path / "site"
    for path, url, _ in published_files():
        for book, folder in ((generator.BOOK1, "book1"), (generator.BOOK2, "book2")):
            if url.startswith(book):
                (site / folder / url.removeprefix(book)).parent.mkdir(parents=True, exist_ok=True)
                (site / folder / url.removeprefix(book)).symlink_to(DATA / path)

    with serving(site) as url:
        yield url


def test_every_chapter_in_english_and_korean_has_its_notebook_folder() -> None:
    assert len(CHAPTERS) >= 28, [_id(c) for c in CHAPTERS]
    assert generator.notebook_path(ROOT / "docs" / "tutorial" / "01_perceptron.md") == (
        ROOT / "docs" / "notebooks" / "01_perceptron.ipynb"
    )
    assert generator.notebook_path(ROOT / "docs" / "ko" / "tutorial" / "01_perceptron.md") == (
        ROOT / "docs" / "notebooks" / "ko" / "01_perceptron.ipynb"
    )


def test_notebooks_are_up_to_date() -> None:
    stale = [str(path.relative_to(ROOT)) for path in generator.stale()]
    assert not stale, f"out of date: {stale}; run `python docs/make_notebooks.py`"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_id)
def test_a_notebook_runs_the_setup_cell_then_the_blocks_its_chapter_runs(chapter: Path) -> None:
    notebook = read(chapter)
    nbformat.validate(notebook)
    code = code_cells(notebook)
    assert code[0].startswith("# ") and 'if "google.colab" in sys.modules:' in code[0]
    assert code[1:] == [block.strip("\n") for _, block in python_blocks(chapter)]
    assert all(not cell.outputs and cell.execution_count is None for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=_id)
def test_relative_links_of_a_notebook_resolve(chapter: Path) -> None:
    path = generator.notebook_path(chapter)
    for cell in read(chapter).cells:
        if cell.cell_type != "markdown":
            continue
        for match in LINK.finditer(re.sub(r"```.*?```", "", cell.source, flags=re.S)):
            target = match["target"].split("#")[0]
            if target.startswith(generator.FILES):  # an image, shown from the repository
                assert (ROOT / target.removeprefix(generator.FILES)).is_file(), f"{path}: no file for {target}"
            elif target and not re.match(r"[a-z]+:", target):
                assert (path.parent / target).exists(), f"{path.relative_to(ROOT)}: broken link to {match['target']}"


def test_the_chapters_links_follow_to_the_notebooks() -> None:
    cells = read(ROOT / "docs" / "tutorial" / "03_mnist_inference.md").cells
    markdown = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    assert "](04_learning.ipynb)" in markdown  # the next chapter, as a notebook
    assert "](../datasets.md)" in markdown  # a guide, from docs/notebooks/
    assert "](../../examples/ch03_mnist_inference.py)" in markdown
    korean = read(ROOT / "docs" / "ko" / "tutorial" / "03_mnist_inference.md").cells
    assert "](04_learning.ipynb)" in "\n".join(cell.source for cell in korean if cell.cell_type == "markdown")


def test_images_are_shown_from_the_repository_as_colab_shows_no_file_beside_a_notebook() -> None:
    markdown = generator.relink(
        "![a plot](figures/gradient_flow.png) and [chapter 13](13_word_vectors.md)",
        ROOT / "docs" / "ko" / "tutorial" / "12_language_models.md",
        ROOT / "docs" / "notebooks" / "ko" / "12_language_models.ipynb",
    )
    assert markdown == "![a plot](figures/gradient_flow.png) and [chapter 13](13_word_vectors.ipynb)"  # no such image
    markdown = generator.relink(
        "![a plot](../../tutorial/figures/gradient_flow.png)",
        ROOT / "docs" / "ko" / "tutorial" / "12_language_models.md",
        ROOT / "docs" / "notebooks" / "ko" / "12_language_models.ipynb",
    )
    assert markdown == f"![a plot]({generator.FILES}docs/tutorial/figures/gradient_flow.png)"


def test_the_generator_doctests_pass() -> None:
    results = doctest.testmod(generator)
    assert results.attempted >= 1 and results.failed == 0


def test_blocks_in_another_language_stay_markdown() -> None:
    cells = generator.split_cells("intro\n\n```bash\npython examples/x.py\n```\n\n  ```py\n  y = 2\n  ```\nend\n")
    assert cells == [("markdown", "intro\n\n```bash\npython examples/x.py\n```"), ("code", "y = 2"), ("markdown", "end")]


def test_a_chapter_reading_data_nobody_fetches_is_refused() -> None:
    with pytest.raises(ValueError, match="no entry of COURSE_DATA matches"):
        generator.course_data('x = open("../shared/data/other/file.bin")')


def test_the_colab_setup_fetches_every_file_the_chapters_read(
    book_repositories: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Offline, the books' repositories are a local server (the URLs' paths kept), and the files
    # fnn's loaders download are there already: the loaders' downloads are tested in test_download.
    assert len(published_files()) == 6
    code = generator.fetch_code(list(generator.COURSE_DATA))
    code = code.replace(generator.BOOK1, f"{book_repositories}/book1/").replace(generator.BOOK2, f"{book_repositories}/book2/")
    data = tmp_path / "shared" / "data"
    published = {path for path, _, _ in published_files()}
    link_offline_data(data, {file for entry in generator.COURSE_DATA for file in entry.files} - published)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    exec(compile("from pathlib import Path\n" + code, "setup cell", "exec"), {})
    for path in published:
        assert not (data / path).is_symlink() and fnn.datasets.sha256_of(data / path) == fnn.datasets.sha256_of(DATA / path)
    assert sorted(p.name for p in (data / "dlfs").iterdir()) == [
        "deep_convnet_params.pkl", "sample_weight.pkl", "simple_convnet_params.pkl"
    ]  # the book's ch07/params.pkl arrives under the course's name


def test_outside_colab_the_setup_cell_moves_to_the_checkout_root_or_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chapter = ROOT / "docs" / "ko" / "tutorial" / "03_mnist_inference.md"
    setup = code_cells(read(chapter))[0]
    root = student_checkout(tmp_path)
    monkeypatch.chdir(notebook_folder(root, chapter))
    exec(setup, {})
    assert Path.cwd() == root.resolve()
    exec(setup, {})  # once more, as a student reruns it
    assert Path.cwd() == root.resolve()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match=r"is not in an fnn checkout: open the notebook in one, or on Colab"):
        exec(setup, {})


def test_a_program_ignores_comments_and_docstrings_only() -> None:
    english = 'def f(x):\n    """Twice x."""\n    return 2 * x  # doubled\nprint(f(1))  # 2'
    korean = 'def f(x):\n    """x의 두 배."""\n    return 2 * x  # 두 배\nprint(f(1))  # 2'
    assert program([english]) == program([korean])
    assert program([english]) != program([english.replace("2 * x", "3 * x")])
    assert program([english]) != program([english.replace("print(f(1))", 'print("f(1)")')])


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if runs_its_own_program(c)], ids=_id)
def test_a_notebook_runs_on_the_data_its_setup_cell_fetches(chapter: Path, tmp_path: Path, backend_name: str) -> None:
    folder = notebook_folder(student_checkout(tmp_path), chapter)
    (tmp_path / "shared").unlink()
    code = "\n".join(block for _, block in python_blocks(chapter))
    link_offline_data(tmp_path / "shared" / "data", {file for data in generator.course_data(code) for file in data.files})
    env = {name: value for name, value in os.environ.items() if not name.startswith("FNN_")}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    if backend_name != "numpy":
        env["FNN_BACKEND"] = backend_name
    notebook = read(chapter)
    NotebookClient(notebook, timeout=600, kernel_name="python3").execute(cwd=str(folder), env=env)
    assert all(cell.execution_count for cell in notebook.cells if cell.cell_type == "code")
