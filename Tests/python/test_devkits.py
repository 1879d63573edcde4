"""Our exports against the real evaluation devkits from PyPI: nuscenes-devkit 1.2.0 and OpenLane-V2 1.0.0.

They live in the venv bootstrap/install-deps makes ($PODAGENT_DEVKITS, default /opt/podagent-devkits: they
need numpy<1.24, the rest of the tests the system numpy), and run there as child processes on what the real
`podagent parse` (.build/debug/podagent, built by `make test`) and Plugins/openlane_pickle.py write.

The OpenLane-V2 rules are also checked by our own assertions, written from the devkit's check_results
(openlanev2/preprocessing/check.py at v1.0.0): header keys and types (l.43-64), ISO 3166 country (l.47-51),
at most 10 authors (l.60-61), points as numpy arrays of shape (N, 3) and (2, 2) (l.94-101), unique ids
(l.103-107), topology matrices as numpy arrays sized to the lists (l.109-125).
"""
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PODAGENT = os.path.join(ROOT, ".build", "debug", "podagent")
FIXTURES = os.path.join(ROOT, "Tests", "PluginsTests", "Fixtures")
PLUGINS = os.path.join(ROOT, "Plugins")
DEVKITS = os.environ.get("PODAGENT_DEVKITS", "/opt/podagent-devkits")
DEVKIT_PYTHON = os.path.join(DEVKITS, "bin", "python")
KEY = "val/00001/315969904949927216"
INFO = {"method": "TopoMLP (test)", "authors": ["A. Author"], "e-mail": "team@example.org",
        "institution / company": "Example University", "country / region": "Germany"}


def require_tools(case):
    if not os.access(PODAGENT, os.X_OK):
        case.fail(f"{PODAGENT} is not built: run `swift build` (make test does)")
    if not os.access(DEVKIT_PYTHON, os.X_OK):
        case.fail(f"{DEVKIT_PYTHON} is missing: run bootstrap/install-deps (make test does)")


