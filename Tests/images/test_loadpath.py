"""The offline load-path check (issue 14): does each generated Dockerfile provide what loading needs?

What loading needs comes from the upstream repositories at the pinned commits, written down once
by Tests/images/loadpath/extract.py into Tests/images/loadpath/<Model>.json (each fact with the
upstream file and line it came from): the config's `_base_` chain, the third-party modules the
plugin package and the worker imports at load (followed through vendored and companion checkouts),
the compiled extensions of those checkouts, mmdet3d's asserted version ranges, and the requirements
of each tree installed in develop mode. The worker runtime's own imports are read live from
Plugins/runtime and Plugins/<Model>/worker.py.

What the image provides is read from the generated bootstrap/images/<Model>/Dockerfile itself
(dockerfile-parse): its pip pins, its checkouts (where, which repository, which commit), its develop
installs and op builds; the manifest (PyYAML) says which declared package provides which module.

No Docker and no network: nothing is built or downloaded. The checks are proved to fail: a copy of
the plugins folder with one dependency removed from a manifest is regenerated with the real
`podagent image dockerfile` and the check names what is missing.
"""

import ast
import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml
from dockerfile_parse import DockerfileParser

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLUGINS = os.path.join(ROOT, "Plugins")
IMAGES = os.path.join(ROOT, "bootstrap", "images")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loadpath")
BINARY = os.path.join(ROOT, os.environ.get("PODAGENT_BIN", os.path.join(ROOT, ".build", "debug", "podagent")))
MODELS_DIR = "/opt/models"
MODELS = ("MapTR", "PETR", "StreamPETR", "TopoMLP", "VAD")


def normalize(name):
    """pip's name normalization (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def digit_version(text):
    """mmdet3d's own comparison (its __init__.py): '1.0.0rc6' -> [1, 0, -1, 6]."""
    parts = []
    for piece in str(text).split("+")[0].split("."):
        if piece.isdigit():
            parts.append(int(piece))
        elif "rc" in piece:
            number, rc = piece.split("rc")
            parts += [int(number) - 1, int(rc)]
    return parts


class Image:
    """What a Dockerfile installs, read from its RUN instructions."""

    def __init__(self, text):
        with tempfile.TemporaryDirectory() as scratch:
            parser = DockerfileParser(path=os.path.join(scratch, "Dockerfile"))
            parser.content = text
            structure = parser.structure
        self.pins = {}  # normalized name -> (name, version)
        self.develop = []  # folders installed with pip -e
        self.checkouts = {}  # folder -> (repository, commit, verified)
        self.ops = []  # folders whose setup.py was run with install
        self.env_before = {}  # folder installed in develop mode -> ENV text seen before it
        self.python = None
        env_seen = ""
        for item in structure:
            if item["instruction"] == "ENV":
                env_seen += " " + item["value"]
            if item["instruction"] != "RUN":
                continue
            run = item["value"]
            segments = [s.strip() for s in run.split("&&")]
            init = remote = sha = None
            for segment in segments:
                words = shlex.split(segment) if "if [" not in segment else segment.split()
                if not words:
                    continue
                if words[:2] == ["git", "init"]:
                    init = words[-1]
                elif words[:4] == ["git", "remote", "add", "origin"]:
                    remote = words[4]
                elif words[:2] == ["git", "checkout"]:
                    sha = words[-1]
                elif len(words) >= 4 and words[1:4] == ["-m", "venv", words[3]] and words[0].startswith("python3"):
                    self.python = words[0][len("python"):]
                elif "pip" in words[:3] and "install" in words[:4]:
                    start = words.index("install") + 1
                    skip = False
                    for index, word in enumerate(words[start:], start):
                        if skip:
                            skip = False
                            continue
                        if word in ("-c", "-f", "--index-url", "--extra-index-url", "--find-links"):
                            skip = True
                        elif word == "-e":
                            folder = words[index + 1]
                            self.develop.append(folder)
                            self.env_before[folder] = env_seen
                            skip = True
                        elif "==" in word and not word.startswith("-"):
                            name, version = word.split("==", 1)
                            self.pins[normalize(name)] = (name, version)
                elif words[0] == "cd" and "setup.py" in run and "install" in run and "git" not in run:
                    self.ops.append(words[1])
                    self.env_before[words[1]] = env_seen
            if init and remote and sha:
                verified = f'if [ "$head" != "{sha}" ]; then' in run and f"git fetch -q --depth 1 origin {sha}" in run
                self.checkouts[init] = (remote, sha, verified)


