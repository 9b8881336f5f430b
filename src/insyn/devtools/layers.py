"""The import graph flows one way: each stage imports only itself and the stages before it.

    python -m insyn.devtools.layers

prints every import that goes the other way (and exits 1), or that the graph is in order. The
order is docs/architecture.md's flow: the model and the store beneath everything, then ingest
→ indicators (with the workforce's kinds registered into them) → disclosure → publish, and the
faces on top. Imports inside functions count as much as those at the top of a module: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

# Lowest first. A stage is a subpackage of insyn or a top-level module.
STAGES = (
    ("__init__", "scrub", "errors", "logs", "config_files", "progress", "swedish", "spreadsheet", "files"),
    ("model",),
    ("store",),
    ("ingest",),
    ("indicators",),
    ("workforce",),
    ("forecast",),
    ("disclosure",),
    ("settings",),
    ("publish",),
    ("synth",),
    ("workflows",),
    ("web",),
    ("cli", "cli_swedish"),
    ("devtools",),
)
PACKAGE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Upward:
    """An import from a lower stage of a higher one."""

    module: str
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}"


def stage_of(module: str) -> int:
    """The stage of a dotted module name under insyn ("insyn.ingest.load" -> ingest's)."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "__init__"
    for level, names in enumerate(STAGES):
        if name in names:
            return level
    raise KeyError(f"{module}: no stage in insyn.devtools.layers.STAGES")


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, package: Path) -> bool:
    return (package / f"{name}.py").exists() or (package / name).is_dir()


def _imports(tree: ast.AST, package: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "insyn"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "insyn":  # from insyn import settings (a module) or __version__
                found += [(node.lineno, f"insyn.{a.name}" if _is_module(a.name, package) else "insyn")
                          for a in node.names]
            elif node.module.split(".")[0] == "insyn":
                found.append((node.lineno, node.module))
    return found


def upward_imports(package: Path = PACKAGE) -> list[Upward]:
    found = []
    for path in sorted(package.rglob("*.py")):
        module = _module_name(path, package)
        level = stage_of(module)
        for line, imported in _imports(ast.parse(path.read_text(encoding="utf-8")), package):
            if stage_of(imported) > level:
                found.append(Upward(module, line, imported))
    return found


def main() -> int:
    found = upward_imports()
    for upward in found:
        print(upward)
    if not found:
        print("The import graph flows one way: " + " → ".join("/".join(s) for s in STAGES))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
