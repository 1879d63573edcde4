"""The worker runtime's tensor frames (docs/worker-protocol.md, protocol 2): numpy arrays and torch
tensors sent as raw little-endian bytes after the answer line. torch here is a STAND-IN (duck-typed
classes with torch's API, and Tests/python/standins/torch for the real workers): no PyTorch or GPU.

Run: python3 -m unittest discover -s Tests/python -p test_frames.py -v
"""
import json
import os
import sys
import unittest

import numpy as np

from workerharness import RUNTIME, WorkerProcess, as_lists, frame_array, make_sample

sys.path.insert(0, RUNTIME)
import podagent_worker  # noqa: E402

FORMATS = ("maptr", "petr", "streampetr", "topomlp", "vad")


def encode(value):
    """What the runtime makes of a model's output on protocol 2: (raw JSON, frames)."""
    frames = []
    raw = podagent_worker.to_jsonable(value, frames=frames)
    json.dumps(raw, allow_nan=False)  # the line stays strict JSON
    return raw, frames


class FakeTorchTensor:
    """torch.Tensor's API as the runtime uses it, over numpy: a device, detach(), cpu(), contiguous(),
    float(), numpy() (which, like torch's, refuses a tensor not on the CPU), tolist()."""

    def __init__(self, array, device="cuda:0", dtype=None, log=None):
        self.array = array
        self.device = device
        self.dtype = dtype or f"torch.{array.dtype}"
        self.log = log if log is not None else []

    def _with(self, array=None, device=None, dtype=None):
        return type(self)(self.array if array is None else array, device or self.device, dtype or self.dtype, self.log)

    def detach(self):
        self.log.append("detach")
        return self._with()

    def cpu(self):
        self.log.append("cpu")
        return self._with(device="cpu")

    def contiguous(self):
        self.log.append("contiguous")
        return self._with(array=np.ascontiguousarray(self.array))

    def float(self):
        self.log.append("float")
        return self._with(array=self.array.astype(np.float32), dtype="torch.float32")

    def numpy(self):
        if self.device != "cpu":
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() first.")
        if self.dtype == "torch.bfloat16":
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self.array

    def tolist(self):
        return self.array.tolist()


