#!/usr/bin/env python3
"""Print the literal assignments of an mmcv-style Python config as JSON, without importing it.

Used by `podagent validate`: no mmcv, torch or model code is needed, and nothing in the
config runs. Output: {"assignments": {name: value}, "keywords": {"model.head.num_classes": 10}}.
Top-level names bound to literals are kept; `dict(...)` calls and dict displays are walked so
nested keyword values appear under their dotted path. A value that refers to a literal name, or
is `len(<literal list>)`, is resolved; anything else is left out.
Exit 2 with a message on stderr when the file cannot be read or is not Python.
"""
import ast
import json
import sys

MISSING = object()


def resolve(node, names):
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        pass
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"
            and len(node.args) == 1 and not node.keywords):
        inner = resolve(node.args[0], names)
        if isinstance(inner, (list, tuple, dict, str)):
            return len(inner)
    return MISSING


def walk(node, path, names, keywords):
    """Records every resolvable value under a dict(...) call or a {...} display."""
    pairs = []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        pairs = [(kw.arg, kw.value) for kw in node.keywords if kw.arg is not None]
    elif isinstance(node, ast.Dict):
        pairs = [(k.value, v) for k, v in zip(node.keys, node.values)
                 if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    for key, value in pairs:
        dotted = f"{path}.{key}"
        resolved = resolve(value, names)
        if resolved is not MISSING:
            keywords[dotted] = resolved
        walk(value, dotted, names, keywords)


def main(argv):
    if len(argv) != 2:
        print("usage: read_config.py CONFIG.py", file=sys.stderr)
        return 2
    path = argv[1]
    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
    except OSError as error:
        print(f"{path}: cannot read: {error.strerror}", file=sys.stderr)
        return 2
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        print(f"{path}: line {error.lineno}: not a Python config: {error.msg}", file=sys.stderr)
        return 2
    names, keywords = {}, {}
    for statement in tree.body:
        if not isinstance(statement, ast.Assign):
            continue
        for target in statement.targets:
            if not isinstance(target, ast.Name):
                continue
            value = resolve(statement.value, names)
            if value is not MISSING:
                names[target.id] = value
            walk(statement.value, target.id, names, keywords)

    def plain(value):
        if isinstance(value, tuple):
            return [plain(item) for item in value]
        if isinstance(value, list):
            return [plain(item) for item in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        return repr(value)

    json.dump({"assignments": plain(names), "keywords": plain(keywords)}, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
