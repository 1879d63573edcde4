#!/usr/bin/env python3
"""Writes the load-path fixtures (Tests/images/loadpath/<Model>.json) from the upstream repositories.

For each model of upstream.json, read from bare git mirrors of the upstream repositories at the
pinned commits (never from this checkout, never executing upstream code):

- the config's `_base_` chain: every file the config pulls in, as the path it resolves to inside
  the model's folder in the image, which tree provides it, and the line that names it;
- what loading imports: the config's plugin package (`plugin_dir`, or `custom_imports`) and the
  modules the worker runtime imports (upstream.json), followed through every module-level import
  into the upstream trees that are on the load path (the repository itself, vendored or companion
  checkouts installed in develop mode). Imports inside functions are not followed (they do not run
  at load); an import inside `try: ... except ImportError`, or under a module-level `if` (a guard on
  what is installed), is recorded as optional;
- what is left over: third-party top-level modules (each with up to three places that import it),
  compiled extensions of the trees (an import of a submodule that has no source: built by the
  tree's setup.py), and the version ranges mmdet3d's `__init__` asserts at import.

Usage: extract.py --mirrors /work/.mirror [--model NAME] [--out-dir DIR]. A mirror is
<mirrors>/<owner>+<name>/repo (as the project's `fetch` tool leaves them). Needs git and Python 3.10+
(sys.stdlib_module_names); this is a developer's tool, not part of `make test`.
"""
import argparse
import ast
import json
import os
import posixpath
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


class Tree:
    """Files of one git tree at one commit, mounted at `mount` inside the model's folder."""

    def __init__(self, label, gitdir, commit, prefix, mount, importable):
        self.label = label
        self.gitdir = gitdir
        self.commit = commit
        self.prefix = prefix  # path of the tree inside its git repository ('' or 'mmdetection3d/')
        self.mount = mount  # where it is inside the model's folder ('.' for the repository itself)
        self.importable = importable
        listing = subprocess.run(["git", "--git-dir", gitdir, "ls-tree", "-r", "--name-only", commit],
                                 check=True, capture_output=True, text=True).stdout.split("\n")
        self.files = {f[len(prefix):] for f in listing if f.startswith(prefix) and f}
        self.dirs = set()
        for f in self.files:
            parts = f.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                self.dirs.add("/".join(parts[:i]))

    def read(self, path):
        return subprocess.run(["git", "--git-dir", self.gitdir, "show", f"{self.commit}:{self.prefix}{path}"],
                              check=True, capture_output=True).stdout.decode("utf-8", "replace")

    def layout(self, path):
        """The file's path inside the model's folder."""
        return path if self.mount == "." else f"{self.mount}/{path}"


def module_file(tree, dotted):
    path = dotted.replace(".", "/")
    if path + ".py" in tree.files:
        return path + ".py"
    if path + "/__init__.py" in tree.files:
        return path + "/__init__.py"
    if path in tree.dirs:
        return path + "/"  # a namespace package
    return None