class FrameEncodingTests(unittest.TestCase):
    def test_each_dtype_goes_as_its_wire_dtype_little_endian(self):
        cases = [  # numpy dtype -> (wire dtype, numpy type of the bytes sent)
            (np.float32, "float32", "<f4"), (np.float64, "float64", "<f8"), (np.float16, "float32", "<f4"),
            (np.int64, "int64", "<i8"), (np.int32, "int32", "<i4"), (np.int16, "int32", "<i4"), (np.int8, "int32", "<i4"),
            (np.uint8, "uint8", "|u1"), (np.uint16, "int32", "<i4"), (np.uint32, "int64", "<i8"), (np.bool_, "bool", "|b1"),
            (np.dtype(">f4"), "float32", "<f4"), (np.dtype(">i8"), "int64", "<i8"),
        ]
        for dtype, wire, sent in cases:
            with self.subTest(dtype=str(np.dtype(dtype))):
                array = np.arange(6).reshape(2, 3).astype(dtype)
                raw, frames = encode({"x": array})
                self.assertEqual(raw, {"x": None})
                self.assertEqual(len(frames), 1)
                header = frames[0].header
                self.assertEqual(header, {"path": ["x"], "dtype": wire, "shape": [2, 3], "bytes": 6 * np.dtype(sent).itemsize})
                self.assertEqual(bytes(frames[0].array.data), array.astype(sent).tobytes())
                self.assertEqual(frame_array(header, bytes(frames[0].array.data)).tolist(), array.tolist())

    def test_what_has_no_wire_form_stays_json(self):
        raw, frames = encode({"u64": np.arange(3, dtype=np.uint64), "scalar": np.float32(0.5), "zero_d": np.array(2.5),
                              "list": [1.0, float("nan")], "text": "x"})
        self.assertEqual(frames, [])
        self.assertEqual(raw, {"u64": [0, 1, 2], "scalar": 0.5, "zero_d": 2.5, "list": [1.0, None], "text": "x"})

    def test_non_contiguous_arrays_are_sent_in_c_order(self):
        base = np.arange(24, dtype=np.float32).reshape(4, 6)
        for name, view in {"transposed": base.T, "strided": base[::2, ::-2], "fortran": np.asfortranarray(base)}.items():
            with self.subTest(name):
                _, frames = encode([view])
                self.assertEqual(frames[0].header["shape"], list(view.shape))
                self.assertEqual(bytes(frames[0].array.data), np.ascontiguousarray(view).tobytes())

    def test_nan_and_inf_stay_in_frames_and_are_null_in_json(self):
        values = np.array([0.5, np.nan, np.inf, -np.inf], dtype=np.float32)
        _, frames = encode({"s": values})
        sent = frame_array(frames[0].header, bytes(frames[0].array.data))
        self.assertTrue(np.isnan(sent[1]) and sent[2] == np.inf and sent[3] == -np.inf)
        self.assertEqual(podagent_worker.to_jsonable({"s": values}), {"s": [0.5, None, None, None]})

    def test_paths_through_dicts_lists_tuples_and_box_structures(self):
        class Boxes:  # mmdet3d's box structures keep their tensor in .tensor
            box_dim = 9

            def __init__(self, tensor):
                self.tensor = tensor

        value = [{"pts_bbox": {"boxes_3d": Boxes(np.zeros((2, 9), np.float32)), "labels_3d": np.array([1, 2])},
                  "pair": (np.ones(3), [np.zeros(1, np.int32)]), 7: np.zeros((0, 4), np.float32)}]
        raw, frames = encode(value)
        self.assertEqual([f.header["path"] for f in frames],
                         [[0, "pts_bbox", "boxes_3d"], [0, "pts_bbox", "labels_3d"], [0, "pair", 0], [0, "pair", 1, 0], [0, "7"]])
        self.assertEqual(raw, [{"pts_bbox": {"boxes_3d": None, "labels_3d": None}, "pair": [None, [None]], "7": None}])
        self.assertEqual(frames[-1].header, {"path": [0, "7"], "dtype": "float32", "shape": [0, 4], "bytes": 0})

    def test_torch_tensor_on_cuda_non_contiguous_is_detached_moved_and_made_contiguous(self):
        log = []
        base = np.arange(12, dtype=np.float32).reshape(3, 4)
        tensor = FakeTorchTensor(base.T, device="cuda:0", log=log)  # non-contiguous, on the "GPU"
        raw, frames = encode({"x": tensor})
        self.assertEqual(raw, {"x": None})
        self.assertEqual(log[:2], ["detach", "cpu"])
        self.assertIn("contiguous", log)
        self.assertEqual(frames[0].header, {"path": ["x"], "dtype": "float32", "shape": [4, 3], "bytes": 48})
        self.assertEqual(bytes(frames[0].array.data), np.ascontiguousarray(base.T).tobytes())
        # Without frames (protocol 1) the same tensor goes as JSON, moved to the CPU first.
        self.assertEqual(podagent_worker.to_jsonable({"x": FakeTorchTensor(base.T)}), {"x": base.T.tolist()})

    def test_half_precision_torch_is_widened_to_float32(self):
        log = []
        tensor = FakeTorchTensor(np.array([1.5, -2.0], dtype=np.float32), dtype="torch.bfloat16", log=log)
        _, frames = encode({"x": tensor})
        self.assertIn("float", log)
        self.assertEqual(frames[0].header["dtype"], "float32")
        self.assertEqual(frame_array(frames[0].header, bytes(frames[0].array.data)).tolist(), [1.5, -2.0])

    def test_a_tensor_numpy_cannot_take_goes_as_json(self):
        class NoNumpy(FakeTorchTensor):
            def numpy(self):
                raise RuntimeError("Numpy is not available")

        raw, frames = encode({"x": NoNumpy(np.array([1.0, 2.0]), device="cpu")})
        self.assertEqual((raw, frames), ({"x": [1.0, 2.0]}, []))

    def test_protocol_negotiation(self):
        cases = {None: 1, "1": 1, "2": 2, "7": 2, "0": 1, "x": 1}
        for offered, spoken in cases.items():
            environ = {} if offered is None else {"PODAGENT_PROTOCOL": offered}
            self.assertEqual(podagent_worker.negotiated_protocol(environ), spoken, offered)


def run_demo(protocol, requests):
    """The Demo worker as a subprocess, its answers read with the harness's frame reader."""
    worker = WorkerProcess("Demo", env={"PODAGENT_PROTOCOL": str(protocol)})
    try:
        ready = worker.recv()
        return ready, [worker.infer(inputs, options, request_id=f"r{i}") for i, (inputs, options) in enumerate(requests)]
    finally:
        worker.close()


