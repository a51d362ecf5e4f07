"""The docs never rot: their Python runs, their links resolve, the API reference is current.

- Every fenced ```` ```python ```` block of ``README.md`` and ``docs/**/*.md`` runs
  the way a student runs it: the blocks of one file pasted in order into a fresh
  ``python`` started in the project root (with ``../shared/data`` beside it, as
  the README describes), with no ``FNN_*`` variable set and an empty per-user
  cache. Blocks fenced with another language (``text``, ``bash``, ``pycon``) are
  not run.
- What a page shows a block printing is what it prints: a comment on a line that
  is a ``print(...)`` call is the expected output (``...`` matches anything, as in
  doctests; runs of whitespace compare equal). A remark about the output goes on
  its own comment line.
- Relative links between the Markdown files point at files that exist.
- ``docs/api.md`` equals what ``docs/gen_api.py`` generates now, and documents
  every name in ``fnn.__all__`` and in the ``__all__`` of each public submodule.
- The docstring examples (doctests) of every fnn module pass.

Blocks run under the backend under test (``FNN_BACKEND`` is passed on for a
backend other than NumPy), so under ``FNN_TEST_BACKENDS=cupy`` a
``fnn.backend(dtype=...)`` or default-backend call in the docs computes on the GPU:
the docs must work unchanged on either backend. Doctests
run on NumPy: they show NumPy arrays to the reader.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import io
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path
from types import ModuleType

import pytest

import fnn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

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


def chapter_script(blocks: list[tuple[int, str]]) -> str:
    """The blocks of one file as one script whose line numbers are the Markdown file's own."""
    lines: list[str] = []
    for first, code in blocks:
        lines += [""] * (first - 1 - len(lines)) + code.splitlines()
    return "\n".join(lines) + "\n"


NON_CODE = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)


