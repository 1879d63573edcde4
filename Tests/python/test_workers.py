"""The real workers (Plugins/<Model>/worker.py) and the shared runtime, run as real subprocesses
speaking the protocol, against STAND-IN torch/mmcv/mmdet3d and stand-in upstream checkouts:
there are no model weights and no GPU here (names say `standin`).

Run: python3 -m unittest discover -s Tests/python -v   (or `make test-python`)
"""
import json
import math
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import unittest

from workerharness import CHECKOUTS, CONFIGS, ROOT, RUNTIME, WorkerProcess, make_sample

MODELS = ("PETR", "StreamPETR", "MapTR", "VAD", "TopoMLP")
FIXTURES = os.path.join(ROOT, "Tests", "PluginsTests", "Fixtures")
PODAGENT = os.path.join(ROOT, ".build", "debug", "podagent")

# What the Swift parsers read (Sources/Plugins/Models/*.swift, shared/specs/model-outputs.md);
# None: any size on that axis.
EXPECTED = {
    "PETR": {"pts_bbox": {"boxes_3d": (None, 9), "scores_3d": (None,), "labels_3d": (None,)}},
    "StreamPETR": {"pts_bbox": {"boxes_3d": (None, 9), "scores_3d": (None,), "labels_3d": (None,)}},
    "MapTR": {"pts_bbox": {"boxes_3d": (None, 4), "scores_3d": (None,), "labels_3d": (None,), "pts_3d": (None, 20, 2)}},
    "VAD": {"pts_bbox": {
        "boxes_3d": (None, 9), "scores_3d": (None,), "labels_3d": (None,), "trajs_3d": (None, 6, 12),
        "map_boxes_3d": (None, 4), "map_scores_3d": (None,), "map_labels_3d": (None,), "map_pts_3d": (None, 20, 2),
        "ego_fut_preds": (3, 6, 2), "ego_fut_cmd": (1, 1, 1, 3)}, "metric_results": dict},
    "TopoMLP": {"pred_lc": [(300, 12), (300, 1)], "pred_te": [(100, 5), (100,)],
                "pred_topology_lclc": (300, 300), "pred_topology_lcte": (300, 100)},
}
PARSER = {"PETR": "petr", "StreamPETR": "streampetr", "MapTR": "maptr", "VAD": "vad", "TopoMLP": "topomlp"}


def shape_of(value):
    if isinstance(value, list):
        inner = {shape_of(v) for v in value} if value else {()}
        assert len(inner) == 1, "ragged list"
        return (len(value),) + inner.pop()
    return ()