def worker_imports(model):
    """Third-party top-level modules the worker runtime and the model's worker.py import (live, this repository)."""
    files = [os.path.join(PLUGINS, "runtime", f) for f in sorted(os.listdir(os.path.join(PLUGINS, "runtime"))) if f.endswith(".py")]
    files.append(os.path.join(PLUGINS, model, "worker.py"))
    found = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top.startswith("podagent_"):
                    continue
                found.setdefault(top, f"{os.path.relpath(path, ROOT)}:{node.lineno}")
    return found


def package_modules(package):
    return package.get("modules") or [str(package["name"]).lower().replace("-", "_")]


def problems(model, manifest, text, fixture):
    """Everything loading needs that the Dockerfile `text` does not provide; empty when it provides all."""
    found = []
    image = Image(text)
    env = manifest.get("environment") or {}
    repo_dir = f"{MODELS_DIR}/{model}"
    commit = str(manifest["upstream"]["commit"]).lower()
    recipe = f"bootstrap/images/{model}/Dockerfile"
    if fixture["commit"] != commit or fixture["repository"] != manifest["upstream"]["repository"]:
        found.append(f"{model}: the load-path fixture was read at {fixture['repository']} {fixture['commit']}, the manifest pins "
                     f"{manifest['upstream']['repository']} {commit}: rerun Tests/images/loadpath/extract.py")
    if image.python != str(env.get("python", {}).get("version")):
        found.append(f"{model}: {recipe} makes its environment with python{image.python}, the manifest says {env.get('python')}")

    def checkout_of(folder, repository, sha):
        have = image.checkouts.get(folder)
        if have is None:
            return f"no checkout at {folder}"
        if have[0] != repository or have[1] != sha:
            return f"{folder} is {have[0]} at {have[1]}, not {repository} at {sha}"
        if not have[2]:
            return f"the checkout at {folder} is not fetched by its hash and verified"
        return None

    model_checkout = checkout_of(repo_dir, manifest["upstream"]["repository"], commit)
    if model_checkout:
        found.append(f"{model}: the model's own code: {model_checkout} ({recipe})")
    trees = {t["mount"]: t for t in fixture["trees"]}

    def tree_problem(mount):
        """Why the image does not hold `mount` as the fixture read it (None when it does)."""
        if mount == "." or trees.get(mount, {}).get("vendored"):
            return model_checkout
        tree = trees[mount]
        return checkout_of(f"{repo_dir}/{mount}", tree["repository"], tree["commit"])

    # The config's _base_ chain: a file at the path the config resolves to, in the image's layout.
    for base in fixture["bases"]:
        why = tree_problem(base["tree"])
        if why:
            found.append(f"{model}: the config's _base_ {repo_dir}/{base['path']} (named at {base['referenced_by']}) is not in the image: {why}")

    # Who provides each module, according to the manifest, and whether the Dockerfile really installs it.
    def provider(module):
        for package in env.get("packages", []):
            if module in package_modules(package):
                pin = image.pins.get(normalize(package["name"]))
                if pin is None or pin[1] != str(package["version"]):
                    return None, f"declared by {package['name']}=={package['version']}, which {recipe} does not install (run make images)"
                return ("package", package), None
        for repo in env.get("repositories", []):
            if module in repo.get("modules", []):
                folder = f"{repo_dir}/{repo['path']}"
                why = checkout_of(folder, repo["repository"], str(repo["commit"]).lower())
                if why or (repo.get("develop") and folder not in image.develop):
                    return None, f"declared by the repository at {repo['path']}, which {recipe} does not check out and install ({why or 'no develop install'})"
                return ("repository", repo), None
        for folder in env.get("develop", []):
            if module in folder.get("modules", []):
                if f"{repo_dir}/{folder['path']}" not in image.develop:
                    return None, f"declared by the develop install of {folder['path']}, which {recipe} does not run"
                return ("develop", folder), None
        for op in env.get("ops", []):
            if module in op.get("modules", []):
                if f"{repo_dir}/{op['path']}" not in image.ops:
                    return None, f"declared by the op {op['path']}, which {recipe} does not build"
                return ("op", op), None
        return None, f"no package, repository, develop install or op of Plugins/{model}/plugin.yaml provides it"

    needed = [(m["module"], ", ".join(m["imported_at"])) for m in fixture["modules"] if not m["optional"]]
    needed += sorted(worker_imports(model).items())
    providers = {}
    for module, where in needed:
        if module in providers:
            continue
        source, why = provider(module)
        providers[module] = source
        if source is None:
            found.append(f"{model}: module '{module}' (imported at load by {where}) is not provided: {why}")

    # Packages the load path found in a vendored or companion tree must come from that very tree.
    for entry in fixture["tree_modules"]:
        source = providers.get(entry["module"]) or provider(entry["module"])[0]
        if source is None:
            if entry["module"] not in providers:
                found.append(f"{model}: module '{entry['module']}' (imported at load by {', '.join(entry['imported_at'])}) is not provided: "
                             f"it is the code of {entry['tree']}, which Plugins/{model}/plugin.yaml does not install")
            continue
        kind, declared = source
        why = tree_problem(entry["tree"])
        if kind not in ("repository", "develop") or declared["path"] != entry["tree"] or why:
            found.append(f"{model}: module '{entry['module']}' must come from {entry['tree']} as the load path was read "
                         f"({trees.get(entry['tree'], {}).get('cite', 'the repository itself')}); the image has it from "
                         f"{kind} {declared.get('name') or declared.get('path')}" + (f" ({why})" if why else ""))

    # Compiled extensions of a tree exist only when that tree is built (develop install with FORCE_CUDA=1).
    for extension in fixture["extensions"]:
        folder = f"{repo_dir}/{extension['tree']}"
        if folder not in image.develop:
            found.append(f"{model}: extension {extension['module']} (imported at {extension['imported_at'][0]}) is built only by a develop install of {folder}, which {recipe} does not run")
        elif "FORCE_CUDA=1" not in image.env_before.get(folder, ""):
            found.append(f"{model}: {folder} is built without FORCE_CUDA=1: with no GPU at build time its CUDA extensions ({extension['module']}) are skipped")

    # mmdet3d asserts the versions of mmcv, mmdet and mmseg at import.
    for rule in fixture["version_asserts"]:
        source = providers.get(rule["module"]) or provider(rule["module"])[0]
        if source is None:
            continue  # already reported as missing
        kind, entry = source
        version = entry.get("version")
        if version is None:
            continue
        low, high = digit_version(rule["minimum"]), digit_version(rule["maximum"]) if rule["maximum"] else None
        if digit_version(version) < low or (high is not None and digit_version(version) > high):
            found.append(f"{model}: {rule['module']} {version} is outside {rule['minimum']}..{rule['maximum']}, "
                         f"which {rule['asserted_at']} asserts at import")

    # A tree installed in develop mode without its deps needs its requirements listed and installed.
    declared = {normalize(p["name"]) for p in env.get("packages", [])}
    for requirement in fixture["develop_requirements"]:
        for name in requirement["names"]:
            if normalize(name) not in declared or normalize(name) not in image.pins:
                found.append(f"{model}: {name} ({requirement['file']}, a requirement of the develop install of "
                             f"{requirement['tree']}) is not a declared package that {recipe} installs")
    return found


