#!/usr/bin/env python3
"""Checks lomad's module graph against Tools/architecture-rules.txt (Python 3 standard library only).

Usage (Tools/check-architecture.sh runs both):
    python3 Tools/architecture_check.py PACKAGE_JSON [--root DIR] [--binaries DIR]
    python3 Tools/architecture_check.py --self-test

PACKAGE_JSON is `swift package dump-package` output. The check reads every Swift file's `import`
lines per target folder and reports, naming the file and the module:
  * an import the target's rule line does not allow;
  * an import Package.swift does not declare for the target;
  * a declared dependency the rule line does not allow, or that no file of the target imports;
  * a target without a rule line, or a rule line without a target;
  * a `never` rule broken through any chain of declared dependencies;
  * with --binaries, a `nolink` rule broken by what ldd lists for the built executable;
  * a `never` or `nolink` line that docs/architecture.md does not quote.
It exits 1 with one line per problem, 0 with a summary when the graph keeps every rule.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

RULES_NAME = "Tools/architecture-rules.txt"
DOCUMENT_NAME = "docs/architecture.md"

# `import X`, `@testable import X`, `import struct X.Y`, `@preconcurrency import X`, ...
IMPORT = re.compile(r"^\s*(?:@[\w]+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|protocol|typealias|func|var|let)\s+)?(\w+)")
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


@dataclass
class Rules:
    """The parsed rules file: allowed edges per target, forbidden reachability, forbidden libraries."""

    system: set[str] = field(default_factory=set)
    allowed: dict[str, set[str]] = field(default_factory=dict)
    never: dict[str, set[str]] = field(default_factory=dict)
    nolink: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Target:
    """One Package.swift target: its name, source folder and declared dependencies (module names)."""

    name: str
    kind: str
    path: pathlib.Path
    dependencies: set[str]


def parse_rules(text: str) -> Rules:
    """Parses the rules file; a malformed or repeated line is an error naming its line number."""
    rules = Rules()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        head, sep, tail = line.partition(":")
        words = head.split()
        if not sep or not words or len(words) > 2:
            raise ValueError(f"{RULES_NAME}:{number}: expected 'TARGET: MODULES', 'never TARGET: MODULES', "
                             f"'nolink BINARY: LIBS' or 'system: MODULES', got '{raw.strip()}'")
        names = set(tail.split())
        if words == ["system"]:
            rules.system |= names
            continue
        if len(words) == 2:
            table = {"never": rules.never, "nolink": rules.nolink}.get(words[0])
            if table is None:
                raise ValueError(f"{RULES_NAME}:{number}: unknown rule '{words[0]}' (never, nolink)")
            table.setdefault(words[1], set()).update(names)
            continue
        if words[0] in rules.allowed:
            raise ValueError(f"{RULES_NAME}:{number}: a second line for {words[0]}")
        rules.allowed[words[0]] = names
    return rules


def dependency_name(entry: dict) -> str:
    """The module name of one dependency in `dump-package` JSON (byName, target or product)."""
    for key in ("byName", "target", "product"):
        if key in entry:
            return entry[key][0]
    raise ValueError(f"unknown dependency form in dump-package output: {entry}")


def parse_package(package: dict, root: pathlib.Path) -> list[Target]:
    """The targets of `dump-package` JSON, with SwiftPM's default folders where no path is given."""
    targets = []
    for entry in package["targets"]:
        kind = entry["type"]
        default = "Tests" if kind == "test" else "Sources"
        path = root / (entry.get("path") or f"{default}/{entry['name']}")
        targets.append(Target(entry["name"], kind, path, {dependency_name(d) for d in entry.get("dependencies", [])}))
    return targets


def imports_of(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line number, module) for every import in a Swift file; block comments are skipped."""
    text = BLOCK_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text(encoding="utf-8"))
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = IMPORT.match(line)
        if match:
            found.append((number, match.group(1)))
    return found


def reachable(start: str, graph: dict[str, set[str]]) -> dict[str, list[str]]:
    """Every module reachable from `start` through declared dependencies, with one path to it."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for dependency in sorted(graph.get(current, set())):
            if dependency not in paths:
                paths[dependency] = paths[current] + [dependency]
                queue.append(dependency)
    return paths