def devkit(code, *args):
    """Runs `code` with the devkits' Python; returns its stdout, failing with its stderr."""
    done = subprocess.run([DEVKIT_PYTHON, "-c", code, *args], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"devkit script failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def podagent(*args):
    return subprocess.run([PODAGENT, *args, "--plugins-dir", PLUGINS], capture_output=True, text=True, timeout=120)


# Runs the real check_results on a pickle (with the header keys of an optional JSON file put in first); prints
# "valid", "invalid" (a key missing: check.py returns False and prints) or "raised: <message>".
CHECK = """
import json, pickle, sys, io, contextlib
from openlanev2.preprocessing import check_results
data = pickle.load(open(sys.argv[1], 'rb'))
if len(sys.argv) > 2:
    data.update(json.load(open(sys.argv[2])))
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        valid = check_results(data)
    print('valid' if valid else 'invalid')
except Exception as error:
    print('raised: ' + str(error))
"""


class DevkitCase(unittest.TestCase):
    def setUp(self):
        require_tools(self)
        self.dir = tempfile.mkdtemp(prefix="podagent-devkits-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_json(self, name, value):
        with open(self.path(name), "w") as handle:
            json.dump(value, handle)
        return self.path(name)


class NuScenesDevkitTests(DevkitCase):
    """nuscenes-devkit's own loader (nuscenes.eval.common.loaders.load_prediction with DetectionBox), which its
    DetectionEval runs first, on each model's export; extra keys such as VAD's fut_traj are tolerated."""

    def test_load_prediction_reads_each_models_export(self):
        cases = [("PETR", "petr_typical.json", False), ("StreamPETR", "streampetr_typical.json", True),
                 ("VAD", "vad_typical.json", True)]
        for model, fixture, use_external in cases:
            with self.subTest(model=model):
                out = self.path(f"{model}.json")
                done = podagent("parse", "--model", model, "--input", os.path.join(FIXTURES, fixture), "--format",
                                "nuscenes", "--calibration", os.path.join(FIXTURES, "calibration.json"), "--output", out)
                self.assertEqual(done.returncode, 0, done.stderr)
                with open(out) as handle:
                    ours = json.load(handle)
                loaded = json.loads(devkit("""
import json, sys
from nuscenes.eval.common.loaders import load_prediction
from nuscenes.eval.detection.data_classes import DetectionBox
boxes, meta = load_prediction(sys.argv[1], 500, DetectionBox)
print(json.dumps({'meta': meta, 'boxes': {t: [b.serialize() for b in boxes[t]] for t in boxes.sample_tokens}}))
""", out))
                self.assertEqual(loaded["meta"], ours["meta"])
                self.assertEqual(loaded["meta"]["use_external"], use_external)
                for key in ("use_camera", "use_lidar", "use_radar", "use_map", "use_external"):
                    self.assertIsInstance(loaded["meta"][key], bool)
                (token, entries), = ours["results"].items()
                boxes = loaded["boxes"][token]
                self.assertEqual(len(boxes), len(entries))
                for box, entry in zip(boxes, entries):
                    self.assertEqual(box["detection_name"], entry["detection_name"])
                    self.assertEqual(box["attribute_name"], entry["attribute_name"])
                    np.testing.assert_allclose(box["translation"], entry["translation"])
                    np.testing.assert_allclose(box["rotation"], entry["rotation"])
                    if model == "VAD":  # VAD's _format_bbox (nuscenes_vad_dataset.py l.1516): (6 modes, 12)
                        self.assertEqual(np.asarray(entry["fut_traj"]).shape, (6, 12))
                    else:
                        self.assertNotIn("fut_traj", entry)


class OpenLaneDevkitTests(DevkitCase):
    """OpenLane-V2 v1.0.0's check_results, which its evaluate calls first (evaluate.py l.550)."""

    def submission(self, info=None, name="sub"):
        args = ["parse", "--model", "TopoMLP", "--input", os.path.join(FIXTURES, "topomlp_typical.json"),
                "--format", "openlane", "--output", self.path(name + ".json"), "--pickle", self.path(name + ".pkl")]
        if info is not None:
            args += ["--submission-info", self.write_json(name + "-info.json", info)]
        return podagent(*args)

    def test_our_pickle_passes_check_results(self):
        done = self.submission(INFO)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(devkit(CHECK, self.path("sub.pkl")).strip(), "valid")
        # Without submission info the header is left out: check_results does not raise (evaluate goes on) but
        # says the file is not a valid leaderboard submission.
        done = self.submission(None, name="bare")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(devkit(CHECK, self.path("bare.pkl")).strip(), "invalid")

    def test_pickle_follows_the_rules(self):
        """Our reading of check.py's rules, asserted on our pickle with our own code."""
        done = self.submission(INFO)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(self.path("sub.pkl"), "rb") as handle:
            data = pickle.load(handle)
        for key in ("method", "e-mail", "institution / company", "country / region"):
            self.assertIsInstance(data[key], str)
        self.assertIsInstance(data["authors"], list)
        self.assertLessEqual(len(data["authors"]), 10)
        self.assertIsInstance(data["results"], dict)
        for token, frame in data["results"].items():
            self.assertIsInstance(token, tuple)
            self.assertEqual(len(token), 3)
            self.assertTrue(all(isinstance(part, str) for part in token))
            predictions = frame["predictions"]
            lanes, elements = predictions["lane_centerline"], predictions["traffic_element"]
            for lane in lanes:
                self.assertIsInstance(lane["points"], np.ndarray)
                self.assertEqual(lane["points"].ndim, 2)
                self.assertEqual(lane["points"].shape[1], 3)
                self.assertIn("confidence", lane)
            for element in elements:
                self.assertIsInstance(element["points"], np.ndarray)
                self.assertEqual(element["points"].shape, (2, 2))
                self.assertIn("attribute", element)
            ids = [item["id"] for item in lanes + elements]
            self.assertEqual(len(ids), len(set(ids)))
            self.assertIsInstance(predictions["topology_lclc"], np.ndarray)
            self.assertEqual(predictions["topology_lclc"].shape, (len(lanes), len(lanes)))
            self.assertIsInstance(predictions["topology_lcte"], np.ndarray)
            self.assertEqual(predictions["topology_lcte"].shape, (len(lanes), len(elements)))

    def test_submission_info_verdicts_match_check_results(self):
        """For each header, `podagent parse --submission-info` accepts it exactly when the real check_results
        finds the submission valid (no exception, returns True)."""
        def changed(**values):
            info = dict(INFO)
            for key, value in values.items():
                key = {"email": "e-mail", "institution": "institution / company", "country": "country / region"}.get(key, key)
                if value is None:
                    info.pop(key)
                else:
                    info[key] = value
            return info

        cases = [changed(country=name) for name in (
            "Germany", "germany", "DE", "de", "DEU", "276", "Taiwan", "Taiwan, Province of China", "Türkiye",
            "Côte d'Ivoire", "Naoero", "United States of America", "usa",
            "", "Narnia", "000", "999", "XX", "U.S.", "Deutschland", "United States", "Nauru", "Germany ")]
        cases += [changed(authors=[f"Author {i}" for i in range(10)]), changed(authors=[f"Author {i}" for i in range(11)]),
                  changed(authors="A. Author"), changed(method=7), changed(email=["a@b.org"]),
                  changed(country=None), changed(authors=None), changed(method=None), changed(institution=None)]
        done = self.submission(None, name="base")
        self.assertEqual(done.returncode, 0, done.stderr)
        for index, info in enumerate(cases):
            with self.subTest(info=info):
                path = self.write_json(f"info{index}.json", info)
                # The devkit's verdict on the same frames with this header.
                verdict = devkit(CHECK, self.path("base.pkl"), path).strip()
                ours = podagent("parse", "--model", "TopoMLP", "--input", os.path.join(FIXTURES, "topomlp_typical.json"),
                                "--format", "openlane", "--submission-info", path)
                self.assertEqual(ours.returncode == 0, verdict == "valid", f"devkit: {verdict}; podagent: {ours.stderr}")
                if ours.returncode != 0:
                    self.assertEqual(ours.returncode, 2)
                    self.assertRegex(ours.stderr, r"key '(method|authors|e-mail|institution / company|country / region)")

    def test_pickle_rules_refused_by_both(self):
        """A submission breaking a frame rule: openlane_pickle.py refuses it (exit 2, naming the frame and item),
        and check_results raises on the same content given as arrays."""
        done = self.submission(INFO)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(self.path("sub.json")) as handle:
            good = json.load(handle)

        def broken(change):
            value = json.loads(json.dumps(good))
            change(value["results"][KEY]["predictions"])
            return value

        def flat_lane(p):
            p["lane_centerline"][0]["points"] = [point[:2] for point in p["lane_centerline"][0]["points"]]

        def long_element(p):
            p["traffic_element"][0]["points"].append([1.0, 2.0])

        def same_id(p):
            p["traffic_element"][0]["id"] = p["lane_centerline"][0]["id"]

        def short_matrix(p):
            p["topology_lcte"] = [row[:-1] for row in p["topology_lcte"]]

        for name, change, ours_says in [("flat lane", flat_lane, "points must be (N, 3)"),
                                        ("3-point traffic element", long_element, "points must be (2, 2)"),
                                        ("shared id", same_id, "used more than once"),
                                        ("short lcte", short_matrix, "topology_lcte: expected shape")]:
            with self.subTest(rule=name):
                source = self.write_json(name.replace(" ", "_") + ".json", broken(change))
                refused = subprocess.run([sys.executable, os.path.join(PLUGINS, "openlane_pickle.py"), source,
                                          self.path("refused.pkl")], capture_output=True, text=True, timeout=60)
                self.assertEqual(refused.returncode, 2, refused.stderr)
                self.assertIn(ours_says, refused.stderr)
                self.assertFalse(os.path.exists(self.path("refused.pkl")))
                # The devkit on the same content, converted without our checks.
                verdict = devkit("""
import json, pickle, sys
import numpy as np
sub = json.load(open(sys.argv[1]))
for frame in sub['results'].values():
    p = frame['predictions']
    for item in p['lane_centerline'] + p['traffic_element']:
        item['points'] = np.array(item['points'], dtype=np.float32)
    p['topology_lclc'] = np.array(p['topology_lclc'], dtype=np.float32)
    p['topology_lcte'] = np.array(p['topology_lcte'], dtype=np.float32)
sub['results'] = {tuple(k.split('/')): v for k, v in sub['results'].items()}
pickle.dump(sub, open(sys.argv[2], 'wb'))
""", source, self.path("raw.pkl"))
                self.assertEqual(verdict, "")
                self.assertTrue(devkit(CHECK, self.path("raw.pkl")).startswith("raised: "))

    def test_iso3166_table_is_the_packages(self):
        """Sources/Plugins/Export/ISO3166.swift holds the installed iso3166's list (the package check.py uses)."""
        with open(os.path.join(ROOT, "Sources", "Plugins", "Export", "ISO3166.swift"), encoding="utf-8") as handle:
            text = handle.read()
        pattern = re.compile(r'Country\(name: "(.*?)", alpha2: "(.*?)", alpha3: "(.*?)", numeric: "(.*?)", apoliticalName: "(.*?)"\)')
        ours = [list(match) for match in pattern.findall(text)]
        theirs = json.loads(devkit("import json, iso3166; print(json.dumps([list(c) for c in iso3166.countries]))"))
        self.assertEqual(len(ours), len(theirs))
        self.assertEqual(ours, theirs)


if __name__ == "__main__":
    unittest.main()