def check_shapes(test, expected, actual, path):
    if expected is dict:
        test.assertIsInstance(actual, dict, path)
    elif isinstance(expected, dict):
        test.assertIsInstance(actual, dict, path)
        test.assertEqual(set(expected), set(actual), f"{path}: keys")
        for key, sub in expected.items():
            check_shapes(test, sub, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        test.assertEqual(len(expected), len(actual), f"{path}: pair")
        for index, sub in enumerate(expected):
            check_shapes(test, sub, actual[index], f"{path}[{index}]")
    else:
        shape = shape_of(actual)
        test.assertEqual(len(expected), len(shape), f"{path}: rank of {shape}")
        for want, got in zip(expected, shape):
            if want is not None:
                test.assertEqual(want, got, f"{path}: shape {shape}")


def key_tree(value):
    if isinstance(value, dict):
        return {k: key_tree(v) for k, v in value.items() if k not in ("sample_token", "sample_id", "metric_results")}
    return None


def run_parser(model, raw, folder):
    """The real Swift parser on the worker's raw output (`podagent parse`), when built."""
    path = os.path.join(folder, "raw.json")
    with open(path, "w") as handle:
        json.dump(raw, handle)
    env = dict(os.environ, PODAGENT_PLUGINS_DIR=os.path.join(ROOT, "Plugins"))
    return subprocess.run([PODAGENT, "parse", "--model", model, "--input", path], capture_output=True, text=True,
                          env=env, timeout=120)


class RuntimeConversionTests(unittest.TestCase):
    """to_jsonable in-process (no torch needed: duck-typed tensors and numpy)."""

    def setUp(self):
        sys.path.insert(0, RUNTIME)
        import podagent_worker
        self.runtime = podagent_worker

    def test_nan_and_inf_become_null_keys_kept_tuples_lists(self):
        import numpy as np

        class TensorLike:  # what torch.Tensor offers the converter: detach/cpu/tolist
            def __init__(self, array):
                self.array = np.asarray(array)
                self.moved = False

            def detach(self):
                return self

            def cpu(self):
                self.moved = True
                return self

            def tolist(self):
                assert self.moved, "must be moved to the CPU before tolist()"
                return self.array.tolist()

        class Boxes:  # mmdet3d box structures keep their tensor in .tensor
            box_dim = 9

            def __init__(self, tensor):
                self.tensor = tensor

        value = {"pts_bbox": {
            "boxes_3d": Boxes(TensorLike([[1.0, float("nan")] + [0.0] * 7])),
            "scores_3d": np.array([0.5, np.nan, np.inf], dtype=np.float32),
            "labels_3d": np.array([1, 2, 3], dtype=np.int64)},
            "pair": (np.zeros((2, 1)), np.float32(-np.inf)), 7: "int key", "plain": [1.5, float("nan"), True, None]}
        converted = self.runtime.to_jsonable(value)
        self.assertEqual(converted["pts_bbox"]["boxes_3d"], [[1.0, None] + [0.0] * 7])
        self.assertEqual(converted["pts_bbox"]["scores_3d"], [0.5, None, None])
        self.assertEqual(converted["pts_bbox"]["labels_3d"], [1, 2, 3])
        self.assertEqual(converted["pair"], [[[0.0], [0.0]], None])
        self.assertEqual(converted["7"], "int key")
        self.assertEqual(converted["plain"], [1.5, None, True, None])
        json.dumps(converted, allow_nan=False)  # strict JSON

    def test_unconvertible_value_names_its_place(self):
        with self.assertRaises(TypeError) as caught:
            self.runtime.to_jsonable({"pts_bbox": {"odd": object()}})
        self.assertIn("raw.pts_bbox.odd", str(caught.exception))

    def test_cyclic_output_is_an_error_not_a_hang(self):
        # send() skips json's cycle check because every answer is a fresh tree from to_jsonable,
        # which must therefore refuse a cyclic output itself.
        looped = [1.0]
        looped.append(looped)
        with self.assertRaises(RecursionError):
            self.runtime.to_jsonable({"pts_bbox": {"scores_3d": looped}})

    def test_oom_detection(self):
        self.assertTrue(self.runtime.is_oom(RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB")))
        self.assertTrue(self.runtime.is_oom(MemoryError()))
        self.assertFalse(self.runtime.is_oom(RuntimeError("shape mismatch")))
        self.assertFalse(self.runtime.is_oom(ValueError("out of memory")))

    def test_runtime_imports_neither_torch_nor_numpy(self):
        code = ("import sys, podagent_worker, podagent_mmdet; "
                "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules)")
        done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=RUNTIME),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)


class StandinWorkerCase(unittest.TestCase):
    def start(self, model, **kwargs):
        worker = WorkerProcess(model, **kwargs)
        self.addCleanup(worker.close)
        return worker

    def ready(self, model, **kwargs):
        worker = self.start(model, **kwargs)
        message = worker.recv()
        self.assertEqual(message["type"], "ready", message)
        return worker, message


class EachModelWithStandins(StandinWorkerCase):
    """Every worker: load, one sample through the config's test pipeline, the raw output's
    structure, cleanup, reset, shutdown; stdout carries protocol messages only."""

    def check_model(self, model):
        worker, ready = self.ready(model)
        self.assertEqual(ready["protocol"], 1)
        self.assertEqual(ready["gpu_memory_mib"], 512.0)  # the stand-in allocator after load
        self.assertIsInstance(ready["pid"], int)

        # Loading: config, checkpoint and device from the environment; plugin imported as upstream does.
        loads = worker.events("mmdet3d.apis.init_model")
        self.assertEqual(len(loads), 1)
        self.assertEqual(loads[0]["checkpoint"], worker.checkpoint)
        self.assertEqual(loads[0]["device"], "cuda:0")
        self.assertEqual(loads[0]["config"], worker.config)
        plugin = "projects.topomlp" if model == "TopoMLP" else "projects.mmdet3d_plugin"
        self.assertEqual([e["module"] for e in worker.events("plugin.imported")], [plugin])
        if model == "TopoMLP":
            self.assertEqual([e["module"] for e in worker.events("mmcv.custom_imports")], ["projects.topomlp"])
        self.assertEqual(len(worker.events("mmcv.runner.wrap_fp16_model")), 1 if model == "MapTR" else 0)

        # The pipeline is the config's test pipeline, in its order.
        config = runpy.run_path(os.path.join(CHECKOUTS, model, CONFIGS[model]))
        composed = worker.events("pipeline.Compose")
        self.assertEqual(composed[0]["transforms"], [t["type"] for t in config["data"]["test"]["pipeline"]])

        sample = make_sample(model, worker.dir)
        answer = worker.infer(sample, request_id="req-1")
        self.assertEqual(answer["type"], "result", answer)
        self.assertEqual(answer["id"], "req-1")
        self.assertGreaterEqual(answer["timings"]["inference_s"], 0.0)
        # Caches freed after the request: reserved back to what tensors hold.
        self.assertEqual(answer["gpu_memory_mib"], 512.0)
        self.assertGreaterEqual(len(worker.events("torch.cuda.empty_cache")), 1)

        forward = worker.events("model.forward")
        self.assertEqual(len(forward), 1)
        self.assertTrue(forward[0]["rescale"])
        self.assertIn("img", forward[0]["keys"])
        # StreamPETR's config collects no sample_idx into the meta.
        self.assertEqual(forward[0]["sample_idx"], None if model == "StreamPETR" else "sample-1")
        self.assertEqual(worker.events("mmcv.parallel.scatter")[0]["target_gpus"], [0])
        applied = [e["transform"] for e in worker.events("pipeline")]
        self.assertEqual(applied[0], config["data"]["test"]["pipeline"][0]["type"])

        raw = answer["raw"]
        self.assertIsInstance(raw, list)
        self.assertEqual(len(raw), 1)
        check_shapes(self, EXPECTED[model], raw[0], "raw[0]")
        with open(os.path.join(FIXTURES, f"{PARSER[model]}_typical.json")) as handle:
            fixture = json.load(handle)
        self.assertEqual(key_tree(fixture), key_tree(raw[0]), "keys differ from the Swift parser's fixture")
        self.parse_with_swift(model, raw, worker.dir)

        cleaned = worker.request({"type": "cleanup"})
        self.assertEqual(cleaned, {"type": "cleaned", "gpu_memory_mib": 512.0})
        self.assertEqual(worker.request({"type": "reset"}), {"type": "reset_done"})
        bye, code = worker.shutdown()
        self.assertEqual(bye, {"type": "bye"})
        self.assertEqual(code, 0)
        # The model's print() and fd-1 write went to stderr, never onto the protocol stream.
        stderr = worker.stderr_text()
        self.assertIn("a print() inside the model", stderr)
        self.assertIn("a C-level write to fd 1", stderr)

    def parse_with_swift(self, model, raw, folder):
        if not os.path.exists(PODAGENT):
            print(f"\n  [{model}] .build/debug/podagent not built: checked the raw against the parser's fixture keys "
                  "and shapes only (make test builds it first)", file=sys.stderr)
            return
        done = run_parser(model, raw, folder)
        self.assertEqual(done.returncode, 0, f"podagent parse --model {model}: {done.stderr}")
        result = json.loads(done.stdout)
        self.assertEqual(result["meta"]["model"], model)
        if model == "TopoMLP":
            self.assertTrue(result.get("lane_centerlines"), result.keys())
        elif model == "MapTR":
            self.assertTrue(result.get("map_elements"), result.keys())
        else:
            self.assertTrue(result.get("detections"), result.keys())
        if model == "VAD":
            self.assertEqual(result["ego_plan"]["command"], "go_straight")

    def test_petr_standin(self):
        self.check_model("PETR")

    def test_streampetr_standin(self):
        self.check_model("StreamPETR")

    def test_maptr_standin(self):
        self.check_model("MapTR")

    def test_vad_standin(self):
        self.check_model("VAD")

    def test_topomlp_standin(self):
        self.check_model("TopoMLP")


class InputsWithStandins(StandinWorkerCase):
    """What the workers build from the sample description (docs/inputs.md)."""

    def test_streampetr_input_dict_geometry_standin(self):
        worker, _ = self.ready("StreamPETR")
        sample = make_sample("StreamPETR", worker.dir, timestamp=12.25)
        sample["img_timestamp"] = [12.2, 12.21, 12.22, 12.23, 12.24, 12.25]
        self.assertEqual(worker.infer(sample)["type"], "result")
        frame = worker.events("streampetr.frame")[0]
        self.assertEqual(frame["timestamp"], 12.25)
        self.assertEqual(frame["scene_token"], "scene-0001")

    def test_maptr_can_bus_from_pose_standin(self):
        worker, _ = self.ready("MapTR")
        sample = make_sample("MapTR", worker.dir)
        self.assertEqual(worker.infer(sample)["type"], "result")
        can_bus = worker.events("bev.frame")[0]["can_bus"]
        # As the dataset: position and orientation from ego2global, yaw (rad, deg) last; CAN values kept.
        self.assertEqual(can_bus[:3], sample["ego2global_translation"])
        self.assertAlmostEqual(can_bus[3], sample["ego2global_rotation"][0])
        self.assertAlmostEqual(can_bus[-2], 2.0, places=6)
        self.assertAlmostEqual(can_bus[-1], math.degrees(2.0), places=4)
        self.assertEqual(can_bus[7:16], sample["can_bus"][7:16])

    def test_vad_command_and_annotations_standin(self):
        worker, _ = self.ready("VAD")
        sample = make_sample("VAD", worker.dir)
        sample["ego_fut_cmd"] = [1, 0, 0]
        answer = worker.infer(sample)
        self.assertEqual(answer["type"], "result", answer)
        self.assertEqual(worker.events("vad.command")[0]["ego_fut_cmd"], [1.0, 0.0, 0.0])
        self.assertEqual(answer["raw"][0]["pts_bbox"]["ego_fut_cmd"], [[[[1.0, 0.0, 0.0]]]])
        applied = [e["transform"] for e in worker.events("pipeline")]
        self.assertIn("LoadPointsFromFile", applied)
        self.assertIn("LoadAnnotations3D", applied)
        sample.update(ego_fut_cmd="reverse", timestamp=sample["timestamp"] + 0.5)
        bad = worker.infer(sample, request_id="r2")
        self.assertEqual(bad["kind"], "bad_input")
        self.assertIn("inputs.ego_fut_cmd", bad["message"])

    def test_bad_inputs_name_the_key_standin(self):
        worker, _ = self.ready("PETR")
        sample = make_sample("PETR", worker.dir)
        cases = [
            ({k: v for k, v in sample.items() if k != "img_paths"}, "inputs.img_paths"),
            (dict(sample, img_paths=sample["img_paths"][:5]), "expected 6 file paths"),
            (dict(sample, img_paths=sample["img_paths"][:5] + ["/nonexistent/cam.jpg"]), "inputs.img_paths[5]: no such file: /nonexistent/cam.jpg"),
            (dict(sample, img_paths=sample["img_paths"][:5] + ["cam.jpg"]), "expected an absolute path"),
            (dict(sample, lidar_path="/nonexistent/lidar.bin"), "inputs.lidar_path: no such file"),
            (dict(sample, cam_intrinsic=[[1, 0, 0], [0, 1, 0], [0, 0, 1]]), "inputs.cam_intrinsic: expected shape (6, 3, 3)"),
            (dict(sample, sensor2lidar_translation=[[0.0, float("nan"), 0.0]] * 6), "non-finite"),
        ]
        for index, (inputs, needle) in enumerate(cases):
            answer = worker.infer(inputs, request_id=f"bad-{index}")
            self.assertEqual(answer["type"], "error", answer)
            self.assertEqual(answer["kind"], "bad_input", answer)
            self.assertIn(needle, answer["message"])
        self.assertEqual(worker.infer(sample)["type"], "result")  # still serving
        self.assertEqual(len(worker.events("model.forward")), 1)

    def test_nan_score_reaches_the_parser_as_null_standin(self):
        worker, _ = self.ready("PETR")
        answer = worker.infer(make_sample("PETR", worker.dir, sample_id="nan"))
        self.assertEqual(answer["type"], "result", answer)
        self.assertIsNone(answer["raw"][0]["pts_bbox"]["scores_3d"][1])
        if os.path.exists(PODAGENT):
            done = run_parser("PETR", answer["raw"], worker.dir)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertTrue(any("non-finite" in w for w in json.loads(done.stdout)["meta"]["warnings"]))


class SceneOrderWithStandins(StandinWorkerCase):
    """StreamPETR keeps the frames of a scene in order and resets its memory on a new scene."""

    def frame(self, worker, scene, timestamp, request_id, options=None, sample_id=None):
        sample = make_sample("StreamPETR", worker.dir, scene=scene, timestamp=timestamp,
                             sample_id=sample_id or f"{scene}-{timestamp}")
        return worker.infer(sample, options=options, request_id=request_id)

    def frames(self, worker):
        return [(f["scene_token"], f["timestamp"], f["prev_exists"]) for f in worker.events("streampetr.frame")]

    def test_streampetr_scene_order_and_reset_standin(self):
        worker, _ = self.ready("StreamPETR")
        self.assertEqual(self.frame(worker, "A", 1.0, "1")["type"], "result")
        self.assertEqual(self.frame(worker, "A", 1.5, "2")["type"], "result")
        late = self.frame(worker, "A", 1.2, "3")  # out of order inside scene A
        self.assertEqual(late["kind"], "bad_input")
        self.assertIn("time order", late["message"])
        self.assertIn("1.5", late["message"])
        same = self.frame(worker, "A", 1.5, "4")  # a repeated timestamp is out of order too
        self.assertEqual(same["kind"], "bad_input")
        self.assertEqual(self.frame(worker, "A", 2.0, "5")["type"], "result")  # scene A goes on
        self.assertEqual(self.frame(worker, "B", 0.5, "6")["type"], "result")  # new scene: earlier time is fine
        self.assertEqual(worker.request({"type": "reset"}), {"type": "reset_done"})
        self.assertEqual(self.frame(worker, "B", 1.0, "7")["type"], "result")
        self.assertEqual(self.frame(worker, "B", 0.1, "8", options={"new_scene": True})["type"], "result")
        self.assertEqual(self.frames(worker), [
            ("A", 1.0, False), ("A", 1.5, True), ("A", 2.0, True),
            ("B", 0.5, False), ("B", 1.0, False), ("B", 0.1, False)])
        # Memory reset: on the first frame, scene B, after reset (twice: by the worker and the model), new_scene.
        self.assertGreaterEqual(len(worker.events("head.reset_memory")), 4)

    def test_failed_frame_restarts_the_scene_standin(self):
        worker, _ = self.ready("StreamPETR")
        self.assertEqual(self.frame(worker, "A", 1.0, "1")["type"], "result")
        worker.fail_next("model-error")
        failed = self.frame(worker, "A", 2.0, "2")
        self.assertEqual(failed["kind"], "model_error")
        self.assertEqual(self.frame(worker, "A", 1.5, "3")["type"], "result")  # the scene starts again
        self.assertEqual(self.frames(worker)[-1], ("A", 1.5, False))

    def test_maptr_is_not_temporal_frames_in_any_order_standin(self):
        """MapTR's configs set video_test_mode=False (maptr_tiny_r50_24e.py l.55), so its forward_test drops
        prev_bev every frame (maptr/detectors/maptr.py l.300-302): no order to keep, nothing refused."""
        worker, _ = self.ready("MapTR")
        frames = [("A", 1.5), ("A", 1.0), ("A", 1.0), ("B", 0.2), ("A", 0.5)]
        for index, (scene, timestamp) in enumerate(frames):
            sample = make_sample("MapTR", worker.dir, scene=scene, timestamp=timestamp, sample_id=f"s{index}")
            answer = worker.infer(sample, request_id=str(index))
            self.assertEqual(answer["type"], "result", answer)
        used = [(e["scene_token"], e["used_prev_bev"]) for e in worker.events("bev.frame")]
        self.assertEqual(used, [(scene, False) for scene, _ in frames])

    def test_maptr_with_video_test_mode_keeps_scene_order_standin(self):
        """A MapTR config that sets video_test_mode=True does use the previous BEV: then the scene-order rules apply."""
        checkout = os.path.join(CHECKOUTS, "MapTR")
        with open(os.path.join(checkout, CONFIGS["MapTR"])) as handle:
            text = handle.read().replace("video_test_mode=False", "video_test_mode=True")
        self.assertIn("video_test_mode=True", text)
        folder = tempfile.mkdtemp(prefix="podagent-maptr-config-")
        self.addCleanup(shutil.rmtree, folder, True)
        config = os.path.join(folder, "maptr_temporal.py")
        with open(config, "w") as handle:
            handle.write(text)
        worker, _ = self.ready("MapTR", env={"PODAGENT_MODEL_CONFIG": config}, options={"repo_root": checkout})
        for index, (scene, timestamp) in enumerate([("A", 1.0), ("A", 1.5), ("B", 0.2)]):
            sample = make_sample("MapTR", worker.dir, scene=scene, timestamp=timestamp, sample_id=f"s{index}")
            self.assertEqual(worker.infer(sample, request_id=str(index))["type"], "result")
        late = worker.infer(make_sample("MapTR", worker.dir, scene="B", timestamp=0.1, sample_id="s9"), request_id="9")
        self.assertEqual(late["kind"], "bad_input")
        used = [(e["scene_token"], e["used_prev_bev"]) for e in worker.events("bev.frame")]
        self.assertEqual(used, [("A", False), ("A", True), ("B", False)])

    def test_vad_is_temporal_by_its_config_standin(self):
        """VAD_base_stage_2.py l.50 sets video_test_mode=True: frames of a scene in time order."""
        worker, _ = self.ready("VAD")
        first = worker.infer(make_sample("VAD", worker.dir, scene="A", timestamp=2.0, sample_id="v1"), request_id="1")
        self.assertEqual(first["type"], "result", first)
        late = worker.infer(make_sample("VAD", worker.dir, scene="A", timestamp=1.0, sample_id="v2"), request_id="2")
        self.assertEqual(late["kind"], "bad_input")
        self.assertIn("time order", late["message"])


class FailuresWithStandins(StandinWorkerCase):
    def test_oom_kinds_and_caches_freed_standin(self):
        worker, _ = self.ready("PETR")
        for sample_id in ("oom", "oom-new"):
            before = len(worker.events("torch.cuda.empty_cache"))
            answer = worker.infer(make_sample("PETR", worker.dir, sample_id=sample_id), request_id=sample_id)
            self.assertEqual(answer["type"], "error")
            self.assertEqual(answer["kind"], "oom", answer)
            self.assertIn("CUDA out of memory", answer["message"])
            self.assertIn("Traceback", answer["traceback"])
            self.assertGreater(len(worker.events("torch.cuda.empty_cache")), before)
            self.assertEqual(answer["gpu_memory_mib"], 512.0)
        error = worker.infer(make_sample("PETR", worker.dir, sample_id="model-error"), request_id="e")
        self.assertEqual(error["kind"], "model_error")
        self.assertIn("ValueError: stand-in model failure", error["message"])
        self.assertEqual(worker.infer(make_sample("PETR", worker.dir))["type"], "result")  # still serving

    def test_missing_checkpoint_is_fatal_standin(self):
        worker = self.start("PETR", checkpoint=False)
        message = worker.recv()
        self.assertEqual(message["type"], "fatal")
        self.assertEqual(message["kind"], "load_failed")
        self.assertIn("weights.pth does not exist", message["message"])
        self.assertEqual(worker.process.wait(timeout=30), 3)

    def test_cpu_device_without_cuda_standin(self):
        worker, ready = self.ready("PETR", device="cpu", env={"STANDIN_CUDA": "0"})
        self.assertIsNone(ready["gpu_memory_mib"])
        self.assertEqual(worker.events("mmdet3d.apis.init_model")[0]["device"], "cpu")
        answer = worker.infer(make_sample("PETR", worker.dir))
        self.assertEqual(answer["type"], "result", answer)
        self.assertEqual(worker.events("mmcv.parallel.scatter"), [])  # the CPU path unwraps instead
        self.assertEqual(worker.events("torch.cuda.empty_cache"), [])

    def test_protocol_errors_keep_the_worker_alive_standin(self):
        worker, _ = self.ready("TopoMLP")
        worker.send(b"this is not json\n")
        self.assertEqual(worker.recv()["kind"], "protocol")
        self.assertEqual(worker.request({"type": "dance", "id": "x"})["kind"], "protocol")
        answer = worker.request({"type": "infer", "id": "y", "inputs": [1, 2]})
        self.assertEqual((answer["id"], answer["kind"]), ("y", "bad_input"))
        self.assertEqual(worker.infer(make_sample("TopoMLP", worker.dir), request_id="z")["type"], "result")
        worker.process.stdin.close()  # EOF ends the worker cleanly
        self.assertEqual(worker.process.wait(timeout=30), 0)


if __name__ == "__main__":
    unittest.main()