def check_graph(rules: Rules, targets: list[Target], root: pathlib.Path) -> list[str]:
    """Every problem of the source imports and of Package.swift against the rules."""
    problems = []
    by_name = {target.name: target for target in targets}
    for name in sorted(set(rules.allowed) - set(by_name)):
        problems.append(f"{RULES_NAME}: {name} has a line but Package.swift has no such target (remove the line)")
    for target in targets:
        allowed = rules.allowed.get(target.name)
        if allowed is None:
            problems.append(f"Package.swift: target {target.name} has no line in {RULES_NAME} (add '{target.name}: ...')")
            continue
        for dependency in sorted(target.dependencies - allowed):
            problems.append(f"Package.swift: {target.name} depends on {dependency}, which {RULES_NAME} does not allow for {target.name}")
        imported: set[str] = set()
        for file in sorted(target.path.rglob("*.swift")) if target.path.is_dir() else []:
            relative = file.relative_to(root)
            for number, module in imports_of(file):
                if module in rules.system or module == target.name:
                    continue
                imported.add(module)
                if module not in allowed:
                    problems.append(f"{relative}:{number}: imports {module}, which {RULES_NAME} does not allow for {target.name}")
                elif module not in target.dependencies:
                    problems.append(f"{relative}:{number}: imports {module}, which Package.swift does not declare for {target.name}")
        has_swift = target.path.is_dir() and any(target.path.rglob("*.swift"))
        if has_swift:
            for dependency in sorted((target.dependencies & allowed) - imported):
                problems.append(f"Package.swift: {target.name} declares {dependency} but none of its files imports it")
    graph = {target.name: target.dependencies for target in targets}
    for name, forbidden in sorted(rules.never.items()):
        if name not in by_name:
            problems.append(f"{RULES_NAME}: 'never {name}' names no target of Package.swift")
            continue
        paths = reachable(name, graph)
        for module in sorted(forbidden & set(paths)):
            problems.append(f"Package.swift: {name} reaches {module} ({' -> '.join(paths[module])}), which '{RULES_NAME}' forbids")
    return problems


def check_documentation(rules_text: str, document_text: str) -> list[str]:
    """The `never` and `nolink` lines of the rules file that the architecture page does not quote
    word for word (so the rules the page states are the rules the check applies)."""
    quoted = {" ".join(line.split()) for line in document_text.splitlines()}
    problems = []
    for raw in rules_text.splitlines():
        line = " ".join(raw.split("#", 1)[0].split())
        if line.startswith(("never ", "nolink ")) and line not in quoted:
            problems.append(f"{DOCUMENT_NAME}: does not quote the rule '{line}' of {RULES_NAME} (copy the rules block)")
    return problems


def check_binaries(rules: Rules, directory: pathlib.Path) -> tuple[list[str], list[str]]:
    """(problems, what was checked) for the `nolink` rules, from ldd of each built executable."""
    problems, checked = [], []
    for binary, libraries in sorted(rules.nolink.items()):
        path = directory / binary
        if not path.is_file():
            problems.append(f"{path}: not built, so 'nolink {binary}' cannot be checked (run swift build first)")
            continue
        result = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
        if result.returncode != 0:
            problems.append(f"ldd {path} failed: {result.stderr.strip()}")
            continue
        linked = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
        for library in sorted(libraries):
            for name in linked:
                if library in name:
                    problems.append(f"{path} links {name}, which '{RULES_NAME}' forbids (nolink {binary}: {library})")
        checked.append(f"{binary} ({len(linked)} shared libraries, none matching {', '.join(sorted(libraries))})")
    return problems, checked


