#!/usr/bin/env python3
"""List the import circles among the modules of shared/src and functions/common/src.

An edge A -> B means a file of module A names module B through a `use crate::...`,
`use super::...`, `use self::...` or a child-relative `use` (a mod.rs re-export), or
through a `crate::...` path written inline. Comments, string literals and items under
`#[cfg(test)]` (the test modules) are ignored: a test may use what it likes. A path to an
item re-exported by a parent (`crate::Cloud`, `crate::job::MAX_TASKS`) counts as an edge to
the module that defines it.

Cycles are printed at two levels: file modules (job::state, job::summary, ...) and top-level
folders (job, select, alibaba, ...; edges inside one folder dropped). For each strongly
connected component with more than one member the script prints its members and every pair
of modules that use each other, then one shortest cycle through each member.

Usage: python3 tests/import_circles.py [repo root]. Standard library only. Exit status 0
always: this is a report, not a gate.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict, deque
from pathlib import Path

CRATES = [("shared", "shared/src"), ("functions/common", "functions/common/src")]


def strip(text: str) -> str:
    """The source with comments, string and char literals blanked (lengths kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "r" and (text.startswith('r"', i) or text.startswith("r#", i)) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            j = i + 1
            hashes = 0
            while j < n and text[j] == "#":
                hashes, j = hashes + 1, j + 1
            if j < n and text[j] == '"':
                end = text.find('"' + "#" * hashes, j + 1)
                end = n if end < 0 else end + 1 + hashes
                out.append("".join(ch if ch == "\n" else " " for ch in text[i:end]))
                i = end
            else:
                out.append(c)
                i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "'":
            # A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if i + 1 < n and text[i + 1] == "\\":
                j = text.find("'", i + 2)
                j = n if j < 0 else j + 1
                out.append(" " * (j - i))
                i = j
            elif i + 2 < n and text[i + 2] == "'":
                out.append("   ")
                i += 3
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_item(text: str, i: int) -> int:
    """The index just past the item starting at i (ends at a `;` or a balanced block)."""
    n = len(text)
    while i < n:
        if text[i] == ";":
            return i + 1
        if text[i] == "{":
            depth = 0
            while i < n:
                if text[i] == "{":
                    depth += 1
                elif text[i] == "}":
                    depth -= 1
                    if depth == 0:
                        return i + 1
                i += 1
            return n
        i += 1
    return n


def drop_test_items(text: str) -> str:
    out, i = [], 0
    marker = "#[cfg(test)]"
    while True:
        j = text.find(marker, i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        k = j + len(marker)
        # Further attributes belong to the same item.
        while True:
            rest = text[k:].lstrip()
            k = len(text) - len(rest)
            if rest.startswith("#["):
                depth, m = 0, k
                while m < len(text):
                    if text[m] == "[":
                        depth += 1
                    elif text[m] == "]":
                        depth -= 1
                        if depth == 0:
                            break
                    m += 1
                k = m + 1
            else:
                break
        i = skip_item(text, k)


def expand_use_tree(tree: str) -> list[list[str]]:
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]] (aliases and `self` handled)."""
    tree = "".join(re.sub(r"\s+as\s+\w+", "", tree).split())

    def parse(s: str, prefix: list[str]) -> list[list[str]]:
        brace = s.find("{")
        if brace < 0:
            parts = [p for p in s.split("::") if p]
            if parts and parts[-1] == "self":
                parts = parts[:-1]
            return [prefix + parts]
        head = [p for p in s[:brace].split("::") if p]
        inner = s[brace + 1 : s.rfind("}")]
        items, depth, start = [], 0, 0
        for idx, ch in enumerate(inner):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                items.append(inner[start:idx])
                start = idx + 1
        items.append(inner[start:])
        paths = []
        for item in items:
            if item:
                paths.extend(parse(item, prefix + head))
        return paths

    return parse(tree, [])


def module_of(src: Path, file: Path) -> tuple[str, ...]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def uses(text: str) -> list[str]:
    """The use trees (after `use`) and inline `crate::` paths of a stripped, test-free file."""
    found = []
    idx = 0
    while True:
        j = text.find("use ", idx)
        if j < 0:
            break
        before = text[j - 1] if j else " "
        if before.isalnum() or before == "_":
            idx = j + 4
            continue
        end = text.find(";", j)
        if end < 0:
            break
        found.append(("use", text[j + 4 : end]))
        idx = end + 1
    # Inline paths outside use statements.
    body = text
    for kind, tree in found:
        body = body.replace("use " + tree + ";", " ")
    idx = 0
    while True:
        j = body.find("crate::", idx)
        if j < 0:
            break
        before = body[j - 1] if j else " "
        if before.isalnum() or before == "_" or before == "$":
            idx = j + 7
            continue
        k = j
        while k < len(body) and (body[k].isalnum() or body[k] in "_:"):
            k += 1
        found.append(("inline", body[j:k].rstrip(":")))
        idx = k
    return found


def collect(root: Path, crate: str, src_dir: str):
    src = root / src_dir
    files = sorted(p for p in src.rglob("*.rs") if "bin" not in p.relative_to(src).parts)
    modules = {module_of(src, f): f for f in files}
    texts = {m: drop_test_items(strip(f.read_text())) for m, f in modules.items()}

    # Re-exports: (module, name) -> the module that defines it.
    reexports: dict[tuple[tuple[str, ...], str], tuple[str, ...]] = {}
    for m, text in texts.items():
        for kind, tree in uses(text):
            if kind != "use":
                continue
            start = text.find("pub use " + tree)
            if start < 0:
                continue
            for path in expand_use_tree(tree):
                base = resolve_base(m, path, modules)
                if base is None:
                    continue
                target, _ = base
                reexports[(m, path[-1])] = target

    def resolve(m: tuple[str, ...], path: list[str]):
        base = resolve_base(m, path, modules)
        if base is None:
            return None
        target, rest = base
        # Follow re-exports of an item named in a module that only re-exports it.
        seen = set()
        while rest and (target, rest[0]) in reexports and (target, rest[0]) not in seen:
            seen.add((target, rest[0]))
            target = reexports[(target, rest[0])]
            rest = rest[1:]
        return target

    edges: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    for m, text in texts.items():
        for kind, tree in uses(text):
            for path in expand_use_tree(tree) if kind == "use" else [tree.split("::")]:
                target = resolve(m, path)
                if target is None or target == m or target == ():
                    continue
                # A module naming its own descendant or ancestor is nesting, not a circle
                # between peers... except that a parent's re-export is resolved above.
                edges[m].add(target)
    return modules, edges


def resolve_base(m, path, modules):
    """(longest module prefix, remaining segments) of a path written in module m."""
    if not path:
        return None
    if path[0] == "crate":
        base, rest = (), path[1:]
    elif path[0] == "super":
        base, rest = m, path
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif path[0] == "self":
        base, rest = m, path[1:]
    elif m + (path[0],) in modules:
        base, rest = m, path
    else:
        return None  # another crate or the standard library
    target = base
    consumed = 0
    for seg in rest:
        if target + (seg,) in modules:
            target = target + (seg,)
            consumed += 1
        else:
            break
    return target, list(rest[consumed:])


def sccs(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def shortest_cycle(start, edges, allowed):
    prev = {start: None}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(edges.get(v, ())):
            if w not in allowed:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return None


def report(title, nodes, edges, name):
    comps = sccs(nodes, edges)
    print(f"  {title}: {len(comps)} circle(s)")
    for comp in comps:
        members = set(comp)
        print("    component: " + ", ".join(name(c) for c in comp))
        pairs = sorted(
            (a, b) for a in comp for b in edges.get(a, ()) if b in members and a < b and a in edges.get(b, ())
        )
        for a, b in pairs:
            nested = a[: len(b)] == b or b[: len(a)] == a
            note = " (a module and its own submodule)" if nested else ""
            print(f"      mutual: {name(a)} <-> {name(b)}{note}")
        cycles = set()
        for v in comp:
            cyc = shortest_cycle(v, edges, members)
            if cyc:
                # Rotate so the same cycle prints once.
                body = cyc[:-1]
                k = body.index(min(body))
                cycles.add(tuple(body[k:] + body[:k]))
        for cyc in sorted(cycles, key=lambda c: (len(c), c)):
            if len(cyc) > 2:
                print("      cycle: " + " -> ".join(name(c) for c in cyc + (cyc[0],)))


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    for crate, src_dir in CRATES:
        modules, edges = collect(root, crate, src_dir)
        print(f"{crate} ({src_dir}): {len(modules)} modules, {sum(map(len, edges.values()))} edges")
        name = lambda m: "::".join(m) or "crate"
        report("file modules", modules.keys(), edges, name)
        top = defaultdict(set)
        for a, targets in edges.items():
            for b in targets:
                if a and b and a[0] != b[0]:
                    top[(a[0],)].add((b[0],))
        report("top-level modules", {(m[0],) for m in modules if m}, top, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