def load_manifest(plugins, model):
    with open(os.path.join(plugins, model, "plugin.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_fixture(model):
    with open(os.path.join(FIXTURES, f"{model}.json"), encoding="utf-8") as handle:
        return json.load(handle)


class LoadPathFixtures(unittest.TestCase):
    def test_fixtures_hold_the_upstream_facts(self):
        for model in MODELS:
            with self.subTest(model=model):
                fixture = load_fixture(model)
                self.assertGreater(fixture["source_files_read"], 30)
                modules = {m["module"] for m in fixture["modules"] if not m["optional"]}
                self.assertTrue({"torch", "mmcv", "mmdet", "mmseg", "numpy"} <= modules, modules)
                for entry in fixture["modules"]:
                    self.assertTrue(entry["imported_at"] and all(re.search(r"\.py:\d+$", p) for p in entry["imported_at"]), entry)
        # The facts of issue 14, as the extractor read them from the upstream trees.
        petr = load_fixture("PETR")
        self.assertEqual([b["path"] for b in petr["bases"]],
                         ["mmdetection3d/configs/_base_/datasets/nus-3d.py", "mmdetection3d/configs/_base_/default_runtime.py"])
        self.assertEqual({m["module"]: m["imported_at"][0] for m in petr["modules"]}["einops"],
                         "projects/mmdet3d_plugin/datasets/pipelines/loading.py:7")
        maptr = {m["module"]: m for m in load_fixture("MapTR")["modules"]}
        self.assertIn("GeometricKernelAttention", maptr)
        self.assertIn("projects/mmdet3d_plugin/datasets/av2_map_dataset.py:27", maptr["av2"]["imported_at"])
        self.assertIn("mmdet3d.ops.bev_pool.bev_pool_ext", {e["module"] for e in load_fixture("MapTR")["extensions"]})
        stream = {m["module"]: m for m in load_fixture("StreamPETR")["modules"]}
        self.assertEqual(stream["flash_attn"]["imported_at"][0], "projects/mmdet3d_plugin/models/utils/attention.py:21")
        topo = load_fixture("TopoMLP")
        self.assertEqual({m["module"]: m["tree"] for m in topo["tree_modules"]}, {"mmdet3d": "mmdetection3d", "openlanev2": "OpenLane-V2"})
        self.assertIn("projects/topomlp/datasets/pipelines/transforms.py:35",
                      {m["module"]: m for m in topo["tree_modules"]}["openlanev2"]["imported_at"])
        self.assertTrue({"ortools", "iso3166", "similaritymeasures", "flash_attn"} <= {m["module"] for m in topo["modules"]})


class GeneratedRecipesProvideTheLoadPath(unittest.TestCase):
    def test_each_generated_dockerfile_provides_every_base_and_module(self):
        for model in MODELS:
            with self.subTest(model=model):
                with open(os.path.join(IMAGES, model, "Dockerfile"), encoding="utf-8") as handle:
                    text = handle.read()
                self.assertEqual(problems(model, load_manifest(PLUGINS, model), text, load_fixture(model)), [])

    def test_each_manifest_entry_cites_its_upstream_source(self):
        for model in MODELS:
            env = load_manifest(PLUGINS, model)["environment"]
            entries = [env["python"], env["cuda_architectures"]] + env.get("system_packages", []) + env.get("build_tools", []) \
                + env["packages"] + env.get("repositories", []) + env.get("develop", []) + env.get("ops", [])
            for entry in entries:
                with self.subTest(model=model, entry=entry.get("name") or entry.get("path") or entry.get("version")):
                    self.assertGreater(len(str(entry.get("cite", ""))), 8, entry)
            for repo in env.get("repositories", []):
                self.assertRegex(str(repo["commit"]), r"^[0-9a-f]{40}$")


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"{BINARY} is not built (swift build --product podagent)")
class RemovingADependencyIsNamed(unittest.TestCase):
    """A copy of the plugins folder with one manifest edited, regenerated with the real generator."""

    def regenerate(self, model, edit):
        scratch = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, scratch)
        plugins = os.path.join(scratch, "Plugins")
        shutil.copytree(PLUGINS, plugins)
        manifest = load_manifest(plugins, model)
        edited = copy.deepcopy(manifest)
        edit(edited)
        self.assertNotEqual(edited, manifest, "the edit applies")
        with open(os.path.join(plugins, model, "plugin.yaml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(edited, handle, sort_keys=False)
        out = os.path.join(scratch, "Dockerfile")
        result = subprocess.run([BINARY, "image", "dockerfile", "--model", model, "--out", out, "--plugins-dir", plugins],
                                capture_output=True, text=True, timeout=60, cwd=ROOT)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out, encoding="utf-8") as handle:
            return problems(model, edited, handle.read(), load_fixture(model))

    @staticmethod
    def drop_package(name):
        def edit(manifest):
            manifest["environment"]["packages"] = [p for p in manifest["environment"]["packages"] if p["name"] != name]
        return edit

    def assertNamed(self, found, *parts):
        self.assertTrue(any(all(part in line for part in parts) for line in found), f"no problem names {parts}: {found}")

    def test_a_missing_package_is_named_with_the_line_that_imports_it(self):
        found = self.regenerate("PETR", self.drop_package("einops"))
        self.assertNamed(found, "module 'einops'", "projects/mmdet3d_plugin/datasets/pipelines/loading.py:7", "no package")

    def test_mmsegmentation_is_needed_because_mmdet3d_imports_it(self):
        found = self.regenerate("StreamPETR", self.drop_package("mmsegmentation"))
        self.assertNamed(found, "module 'mmseg'", "mmdetection3d/mmdet3d/__init__.py:5")

    def test_a_missing_companion_checkout_breaks_the_base_chain(self):
        def edit(manifest):
            manifest["environment"]["repositories"] = []
            del manifest["versions"]["mmdet3d"]
        found = self.regenerate("PETR", edit)
        self.assertNamed(found, "_base_ /opt/models/PETR/mmdetection3d/configs/_base_/datasets/nus-3d.py", "no checkout at /opt/models/PETR/mmdetection3d")
        self.assertNamed(found, "module 'mmdet3d'")
        self.assertNamed(found, "extension mmdet3d.ops.iou3d.iou3d_cuda")

    def test_a_companion_at_another_commit_is_not_the_one_the_facts_were_read_from(self):
        v0172 = "99ad831a8b04a7f5622c366d8e60745f92a62008"  # open-mmlab/mmdetection3d v0.17.2

        def edit(manifest):
            manifest["environment"]["repositories"][0]["commit"] = v0172
        found = self.regenerate("PETR", edit)
        self.assertNamed(found, "nus-3d.py", f"at {v0172}, not https://github.com/open-mmlab/mmdetection3d at f1107977dfd26155fc1f83779ee6535d2468f449")

    def test_a_missing_op_build_is_named(self):
        def edit(manifest):
            manifest["environment"]["ops"] = []
        found = self.regenerate("MapTR", edit)
        self.assertNamed(found, "module 'GeometricKernelAttention'", "geometric_kernel_attn_func.py:10")

    def test_stock_mmdet3d_instead_of_maptrs_vendored_copy_is_named(self):
        def edit(manifest):
            manifest["environment"]["develop"] = []
            manifest["environment"]["packages"].append({"name": "mmdet3d", "version": "0.17.2", "cite": "a mistake"})
        found = self.regenerate("MapTR", edit)
        self.assertNamed(found, "module 'mmdet3d' must come from mmdetection3d", "the image has it from package mmdet3d")
        self.assertNamed(found, "extension mmdet3d.ops.bev_pool.bev_pool_ext", "develop install of /opt/models/MapTR/mmdetection3d")

    def test_a_missing_develop_requirement_is_named(self):
        found = self.regenerate("VAD", self.drop_package("plyfile"))
        self.assertNamed(found, "plyfile", "mmdetection3d/requirements/runtime.txt")

    def test_a_missing_devkit_is_named(self):
        def edit(manifest):
            manifest["environment"]["repositories"] = [r for r in manifest["environment"]["repositories"] if r["path"] != "OpenLane-V2"]
        found = self.regenerate("TopoMLP", edit)
        self.assertNamed(found, "module 'openlanev2'", "projects/topomlp/datasets/")

    def test_a_version_outside_what_mmdet3d_asserts_is_named(self):
        def edit(manifest):
            manifest["versions"]["mmcv"] = "1.6.0"
            next(p for p in manifest["environment"]["packages"] if p["name"] == "mmcv-full")["version"] = "1.6.0"
        found = self.regenerate("PETR", edit)
        self.assertNamed(found, "mmcv 1.6.0 is outside 1.3.8..1.4.0", "mmdetection3d/mmdet3d/__init__.py")

    def test_the_worker_runtimes_own_imports_count(self):
        found = self.regenerate("VAD", self.drop_package("numpy"))
        self.assertNamed(found, "module 'numpy'")
        self.assertNamed(found, "numpy (mmdetection3d/requirements/runtime.txt")


if __name__ == "__main__":
    unittest.main()