def catches_import_error(node):
    for handler in node.handlers:
        names = []
        if handler.type is None:
            return True
        for item in (handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]):
            names.append(getattr(item, "id", getattr(item, "attr", "")))
        if {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"} & set(names):
            return True
    return False


class LoadPath:
    def __init__(self, trees):
        self.trees = trees  # in sys.path order: the repository first (the worker puts it first)
        self.seen = set()
        self.external = {}  # top-level module -> {"places": [...], "optional": bool}
        self.extensions = {}  # dotted -> {"tree": mount, "places": [...]}
        self.tree_modules = {}  # top-level package found in a tree other than the repository -> {"tree", "places"}

    def find(self, dotted):
        for tree in self.trees:
            if not tree.importable:
                continue
            found = module_file(tree, dotted)
            if found is not None:
                return tree, found
        return None

    def visit(self, dotted):
        found = self.find(dotted)
        if found is None:
            return None
        tree, path = found
        if (tree.mount, path) in self.seen:
            return found
        self.seen.add((tree.mount, path))
        parts = dotted.split(".")
        for i in range(1, len(parts)):
            self.visit(".".join(parts[:i]))
        if path.endswith("/"):
            return found
        package = dotted if path.endswith("__init__.py") else ".".join(parts[:-1])
        module_tree = ast.parse(tree.read(path))
        place = tree.layout(path)
        self.walk(module_tree, package, place, optional=False)
        return found

    def walk(self, node, package, place, optional):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue  # runs when called, not at load
            if isinstance(child, ast.Import):
                for alias in child.names:
                    self.handle(alias.name, [], f"{place}:{child.lineno}", optional)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[:len(base) - (child.level - 1)]
                    module = ".".join(base + ([child.module] if child.module else []))
                else:
                    module = child.module
                self.handle(module, [a.name for a in child.names], f"{place}:{child.lineno}", optional)
            if isinstance(child, ast.If):
                # `if IS_SPCONV2_AVAILABLE: from spconv ...`: a guard on what is installed, not a requirement.
                for part in (child.body, child.orelse):
                    self.walk(ast.Module(body=part, type_ignores=[]), package, place, True)
            elif isinstance(child, ast.Try):
                guarded = catches_import_error(child)
                for statement in child.body:
                    self.walk(ast.Module(body=[statement], type_ignores=[]), package, place, optional or guarded)
                for part in child.handlers + child.orelse + child.finalbody:
                    self.walk(part if not isinstance(part, list) else ast.Module(body=part, type_ignores=[]), package, place, optional)
            else:
                self.walk(child, package, place, optional)

    def handle(self, module, names, place, optional):
        top = module.split(".")[0]
        if self.find(top) is not None:
            owner = self.find(top)[0]
            if owner.mount != "." and not optional:
                entry = self.tree_modules.setdefault(top, {"tree": owner.mount, "places": []})
                if len(entry["places"]) < 3 and place not in entry["places"]:
                    entry["places"].append(place)
            if self.find(module) is None:
                # A submodule with no source in a tree that has its package: a compiled extension.
                self.record_extension(module, place, optional)
                return
            self.visit(module)
            for name in names:
                if name == "*":
                    continue
                if self.find(f"{module}.{name}") is not None:
                    self.visit(f"{module}.{name}")
                elif name.endswith(("_ext", "_cuda")):
                    self.record_extension(f"{module}.{name}", place, optional)
            return
        if top in sys.stdlib_module_names or top == "__future__":
            return
        entry = self.external.setdefault(top, {"places": [], "optional": True})
        if len(entry["places"]) < 3:
            entry["places"].append(place)
        entry["optional"] = entry["optional"] and optional

    def record_extension(self, dotted, place, optional):
        if optional:
            return
        top = dotted.split(".")[0]
        tree, _ = self.find(top)
        entry = self.extensions.setdefault(dotted, {"tree": tree.mount, "places": []})
        if len(entry["places"]) < 3:
            entry["places"].append(place)


def literal_assignments(source):
    """Top-level NAME = literal assignments of a config, with their lines."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = (ast.literal_eval(node.value), node.lineno)
            except ValueError:
                if isinstance(node.value, ast.Call):
                    keywords = {}
                    for kw in node.value.keywords:
                        try:
                            keywords[kw.arg] = ast.literal_eval(kw.value)
                        except ValueError:
                            pass
                    found[node.targets[0].id] = (keywords, node.lineno)
    return found


def tree_for(trees, layout_path):
    """The tree mounted at the longest prefix of `layout_path`, and the path inside it."""
    best = None
    for tree in trees:
        if tree.mount == ".":
            candidate = (0, tree, layout_path)
        elif layout_path.startswith(tree.mount + "/"):
            candidate = (len(tree.mount), tree, layout_path[len(tree.mount) + 1:])
        else:
            continue
        if best is None or candidate[0] > best[0]:
            best = candidate
    return best[1], best[2]


def base_chain(trees, config, found):
    """Every `_base_` file, depth first, as {path, tree, referenced_by}."""
    tree, inner = tree_for(trees, config)
    assignments = literal_assignments(tree.read(inner))
    bases, line = assignments.get("_base_", ([], 0))
    if isinstance(bases, str):
        bases = [bases]
    for base in bases:
        path = posixpath.normpath(posixpath.join(posixpath.dirname(config), base))
        owner, inside = tree_for(trees, path)
        if inside not in owner.files:
            raise SystemExit(f"{config}:{line}: _base_ {base} resolves to {path}, which no tree provides")
        found.append({"path": path, "tree": owner.mount, "referenced_by": f"{config}:{line}"})
        base_chain(trees, path, found)
    return found


def plugin_modules(trees, config):
    tree, inner = tree_for(trees, config)
    assignments = literal_assignments(tree.read(inner))
    modules = []
    if "custom_imports" in assignments:
        value, line = assignments["custom_imports"]
        for name in value.get("imports", []):
            modules.append({"module": name, "from": f"{config}:{line} custom_imports"})
    if assignments.get("plugin", (False, 0))[0]:
        plugin_dir, line = assignments.get("plugin_dir", (None, 0))
        if plugin_dir:
            name = ".".join(p for p in os.path.dirname(plugin_dir).split("/") if p)
            modules.append({"module": name, "from": f"{config}:{line} plugin_dir"})
    return modules


def version_asserts(trees):
    """mmdet3d/__init__.py's <package>_minimum_version / _maximum_version, asserted at import."""
    found = []
    for tree in trees:
        if not tree.importable or "mmdet3d/__init__.py" not in tree.files:
            continue
        source = tree.read("mmdet3d/__init__.py")
        assignments = literal_assignments(source)
        for name, (value, line) in sorted(assignments.items()):
            if name.endswith("_minimum_version"):
                module = name[: -len("_minimum_version")]
                maximum, max_line = assignments.get(f"{module}_maximum_version", (None, 0))
                found.append({"module": module, "minimum": value, "maximum": maximum,
                              "asserted_at": tree.layout("mmdet3d/__init__.py") + f":{line}-{max_line}"})
    return found


def develop_requirements(trees):
    """What each tree installed in develop mode requires (requirements/runtime.txt, else requirements.txt)."""
    found = []
    for tree in trees[1:]:
        for candidate in ("requirements/runtime.txt", "requirements.txt"):
            if candidate in tree.files:
                names = []
                for line in tree.read(candidate).splitlines():
                    line = line.split("#")[0].strip()
                    if line:
                        names.append(re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0])
                found.append({"tree": tree.mount, "file": tree.layout(candidate), "names": names})
                break
    return found


