"""The docs never rot: their Python runs, their links resolve, the API reference is current.

- Every fenced ```` ```python ```` block of ``README.md`` and ``docs/**/*.md`` runs.
  The blocks of one file run in order in one shared namespace (a chapter builds
  on its earlier blocks), with the working directory a fresh temporary directory,
  ``FNN_DATA_DIR`` pointing at the offline MNIST files (``../shared/data/mnist``)
  and the per-user cache redirected into that directory. Blocks fenced with
  another language (``text``, ``bash``, ``pycon``) are not run.
- Relative links between the Markdown files point at files that exist.
- ``docs/api.md`` equals what ``docs/gen_api.py`` generates now, and documents
  every name in ``fnn.__all__`` and in the ``__all__`` of each public submodule.
- The docstring examples (doctests) of every fnn module pass.

Blocks run under the backend under test (conftest sets ``FNN_BACKEND``), so under
``FNN_TEST_BACKENDS=cupy`` a ``fnn.backend(dtype=...)`` or default-backend call in the
docs computes on the GPU: the docs must work unchanged on either backend. Doctests
run on NumPy: they show NumPy arrays to the reader.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
import re
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

import fnn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MNIST = ROOT.parent / "shared" / "data" / "mnist"

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")


def markdown_files() -> list[Path]:
    """``README.md`` (when present) and every Markdown file under ``docs/``, sorted."""
    files = sorted(DOCS.rglob("*.md"))
    readme = ROOT / "README.md"
    return ([readme] if readme.exists() else []) + files


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """``(first line number, code)`` of each fenced block whose info string is ``python``."""
    blocks: list[tuple[int, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, language = match["fence"], match["info"].strip().split(" ")[0].lower()
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            i += 1
        if i == len(lines):
            raise AssertionError(f"{path}:{start}: code block is never closed")
        if language in ("python", "py"):
            blocks.append((start + 1, textwrap.dedent("\n".join(lines[start:i]))))
        i += 1
    return blocks


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", [p for p in markdown_files() if python_blocks(p)], ids=_id)
def test_python_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FNN_DATA_DIR", str(MNIST))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {"__name__": f"docs.{path.stem}"}
    for line, code in blocks:
        # Pad with blank lines so tracebacks point at the Markdown file's own line numbers.
        exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)


def test_tutorial_chapters_have_code() -> None:
    chapters = sorted((DOCS / "tutorial").glob("*.md"))
    assert len(chapters) >= 8, [c.name for c in chapters]
    for chapter in chapters:
        assert python_blocks(chapter), f"{chapter.name} has no python block"


LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")


@pytest.mark.parametrize("path", markdown_files(), ids=_id)
def test_relative_links_resolve(path: Path) -> None:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    for match in LINK.finditer(text):
        target = match["target"].split("#")[0]
        if not target or re.match(r"[a-z]+:", target):
            continue  # a same-page anchor or an external URL
        assert (path.parent / target).exists(), f"{_id(path)}: broken link to {match['target']}"


def _gen_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date() -> None:
    generated: str = _gen_api().render()
    current = (DOCS / "api.md").read_text(encoding="utf-8")
    assert current == generated, "docs/api.md is out of date: run `python docs/gen_api.py`"


def test_api_reference_covers_every_public_name() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `([\w.]+)`$", text, flags=re.M))
    referenced = set(re.findall(r"^- `([\w.]+)`: (?:see|the module)", text, flags=re.M))
    modules: list[ModuleType] = _gen_api().public_modules()
    names = {module.__name__: list(module.__all__) for module in modules if hasattr(module, "__all__")}
    assert "fnn" in names and len(names) > 5
    for public in ("fnn.losses", "fnn.random", "fnn.tree", "fnn.functional", "fnn.initializers"):
        assert public in names
    missing = [
        f"{module}.{name}"
        for module, all_names in names.items()
        for name in all_names
        if f"{module}.{name}" not in documented | referenced
    ]
    assert not missing, f"docs/api.md lacks {missing}"


def fnn_modules_with_doctests() -> list[str]:
    """Every module of the fnn package that has docstring examples, by dotted name."""
    names = ["fnn"] + [info.name for info in pkgutil.walk_packages(fnn.__path__, "fnn.")]
    finder = doctest.DocTestFinder(exclude_empty=True)
    return sorted(
        name
        for name in names
        if any(test.examples for test in finder.find(importlib.import_module(name), name))
    )


def test_most_modules_carry_doctests() -> None:
    assert len(fnn_modules_with_doctests()) >= 20


@pytest.mark.parametrize("name", fnn_modules_with_doctests())
def test_fnn_doctests(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The docstrings are written with NumPy arrays (np.array, printed reprs) for the reader.
    monkeypatch.setenv("FNN_BACKEND", "numpy")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in finder.find(module, name):
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(report)