def self_test() -> int:
    """Runs the checks on a small invented package with one violation of each kind, and on its
    clean version, and fails unless each violation is reported and the clean one passes."""
    rules = parse_rules("""
        system: Foundation
        Engine: CBLAS
        CBLAS:
        Wire: Sockets
        Sockets:
        cli: Wire
        never cli: CBLAS
        never Sockets: Wire
    """)
    with tempfile.TemporaryDirectory() as scratch:
        root = pathlib.Path(scratch)
        sources = {
            "Sources/Engine/Engine.swift": "import Foundation\nimport CBLAS\n",
            "Sources/Wire/Wire.swift": "@preconcurrency import Sockets\n/* import Engine */\n",
            "Sources/Sockets/Sockets.swift": "import Foundation\n",
            "Sources/cli/Main.swift": "import Wire\n",
        }
        for relative, text in sources.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text)

        def package(**dependencies: list[str]) -> list[Target]:
            names = ["Engine", "CBLAS", "Wire", "Sockets", "cli"]
            return [Target(name, "regular", root / "Sources" / name, set(dependencies.get(name, []))) for name in names]

        clean = package(Engine=["CBLAS"], Wire=["Sockets"], cli=["Wire"])
        failures = []
        if check_graph(rules, clean, root):
            failures.append(f"the clean package fails: {check_graph(rules, clean, root)}")
        cases = {
            "a forbidden import": ("Sources/cli/Main.swift", "import Wire\nimport Engine\n", clean,
                                   "Sources/cli/Main.swift:2: imports Engine, which Tools/architecture-rules.txt does not allow for cli"),
            "an undeclared import": ("Sources/Sockets/Sockets.swift", "import Foundation\n", package(Engine=["CBLAS"], cli=["Wire"]),
                                     "Sources/Wire/Wire.swift:1: imports Sockets, which Package.swift does not declare for Wire"),
            "an unused declaration": ("Sources/cli/Main.swift", "import Foundation\n", clean,
                                      "Package.swift: cli declares Wire but none of its files imports it"),
            "a forbidden declaration": ("Sources/Sockets/Sockets.swift", "import Foundation\n",
                                        package(Engine=["CBLAS"], Wire=["Sockets"], cli=["Wire"], Sockets=["Wire"]),
                                        "Package.swift: Sockets depends on Wire, which Tools/architecture-rules.txt does not allow for Sockets"),
            "a forbidden chain": ("Sources/Sockets/Sockets.swift", "import Foundation\n",
                                  package(Engine=["CBLAS"], Wire=["Sockets", "Engine"], cli=["Wire"]),
                                  "Package.swift: cli reaches CBLAS (cli -> Wire -> Engine -> CBLAS)"),
            "a target without a line": ("Sources/Sockets/Sockets.swift", "import Foundation\n",
                                        clean + [Target("Extra", "regular", root / "Sources/Extra", set())],
                                        "Package.swift: target Extra has no line in Tools/architecture-rules.txt"),
        }
        stale = check_documentation("never cli: CBLAS\nnolink cli: blas\n", "```\nnever cli:  CBLAS\n```\n")
        if stale != [f"{DOCUMENT_NAME}: does not quote the rule 'nolink cli: blas' of {RULES_NAME} (copy the rules block)"]:
            failures.append(f"a rule the page does not quote is not reported exactly; reported: {stale}")
        # ldd of a real executable (this Python, which links the C library) under a rule's name.
        (root / "bin").mkdir()
        (root / "bin" / "tool").symlink_to(pathlib.Path(sys.executable).resolve())
        linked, _ = check_binaries(parse_rules("nolink tool: libc.so"), root / "bin")
        clean_link, _ = check_binaries(parse_rules("nolink tool: libopenblas"), root / "bin")
        if not any("links libc.so" in problem for problem in linked) or clean_link:
            failures.append(f"ldd: a forbidden library is not reported ({linked}) or a clean binary is ({clean_link})")
        for label, (relative, text, targets, expected) in cases.items():
            original = (root / relative).read_text()
            (root / relative).write_text(text)
            problems = check_graph(rules, targets, root)
            (root / relative).write_text(original)
            if not any(problem.startswith(expected) for problem in problems):
                failures.append(f"{label} is not reported as '{expected}'; reported: {problems}")
    for failure in failures:
        print(f"architecture check self-test: {failure}", file=sys.stderr)
    if not failures:
        print(f"architecture check self-test: {len(cases) + 2} kinds of violation reported, the clean package passes")
    return 1 if failures else 0


def main(arguments: list[str]) -> int:
    if arguments == ["--self-test"]:
        return self_test()
    if not arguments or arguments[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(".")
    binaries = None
    rest = arguments[1:]
    while rest:
        option, value, rest = rest[0], rest[1] if len(rest) > 1 else None, rest[2:]
        if option == "--root" and value:
            root = pathlib.Path(value)
        elif option == "--binaries" and value:
            binaries = pathlib.Path(value)
        else:
            print(f"architecture_check.py: unknown option {option}", file=sys.stderr)
            return 2
    rules_text = (root / RULES_NAME).read_text(encoding="utf-8")
    try:
        rules = parse_rules(rules_text)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    package = json.loads(pathlib.Path(arguments[0]).read_text(encoding="utf-8"))
    targets = parse_package(package, root.resolve())
    problems = check_graph(rules, targets, root.resolve())
    problems += check_documentation(rules_text, (root / DOCUMENT_NAME).read_text(encoding="utf-8"))
    checked: list[str] = []
    if binaries is not None:
        binary_problems, checked = check_binaries(rules, binaries)
        problems += binary_problems
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"architecture check: {len(problems)} problem(s); the allowed edges are in {RULES_NAME} (docs/architecture.md)",
              file=sys.stderr)
        return 1
    print(f"architecture check: {len(targets)} targets keep {RULES_NAME} "
          f"({sum(len(v) for v in rules.never.values())} forbidden reaches checked)"
          + (f"; ldd: {'; '.join(checked)}" if checked else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