def extract(name, spec, common, mirrors):
    def gitdir(mirror):
        return os.path.join(mirrors, mirror, "repo")

    trees = [Tree(name, gitdir(spec["mirror"]), spec["commit"], "", ".", True)]
    for extra in spec.get("trees", []):
        if extra.get("vendored"):
            trees.append(Tree(extra["mount"], gitdir(spec["mirror"]), spec["commit"], extra["mount"] + "/",
                              extra["mount"], extra["importable"]))
        else:
            trees.append(Tree(extra["mount"], gitdir(extra["mirror"]), extra["commit"], "", extra["mount"],
                              extra["importable"]))
    bases = base_chain(trees, spec["config"], [])
    entries = plugin_modules(trees, spec["config"])
    entries += [{"module": m, "from": common["_cite"]} for m in common["modules"]]
    load = LoadPath(trees)
    for entry in entries:
        load.handle(entry["module"], [], entry["from"], False)
    return {
        "_about": f"Generated by Tests/images/loadpath/extract.py from {spec['repository']} at {spec['commit']} "
                  "and the trees below, read at their commits. Do not edit: rerun extract.py.",
        "model": name,
        "repository": spec["repository"],
        "commit": spec["commit"],
        "config": spec["config"],
        "trees": [{k: v for k, v in t.items() if k != "mirror"} for t in spec.get("trees", [])],
        "entry_modules": entries,
        "bases": bases,
        "modules": [{"module": m, "imported_at": e["places"], "optional": e["optional"]}
                    for m, e in sorted(load.external.items())],
        "tree_modules": [{"module": m, "tree": e["tree"], "imported_at": e["places"]}
                         for m, e in sorted(load.tree_modules.items())],
        "extensions": [{"module": m, "tree": e["tree"], "imported_at": e["places"]}
                       for m, e in sorted(load.extensions.items())],
        "version_asserts": version_asserts(trees),
        "develop_requirements": develop_requirements(trees),
        "source_files_read": len(load.seen),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirrors", required=True)
    parser.add_argument("--model")
    parser.add_argument("--out-dir", default=HERE)
    args = parser.parse_args()
    with open(os.path.join(HERE, "upstream.json"), encoding="utf-8") as handle:
        upstream = json.load(handle)
    for name, spec in upstream["models"].items():
        if args.model and name != args.model:
            continue
        fixture = extract(name, spec, upstream["worker_entry_modules"], args.mirrors)
        path = os.path.join(args.out_dir, f"{name}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(fixture, handle, indent=1, sort_keys=False)
            handle.write("\n")
        os.replace(path + ".tmp", path)
        print(f"{path}: {len(fixture['bases'])} bases, {len(fixture['modules'])} modules, "
              f"{len(fixture['extensions'])} extensions, {fixture['source_files_read']} files read")


if __name__ == "__main__":
    main()