def shown_outputs(blocks: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """``(line, text)`` of each output the page shows: the comment on a line that is a ``print`` call."""
    shown: list[tuple[int, str]] = []
    for first, code in blocks:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
        starts = {token.start[0]: token for token in reversed(tokens) if token.type not in NON_CODE}
        for token in tokens:
            opener = starts.get(token.start[0])
            if token.type == tokenize.COMMENT and opener is not None and opener.string == "print":
                shown.append((first + token.start[0] - 1, token.string.removeprefix("#").strip()))
    return shown


def _normalized(text: str) -> str:
    return " ".join(text.split())


def find_shown(shown: str, printed: list[str], start: int) -> int | None:
    """The index just past the printed lines that equal ``shown``, searching from line ``start``.

    Whitespace runs compare equal (NumPy wraps long arrays), and ``...`` in
    ``shown`` stands for any text, as in doctests.
    """
    pattern = re.compile(".*".join(re.escape(part) for part in _normalized(shown).split("...")))
    for first in range(start, len(printed)):
        text = ""
        for last in range(first, min(first + 40, len(printed))):
            text = _normalized(f"{text} {printed[last]}")
            if pattern.fullmatch(text):
                return last + 1
    return None


def student_checkout(tmp_path: Path) -> Path:
    """A project root as a student has it: the checkout's files, with ``shared/`` beside it.

    Its entries are links to this checkout's, so what the blocks write (plots,
    saved params) lands in ``tmp_path``, and ``../shared/data`` is the real
    offline data.
    """
    root = tmp_path / "project"
    root.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in (".git", ".venv"):
            (root / entry.name).symlink_to(entry)
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    return root


def run_as_student(
    script: str, tmp_path: Path, backend_name: str, fnn_data_dir: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``script`` fed to a fresh ``python`` started in the project root, as a student pastes it.

    No ``FNN_*`` variable is set, except ``FNN_BACKEND`` under a backend other
    than NumPy (the backend under test), and ``FNN_DATA_DIR`` when
    ``fnn_data_dir`` is given; the per-user cache is an empty directory, so
    nothing found there by an earlier run can hide a missing path.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("FNN_")}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    if backend_name != "numpy":
        env["FNN_BACKEND"] = backend_name
    if fnn_data_dir is not None:
        env["FNN_DATA_DIR"] = fnn_data_dir
    return subprocess.run(
        [sys.executable, "-"],
        input=script,
        cwd=student_checkout(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("path", [p for p in markdown_files() if python_blocks(p)], ids=_id)
def test_python_blocks_run_and_print_what_they_show(path: Path, tmp_path: Path, backend_name: str) -> None:
    blocks = python_blocks(path)
    result = run_as_student(chapter_script(blocks), tmp_path, backend_name)
    assert result.returncode == 0, f"{_id(path)}: the blocks fail when pasted in order:\n{result.stderr}"
    printed = result.stdout.splitlines()
    position = 0
    for line, shown in shown_outputs(blocks):
        after = find_shown(shown, printed, position)
        assert after is not None, (
            f"{_id(path)}:{line}: the page shows `{shown}`, but the blocks print (from line "
            f"{position + 1} of their output):\n" + "\n".join(printed[position:])
        )
        position = after


def pages_reading_data() -> list[Path]:
    """The pages whose blocks read the offline data (MNIST, the book's weights)."""
    return [p for p in markdown_files() if any("shared/data" in code for _, code in python_blocks(p))]


@pytest.mark.parametrize("path", pages_reading_data(), ids=_id)
def test_data_pages_work_whatever_fnn_data_dir_names(path: Path, tmp_path: Path, backend_name: str) -> None:
    # docs/datasets.md lets FNN_DATA_DIR name the data directory (holding mnist/) as well
    # as the MNIST directory itself: a page must not build its paths from the variable.
    data_dir = str(tmp_path / "shared" / "data")
    result = run_as_student(chapter_script(python_blocks(path)), tmp_path, backend_name, data_dir)
    assert result.returncode == 0, f"{_id(path)} fails with FNN_DATA_DIR={data_dir}:\n{result.stderr}"


def test_the_mnist_chapters_read_the_offline_data() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in pages_reading_data()}
    for chapter in ("03_mnist_inference", "06_mlp_mnist", "08_precision_gpu"):
        assert {f"tutorial/{chapter}.md", f"ko/tutorial/{chapter}.md"} <= names
    assert "tutorial/09_convnets.md" in names


def test_shown_outputs_are_the_comments_of_print_lines() -> None:
    code = 'x = 2  # not output\nprint(x, "# in a string")  # 2 # in a string\n# print(x)  # commented out\n'
    assert shown_outputs([(10, code)]) == [(11, '2 # in a string')]


def test_a_shown_output_must_match_what_is_printed() -> None:
    printed = ["[[1. 2.]", " [3. 4.]]", "loss 0.25", "done"]
    assert find_shown("[[1. 2.] [3. 4.]]", printed, 0) == 2
    assert find_shown("loss 0.2...", printed, 2) == 3
    assert find_shown("loss 0.26", printed, 0) is None  # a stale number
    assert find_shown("[[1. 2.] [3. 4.]]", printed, 1) is None  # shown in a different order
    assert find_shown("loss", printed, 0) is None  # a whole line, not a part of one


def test_tutorial_chapters_have_code() -> None:
    chapters = sorted((DOCS / "tutorial").glob("*.md"))
    assert len(chapters) >= 8, [c.name for c in chapters]
    for chapter in chapters:
        assert python_blocks(chapter), f"{chapter.name} has no python block"


def test_the_index_and_the_korean_readme_say_which_chapters_are_in_korean() -> None:
    korean = sorted(p.name for p in (DOCS / "ko" / "tutorial").glob("*.md"))
    english = sorted(p.name for p in (DOCS / "tutorial").glob("*.md"))
    assert set(korean) <= set(english), "each Korean chapter translates the English one of the same file name"
    first = next((n for n, (ko, en) in enumerate(zip(korean, english)) if ko != en), len(korean))
    later = [int(name[:2]) for name in korean[first:]]  # translated chapters after an untranslated one
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert f"the README and chapters 1 to {first}{''.join(f' and {n}' for n in later)} in Korean" in index
    in_korean = f"1~{first}장{''.join(f'과 {n}장' for n in later)}은 한국어로도"
    assert in_korean in (DOCS / "ko" / "README.md").read_text(encoding="utf-8")


END_OF_TUTORIAL = ("end of the", "마칩니다")  # "... ends here", in English and in Korean


@pytest.mark.parametrize("language", ["tutorial", "ko/tutorial"])
def test_each_chapter_leads_to_the_next_and_only_the_last_ends(language: str) -> None:
    english = sorted((DOCS / "tutorial").glob("*.md"))
    following = {chapter.name: after for chapter, after in zip(english, english[1:])}
    for chapter in sorted((DOCS / language).glob("*.md")):
        after = following.get(chapter.name)  # a Korean chapter may lead to an English one
        if after is None:
            continue  # the last chapter
        text = chapter.read_text(encoding="utf-8")
        assert re.search(rf"\]\((\.\./\.\./tutorial/)?{after.name}\)", text), f"{_id(chapter)} never links to {after.name}"
        claims = [phrase for phrase in END_OF_TUTORIAL if phrase in text]
        assert not claims, f"{_id(chapter)} says the tutorial ends ({claims}), but {after.name} follows"


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