class RuntimeCollectorTests(unittest.TestCase):
    def test_what_loading_made_is_frozen_out_of_the_per_request_collection(self):
        import subprocess
        import tempfile
        script = (
            "import gc, sys\n"
            "from podagent_worker import serve\n"
            "class Model:\n"
            "    def load(self, context):\n"
            "        self.weights = [[float(i)] * 4 for i in range(20000)]  # a loaded model's many objects\n"
            "    def infer(self, inputs, options):\n"
            "        return {'frozen': gc.get_freeze_count(), 'tracked_now': len(gc.get_objects())}\n"
            "sys.exit(serve(Model()))\n")
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "worker.py")
            with open(path, "w") as handle:
                handle.write(script)
            done = subprocess.run([sys.executable, path], input=b'{"type": "infer", "id": "a"}\n', capture_output=True,
                                  env=dict(os.environ, PYTHONPATH=RUNTIME), timeout=60)
        answer = json.loads(done.stdout.splitlines()[1])
        self.assertGreater(answer["raw"]["frozen"], 20000, done.stderr)
        # The collector walks only what exists beside the frozen model, not the model itself.
        self.assertLess(answer["raw"]["tracked_now"], answer["raw"]["frozen"])


class DemoWorkerFramingTests(unittest.TestCase):
    def test_both_answer_forms_carry_the_same_output(self):
        requests = [({"sample_id": "s1"}, {"raw_format": fmt, "tensors": "numpy", "nan_scores": 3}) for fmt in FORMATS]
        ready1, answers1 = run_demo(1, requests)
        ready2, answers2 = run_demo(2, requests)
        self.assertEqual((ready1["protocol"], ready2["protocol"]), (1, 2))
        for fmt, json_answer, framed_answer in zip(FORMATS, answers1, answers2):
            with self.subTest(fmt):
                self.assertEqual(json_answer["type"], "result")
                self.assertNotIn("framed", json_answer)
                self.assertTrue(framed_answer["framed"], "no frames on protocol 2")
                dtypes = {h["dtype"] for h in framed_answer["framed"]}
                self.assertLessEqual(dtypes, {"float32", "int64"})
                self.assertEqual(as_lists(framed_answer["raw"]), json_answer["raw"])
                # The binary answer's line is a small part of the JSON answer.
                self.assertLess(len(json.dumps(framed_answer["framed"])), len(json.dumps(json_answer["raw"])))

    def test_lists_stay_json_on_protocol_2(self):
        _, answers = run_demo(2, [({"sample_id": "s1"}, {"raw_format": "vad", "tensors": "lists"})])
        self.assertNotIn("framed", answers[0])
        self.assertIsInstance(answers[0]["raw"]["output"][0]["pts_bbox"]["boxes_3d"], list)

    def test_tensors_option_is_checked(self):
        _, answers = run_demo(2, [({}, {"tensors": "arrow"})])
        self.assertEqual(answers[0]["kind"], "bad_input")
        self.assertIn("numpy or lists", answers[0]["message"])


class RealWorkersFramingWithStandins(unittest.TestCase):
    """The five real workers over the stand-in torch/mmdet3d (tensors on the stand-in "cuda" device,
    boxes in mmdet3d box structures): protocol 2 answers decode to exactly the protocol 1 answers."""

    def check(self, model):
        answers = {}
        for protocol in (1, 2):
            worker = WorkerProcess(model, env={"PODAGENT_PROTOCOL": str(protocol)})
            try:
                ready = worker.recv()
                self.assertEqual(ready["protocol"], protocol)
                answer = worker.infer(make_sample(model, worker.dir), request_id="req-1")
                self.assertEqual(answer["type"], "result", answer)
                answers[protocol] = answer
                if protocol == 2:
                    self.assertTrue(answer.get("framed"), f"{model}: no frames on protocol 2")
                    # The model's queued GPU work is waited for before its compute time is taken.
                    self.assertGreaterEqual(len(worker.events("torch.cuda.synchronize")), 1)
            finally:
                worker.close()
        self.assertEqual(as_lists(answers[2]["raw"]), answers[1]["raw"])

    def test_petr_standin(self):
        self.check("PETR")

    def test_streampetr_standin(self):
        self.check("StreamPETR")

    def test_maptr_standin(self):
        self.check("MapTR")

    def test_vad_standin(self):
        self.check("VAD")

    def test_topomlp_standin(self):
        self.check("TopoMLP")


if __name__ == "__main__":
    unittest.main()
