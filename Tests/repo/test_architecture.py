"""docs/architecture.md's module table against the code: every `import` in Sources/ (and Tests/TestProcesses)
is one the table allows for its module, every module has a row, and the modules podagent links reach Foundation
only as the fallback where FoundationEssentials does not exist (full Foundation links ICU's data: issue 17)."""
import pathlib
import re
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# What podagent links: FoundationEssentials only (bootstrap/foundation-essentials-imports rewrites imports).
ESSENTIALS_ONLY = {"AgentAPI", "Agent", "Plugins", "Compare", "PodAgentExtras", "MiniYAML", "podagent"}


def allowed_imports():
    table = {}
    for line in (ROOT / "docs/architecture.md").read_text().splitlines():
        match = re.match(r"^\| `(\w+)` \|.*\| ([^|]+) \|$", line)
        if not match:
            continue
        column = re.sub(r"\([^)]*\)", "", match.group(2))
        names = set()
        for entry in column.split(","):
            for word in re.split(r"\s+(?:or|and)\s+", entry.strip()):
                if word:
                    names.add(word.strip())
        table[match.group(1)] = names
    return table


def module_dirs():
    dirs = {path.name: path for path in (ROOT / "Sources").iterdir() if path.is_dir()}
    dirs["TestProcesses"] = ROOT / "Tests/TestProcesses"
    return dirs


def imports(path):
    lines = path.read_text().splitlines()
    found = []
    for index, line in enumerate(lines):
        match = re.match(r"^\s*(?:@\w+\s+)?(?:public |internal |private )?import (?:struct |enum |class |func )?(\w+)", line)
        if match:
            found.append((index, match.group(1), lines))
    return found


def plain_foundation(module, index, lines):
    """Whether line `index` imports Foundation where `module` may have it only as the fallback branch of
    `#if canImport(FoundationEssentials)`."""
    if module not in ESSENTIALS_ONLY:
        return False
    return not (index >= 3 and lines[index - 1].strip() == "#else"
                and lines[index - 3].strip() == "#if canImport(FoundationEssentials)")


class ArchitectureTests(unittest.TestCase):
    def test_every_import_is_allowed_by_the_table(self):
        table = allowed_imports()
        problems = []
        for module, directory in module_dirs().items():
            swift = sorted(directory.rglob("*.swift"))
            if not swift:
                continue
            self.assertIn(module, table, f"docs/architecture.md has no row for {module}")
            for path in swift:
                for index, name, lines in imports(path):
                    if module in ESSENTIALS_ONLY and name == "Foundation":
                        if plain_foundation(module, index, lines):
                            problems.append(f"{path.relative_to(ROOT)}: imports Foundation outside the FoundationEssentials fallback")
                        continue
                    if not any(name == allowed or name.startswith(allowed) for allowed in table[module]):
                        problems.append(f"{path.relative_to(ROOT)}:{index + 1}: {module} imports {name}, not in docs/architecture.md")
        self.assertEqual(problems, [], "\n".join(problems))

    def test_every_row_names_a_module(self):
        modules = set(module_dirs())
        for module in allowed_imports():
            self.assertIn(module, modules, f"docs/architecture.md lists {module}, which does not exist")

    def test_the_check_catches_a_forbidden_import(self):
        # A check that cannot fail is no check: NIO is not allowed in AgentAPI.
        table = allowed_imports()
        self.assertFalse(any("NIOCore".startswith(allowed) for allowed in table["AgentAPI"]))
        self.assertFalse(any("CLibSSH".startswith(allowed) for allowed in table["Controller"]))

    def test_the_foundation_rule_catches_a_plain_import(self):
        # A plain `import Foundation` in a module podagent links is refused; the fallback branch is not.
        self.assertTrue(plain_foundation("Agent", 0, ["import Foundation", "import Logging"]))
        fallback = ["#if canImport(FoundationEssentials)", "import FoundationEssentials", "#else", "import Foundation", "#endif"]
        self.assertFalse(plain_foundation("Agent", 3, fallback))
        self.assertFalse(plain_foundation("Controller", 0, ["import Foundation"]))

if __name__ == "__main__":
    unittest.main()
