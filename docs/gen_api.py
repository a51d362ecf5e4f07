"""Generate ``docs/api.md``, the API reference, from fnn's docstrings.

Every public module of fnn (``fnn`` itself and each top-level submodule or
subpackage with an ``__all__``) gets a section listing every name in its
``__all__``: the signature and the docstring of functions and classes (with the
public methods a class defines itself), the type and value of constants. An
object public under several names is documented once, at its first place, and
the other places link to it.

Run from the project root after changing a public docstring::

    python docs/gen_api.py          # rewrite docs/api.md
    python docs/gen_api.py --check  # exit 1 if docs/api.md is out of date

``tests/test_docs.py`` runs the check, so a stale reference fails the tests.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api.md"

SECTIONS = ("Args", "Arguments", "Returns", "Yields", "Raises", "Attributes", "Shapes", "Example", "Examples")


class _Raw:
    """An annotation or default shown as its text, without quotes."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _import_fnn() -> ModuleType:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("fnn")


def public_modules() -> list[ModuleType]:
    """``fnn``, then its top-level submodules and subpackages that declare ``__all__``, by name."""
    fnn = _import_fnn()
    modules = [fnn]
    for info in sorted(pkgutil.iter_modules(fnn.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"fnn.{info.name}")
        if hasattr(module, "__all__"):
            modules.append(module)
    return modules


def public_names(module: ModuleType) -> list[str]:
    """The module's ``__all__`` in the order documented: classes, functions, the rest; each by name."""
    names: list[str] = list(getattr(module, "__all__", []))

    def kind(name: str) -> int:
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            return 3
        if inspect.isclass(obj):
            return 0
        if inspect.isfunction(obj):
            return 1
        return 2

    return sorted(names, key=lambda n: (kind(n), n.lower()))


def anchor(qualified: str) -> str:
    """The Markdown heading anchor of ``qualified`` as GitHub renders it."""
    return re.sub(r"[^a-z0-9_ -]", "", qualified.lower()).replace(" ", "-")


def _clean(text: str) -> str:
    """Memory addresses removed, so the output is the same on every run."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)


def signature(obj: Any) -> str | None:
    """``(x: int, *, y: float = 1.0) -> str``, annotations unquoted; ``None`` when unavailable."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = []
    for i, p in enumerate(sig.parameters.values()):
        if i == 0 and p.name in ("self", "cls"):
            continue
        changes: dict[str, Any] = {}
        if isinstance(p.annotation, str):
            changes["annotation"] = _Raw(p.annotation)
        if p.default is not inspect.Parameter.empty and type(p.default).__name__ == "_Nothing":
            changes["default"] = _Raw("<factory>")
        elif p.default is not inspect.Parameter.empty and callable(p.default):
            changes["default"] = _Raw(getattr(p.default, "__name__", repr(p.default)))
        params.append(p.replace(**changes))
    ret = sig.return_annotation
    if isinstance(ret, str):
        ret = _Raw(ret)
    return _clean(str(sig.replace(parameters=params, return_annotation=ret)))


def _inline(line: str) -> str:
    """reST inline markup as Markdown: ``x`` and :func:`x` become `x`."""
    line = re.sub(r":(?:func|class|meth|data|mod|attr|obj|exc):`~?([^`]+)`", r"`\1`", line)
    return line.replace("``", "`")


def docstring_markdown(doc: str | None) -> str:
    """A Google-style docstring as Markdown: sections as lists, doctests and literal blocks fenced."""
    if not doc:
        return "*(no docstring)*"
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["```pycon", *textwrap.dedent("\n".join(block)).splitlines(), "```"]
            continue
        if re.fullmatch(r"=+( +=+)+", stripped):  # a reST simple table
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["```text", *block, "```"]
            continue
        if stripped.endswith("::") and not stripped.startswith(">>>"):
            out.append(_inline(line[:-1] if stripped != "::" else ""))
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += ["", "```text", *textwrap.dedent("\n".join(block)).splitlines(), "```", ""]
            continue
        section = stripped[:-1] if stripped.endswith(":") else ""
        if section in SECTIONS and not line.startswith(" "):
            out += ["", f"**{section}:**", ""]
            i += 1
            items: list[str] = []
            while i < len(lines) and (lines[i].startswith(" ") or not lines[i].strip()):
                entry = lines[i]
                if not entry.strip():
                    if i + 1 < len(lines) and lines[i + 1].startswith(" "):
                        i += 1
                        continue
                    break
                indent = len(entry) - len(entry.lstrip())
                text = _inline(entry.strip())
                if items and (indent > 4 or section in ("Returns", "Yields")):
                    items[-1] += " " + text
                else:
                    match = re.match(r"([\w*.]+(?: \([^)]*\))?):\s*(.*)", text)
                    if match and section not in ("Returns", "Yields", "Shapes"):
                        items.append(f"- `{match.group(1)}`: {match.group(2)}")
                    else:
                        items.append(f"- {text}")
                i += 1
            out += [*items, ""]
            continue
        out.append(_inline(line))
        i += 1
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties that ``cls`` itself defines (not inherited), in source order."""
    members = []
    for name, value in vars(cls).items():
        if name.startswith("_") and name != "__call__":
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if inspect.isfunction(value) or isinstance(value, property):
            members.append((name, value))
    return members


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return _inline(" ".join(inspect.cleandoc(doc).split("\n\n")[0].split()))


def document(qualified: str, obj: Any) -> list[str]:
    """The Markdown entry of one public object."""
    if inspect.isclass(obj):
        out = [f"### `{qualified}`", "", f"*class* `{qualified.rsplit('.', 1)[-1]}{signature(obj) or ''}`"]
        bases = [b.__name__ for b in obj.__bases__ if b is not object and b.__name__ != "Generic"]
        if bases:
            out[-1] += f" (subclass of {', '.join(f'`{b}`' for b in bases)})"
        out += ["", docstring_markdown(obj.__doc__)]
        members = _members(obj)
        if members:
            out += ["", "**Methods and properties:**", ""]
            for name, value in members:
                if isinstance(value, property):
                    out.append(f"- `{name}` (property): {_first_paragraph(value.__doc__)}".rstrip())
                else:
                    sig = signature(value) or "(...)"
                    out.append(f"- `{name}{sig}`: {_first_paragraph(value.__doc__)}".rstrip(": "))
        return out + [""]
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        sig = signature(obj) or "(...)"
        name = qualified.rsplit(".", 1)[-1]
        return [f"### `{qualified}`", "", f"`{name}{sig}`", "", docstring_markdown(obj.__doc__), ""]
    kind = type(obj).__name__
    value = _clean(repr(obj))
    if len(value) > 100:
        value = value[:97] + "..."
    doc = getattr(type(obj), "__doc__", None) if type(obj).__module__.startswith("fnn") else None
    out = [f"### `{qualified}`", "", f"*{kind}* = `{value}`"]
    if doc:
        out += ["", f"An instance of `{kind}`: {_first_paragraph(doc)}"]
    return out + [""]


def render() -> str:
    """The whole API reference as Markdown."""
    modules = public_modules()
    documented: dict[int, str] = {}
    head = [
        "# API reference",
        "",
        "<!-- Generated by docs/gen_api.py from the docstrings; do not edit by hand. -->",
        "",
        "Every public name of fnn, module by module, generated from the docstrings "
        "(`python docs/gen_api.py` regenerates this page). The [tutorial](index.md) "
        "shows them at work.",
        "",
        "## Modules",
        "",
    ]
    body: list[str] = []
    for module in modules:
        name = module.__name__
        head.append(f"- [`{name}`](#{anchor(name)}): {_first_paragraph(module.__doc__)}")
        body += [f"## `{name}`", "", docstring_markdown(module.__doc__), ""]
        refs: list[str] = []
        for public in public_names(module):
            obj = getattr(module, public)
            qualified = f"{name}.{public}"
            if inspect.ismodule(obj):
                refs.append(f"- `{qualified}`: the module [`{obj.__name__}`](#{anchor(obj.__name__)})")
                continue
            key = id(obj)
            shareable = (
                inspect.isclass(obj)
                or inspect.isfunction(obj)
                or not isinstance(obj, (int, float, str, bytes, tuple, type(None)))
            )
            if shareable and key in documented:
                first = documented[key]
                refs.append(f"- `{qualified}`: see [`{first}`](#{anchor(first)})")
                continue
            if shareable:
                documented[key] = qualified
            body += document(qualified, obj)
        if refs:
            body += ["### Also here", "", *refs, ""]
    return "\n".join(head + [""] + body).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/api.md from fnn's docstrings.")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = API.read_text(encoding="utf-8") if API.exists() else ""
        if current != text:
            print(f"{API} is out of date; run `python docs/gen_api.py`", file=sys.stderr)
            return 1
        print(f"{API} is up to date")
        return 0
    API.write_text(text, encoding="utf-8")
    print(f"wrote {API} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
