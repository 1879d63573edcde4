"""NVIDIA's tritonclient (HTTP, the real package from PyPI) against a real podagent serving the
synthetic Demo model with its real Python worker, over loopback (issue 16 part 3).

Runs in the venv bootstrap/install-deps makes ($PODAGENT_TRITONCLIENT, default
/opt/podagent-tritonclient), on the podagent that `swift build` made (PODAGENT_BIN overrides):

    make test-tritonclient
"""

import gzip
import http.client
import json
import os
import struct
import sys
import tempfile
import time
import unittest
import uuid

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "pysupport"))
from listening_agent import ListeningAgent  # noqa: E402
BINARY = os.environ.get("PODAGENT_BIN", os.path.join(ROOT, ".build", "debug", "podagent"))
TOKEN = "tok-" + uuid.uuid4().hex


def auth():
    """A fresh headers dict per call: tritonclient's infer writes Inference-Header-Content-Length into
    the dict it is given, so a shared one would carry a binary request's length into the next call."""
    return {"Authorization": "Bearer " + TOKEN}


# The workers run as an unprivileged user (tests run as root): the system's Python, with numpy.
WORKER_PYTHON = "/usr/bin/python3"

AGENT = {}


def setUpModule():
    if not os.access(BINARY, os.X_OK):
        raise RuntimeError(f"{BINARY} is not built: run `swift build` first")
    scratch = tempfile.mkdtemp(prefix="podagent-tritonclient-")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PODAGENT_")}
    env.update({
        "PODAGENT_SSH": "off", "PODAGENT_MODELS": "Demo", "PODAGENT_TOKEN": TOKEN,
        "PODAGENT_PLUGINS_DIR": os.path.join(ROOT, "Plugins"), "PODAGENT_INFERENCE_PYTHON": WORKER_PYTHON,
    })
    agent = ListeningAgent(
        [BINARY, "run", "--http-host", "127.0.0.1", "--http-port", "0", "--state-dir", os.path.join(scratch, "state")],
        env=env, cwd=scratch)
    AGENT.update(agent=agent, lines=agent.lines, scratch=scratch, url=agent.url)
    client = httpclient.InferenceServerClient(AGENT["url"])
    wait_until(lambda: client.is_model_ready("Demo", headers=auth()), "the Demo model to be ready")


def tearDownModule():
    agent = AGENT.get("agent")
    if agent:
        agent.stop(60)


def wait_until(condition, what, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except InferenceServerException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; podagent log:\n" + "".join(AGENT.get("lines", [])[-50:]))


def sample_input(sample, binary):
    tensor = httpclient.InferInput("sample", [1], "BYTES")
    tensor.set_data_from_numpy(np.array([json.dumps(sample).encode()], dtype=np.object_), binary_data=binary)
    return tensor


def result_of(answer):
    """The standard result from an InferResult (its output `result`, one BYTES element)."""
    data = answer.as_numpy("result")
    assert data.shape == (1,), data.shape
    element = data[0]
    return json.loads(element.decode() if isinstance(element, bytes) else element)


def without_timings(result):
    result = dict(result)
    meta = dict(result["meta"])
    meta.pop("timings_seconds", None)
    result["meta"] = meta
    return result


def raw_post(path, body, headers):
    """A request tritonclient would never send: hostile bodies and headers."""
    host, port = AGENT["url"].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("POST", path, body=body, headers={**auth(), **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def binary_body(header, *chunks):
    text = json.dumps(header).encode()
    return text + b"".join(chunks), {"Inference-Header-Content-Length": str(len(text)), "Content-Type": "application/octet-stream"}


def bytes_element(text):
    data = text.encode()
    return struct.pack("<I", len(data)) + data


class TritonClientTests(unittest.TestCase):
    def setUp(self):
        self.client = httpclient.InferenceServerClient(AGENT["url"], concurrency=4)

    def tearDown(self):
        self.client.close()

    def infer(self, inputs, **kwargs):
        return self.client.infer("Demo", inputs, headers=auth(), **kwargs)

    def test_live_ready_and_server_metadata_list_the_extensions_served(self):
        self.assertTrue(self.client.is_server_live())
        self.assertTrue(self.client.is_server_ready())
        metadata = self.client.get_server_metadata(headers=auth())
        self.assertEqual(metadata["name"], "podagent")
        for extension in ("binary_tensor_data", "model_configuration", "statistics"):
            self.assertIn(extension, metadata["extensions"])
        self.assertTrue(self.client.is_model_ready("Demo", headers=auth()))

    def test_without_the_token_the_client_gets_401(self):
        with self.assertRaises(InferenceServerException) as caught:
            self.client.get_model_metadata("Demo")
        self.assertEqual(caught.exception.status(), "401")

    def test_model_metadata_names_exactly_what_infer_answers(self):
        metadata = self.client.get_model_metadata("Demo", headers=auth())
        self.assertEqual(metadata["name"], "Demo")
        self.assertEqual(metadata["inputs"], [{"name": "sample", "datatype": "BYTES", "shape": [1]}])
        self.assertEqual(metadata["outputs"], [{"name": "result", "datatype": "BYTES", "shape": [1]}])
        answer = self.infer([sample_input({"sample_id": "meta"}, binary=False)])
        self.assertEqual([output["name"] for output in answer.get_response()["outputs"]], [o["name"] for o in metadata["outputs"]])
        version = metadata["versions"][0]
        # The versioned forms answer for the model's one version and 404 for another.
        self.assertEqual(self.client.get_model_metadata("Demo", model_version=version, headers=auth()), metadata)
        self.assertTrue(self.client.is_model_ready("Demo", model_version=version, headers=auth()))
        self.assertFalse(self.client.is_model_ready("Demo", model_version="999", headers=auth()))
        with self.assertRaises(InferenceServerException) as caught:
            self.client.get_model_metadata("Demo", model_version="999", headers=auth())
        self.assertEqual(caught.exception.status(), "404")
        versioned = self.client.infer("Demo", [sample_input({"sample_id": "meta"}, binary=True)], model_version=version, headers=auth())
        self.assertEqual(without_timings(result_of(versioned)), without_timings(result_of(answer)))
        with self.assertRaises(InferenceServerException) as caught:
            self.client.infer("Demo", [sample_input({"sample_id": "meta"}, binary=True)], model_version="999", headers=auth())
        self.assertEqual(caught.exception.status(), "404")
        self.assertIn("999", caught.exception.message())

    def test_model_config(self):
        config = self.client.get_model_config("Demo", headers=auth())
        self.assertEqual(config["name"], "Demo")
        self.assertEqual(config["max_batch_size"], 0)
        self.assertEqual(config["input"], [{"name": "sample", "data_type": "TYPE_STRING", "dims": [1]}])
        self.assertEqual(config["output"], [{"name": "result", "data_type": "TYPE_STRING", "dims": [1]}])
        self.assertEqual(sum(group["count"] for group in config["instance_group"]), 1, config)
        self.assertEqual(config["instance_group"][0]["kind"], "KIND_CPU")
        self.assertEqual(config["parameters"]["state"]["string_value"], "READY")
        self.assertEqual(config["parameters"]["model_outputs"]["string_value"], "raw BYTES [1]")
        # A model that is not served still has its configuration; its own tensors are named there.
        petr = self.client.get_model_config("PETR", headers=auth())
        self.assertEqual(petr["output"], config["output"])
        self.assertIn("boxes_3d FP32 [-1, 9]", petr["parameters"]["model_outputs"]["string_value"])
        with self.assertRaises(InferenceServerException) as caught:
            self.client.get_model_config("yolo", headers=auth())
        self.assertEqual(caught.exception.status(), "404")

    def test_infer_with_json_tensors(self):
        answer = self.infer(
            [sample_input({"sample_id": "json-1"}, binary=False)],
            outputs=[httpclient.InferRequestedOutput("result", binary_data=False)])
        output = answer.get_response()["outputs"][0]
        self.assertEqual((output["name"], output["datatype"], output["shape"]), ("result", "BYTES", [1]))
        self.assertIn("data", output)
        self.assertNotIn("binary_data_size", output.get("parameters", {}))
        result = result_of(answer)
        self.assertEqual(result["meta"]["model"], "Demo")
        self.assertEqual(result["meta"]["sample_id"], "json-1")
        self.assertGreater(len(result["detections"]), 0)

    def test_infer_with_binary_tensors_in_and_out_matches_the_json_answer(self):
        for raw_format in ("petr", "topomlp"):
            with self.subTest(raw_format=raw_format):
                sample = {"sample_id": "bin-" + raw_format}
                parameters = {"raw_format": raw_format}
                binary = self.infer([sample_input(sample, binary=True)], parameters=parameters)  # no outputs: binary_data_output
                output = binary.get_response()["outputs"][0]
                self.assertNotIn("data", output)
                self.assertGreater(output["parameters"]["binary_data_size"], 4)
                requested = self.infer(
                    [sample_input(sample, binary=True)], parameters=parameters,
                    outputs=[httpclient.InferRequestedOutput("result", binary_data=True)])
                as_json = self.infer(
                    [sample_input(sample, binary=False)], parameters=parameters,
                    outputs=[httpclient.InferRequestedOutput("result", binary_data=False)])
                self.assertEqual(without_timings(result_of(binary)), without_timings(result_of(as_json)))
                self.assertEqual(without_timings(result_of(requested)), without_timings(result_of(as_json)))

    def test_numeric_binary_inputs_reach_the_worker_with_their_values(self):
        pose = np.arange(16, dtype=np.float32).reshape(4, 4) / 3
        ids = np.array([[-(2 ** 40), 7]], dtype=np.int64)
        flags = np.array([True, False, True])
        half = np.array([0.5, -2.0, 65504.0], dtype=np.float16)
        inputs = [sample_input({"sample_id": "numeric"}, binary=True)]
        for name, array in (("ego_pose", pose), ("ids", ids), ("flags", flags), ("half", half)):
            tensor = httpclient.InferInput(name, list(array.shape), httpclient.np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array, binary_data=True)
            inputs.append(tensor)
        paths = httpclient.InferInput("note", [1], "BYTES")
        paths.set_data_from_numpy(np.array(["unicode ✓".encode()], dtype=np.object_), binary_data=True)
        inputs.append(paths)
        answer = self.infer(inputs, parameters={"echo_inputs": True, "include_raw": True})
        seen = result_of(answer)["raw"]["inputs"]
        np.testing.assert_array_equal(np.array(seen["ego_pose"], dtype=np.float32), pose)
        self.assertEqual(seen["ids"], ids.tolist())
        self.assertEqual(seen["flags"], [True, False, True])
        self.assertEqual(seen["half"], half.astype(np.float32).tolist())
        self.assertEqual(seen["note"], "unicode ✓")
        self.assertEqual(seen["sample_id"], "numeric")

    def test_statistics_count_successes_failures_and_durations(self):
        def demo_stats():
            stats = self.client.get_inference_statistics("Demo", headers=auth())["model_stats"]
            self.assertEqual([entry["name"] for entry in stats], ["Demo"])
            return stats[0]

        before = demo_stats()
        started_ms = int(time.time() * 1000)
        # Eight at once through the client's pool: the counters are shared by concurrent requests.
        pending = [
            self.client.async_infer("Demo", [sample_input({"sample_id": f"stats-{i}"}, binary=i % 2 == 0)], headers=auth())
            for i in range(8)]
        for request in pending:
            self.assertGreater(len(result_of(request.get_result())["detections"]), 0)
        with self.assertRaises(InferenceServerException) as caught:
            self.infer([sample_input({"sample_id": "stats-fail"}, binary=True)], parameters={"fail": "error"})
        self.assertIn("injected model failure", caught.exception.message())
        after = demo_stats()
        counts = lambda entry, key: entry["inference_stats"][key]["count"]
        self.assertEqual(counts(after, "success") - counts(before, "success"), 8)
        self.assertEqual(counts(after, "fail") - counts(before, "fail"), 1)
        self.assertEqual(after["inference_count"] - before["inference_count"], 8)
        self.assertEqual(after["execution_count"] - before["execution_count"], 8)
        for key in ("queue", "compute_input", "compute_infer", "compute_output"):
            self.assertEqual(counts(after, key) - counts(before, key), 8, key)
        for key in ("success", "fail", "compute_infer"):
            self.assertGreater(after["inference_stats"][key]["ns"], before["inference_stats"][key]["ns"], key)
        success_ns = after["inference_stats"]["success"]["ns"] - before["inference_stats"]["success"]["ns"]
        infer_ns = after["inference_stats"]["compute_infer"]["ns"] - before["inference_stats"]["compute_infer"]["ns"]
        self.assertLessEqual(infer_ns, success_ns, "the model's time is part of the request's")
        self.assertGreaterEqual(after["last_inference"], started_ms - 1000)
        self.assertEqual(after["batch_stats"][0]["batch_size"], 1)
        everything = self.client.get_inference_statistics(headers=auth())["model_stats"]
        self.assertIn("Demo", [entry["name"] for entry in everything])
        self.assertIn("PETR", [entry["name"] for entry in everything], "every model of the catalog, served or not")

    def test_compressed_requests_are_415_naming_the_encoding(self):
        # tritonclient's request_compression_algorithm gzips (or deflates) the body and says so in
        # Content-Encoding; podagent reads bodies uncompressed and says which encoding it refused.
        for algorithm in ("gzip", "deflate"):
            with self.assertRaises(InferenceServerException) as caught:
                self.infer([sample_input({"sample_id": "compressed"}, binary=True)], request_compression_algorithm=algorithm)
            self.assertEqual(caught.exception.status(), "415", caught.exception.message())
            self.assertIn(f"Content-Encoding '{algorithm}' is not supported", caught.exception.message())
            self.assertIn("uncompressed", caught.exception.message())
            self.assertIn("request_compression_algorithm", caught.exception.message())
        host, port = AGENT["url"].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            connection.request("POST", "/v2/models/Demo/infer", body=gzip.compress(b'{"inputs": []}'),
                               headers={**auth(), "Content-Encoding": "gzip", "Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            self.assertEqual(response.status, 415)
            self.assertEqual(response.getheader("Accept-Encoding"), "identity")
        finally:
            connection.close()
        # The same request uncompressed, and with a compressed answer asked for (podagent answers plain).
        answer = self.infer([sample_input({"sample_id": "plain"}, binary=True)], response_compression_algorithm="gzip")
        self.assertEqual(result_of(answer)["meta"]["sample_id"], "plain")

    def test_load_model_with_a_triton_config_is_400_and_the_model_keeps_serving(self):
        config = json.dumps({"name": "Demo", "backend": "python", "max_batch_size": 8})
        with self.assertRaises(InferenceServerException) as caught:
            self.client.load_model("Demo", headers=auth(), config=config)
        self.assertEqual(caught.exception.status(), "400")
        self.assertIn("parameters.config: got a JSON model configuration (Triton's load_model(config=...))", caught.exception.message())
        self.assertIn("absolute path of the model's own config file", caught.exception.message())
        self.assertTrue(self.client.is_model_ready("Demo", headers=auth()))

    def test_timeout_is_the_request_deadline(self):
        # Named to run after the statistics: its deadline ends the worker's attempt (the worker restarts).
        # Triton's timeout, in microseconds: 0.3 s against an answer that takes 30 s is a 504.
        with self.assertRaises(InferenceServerException) as caught:
            self.infer([sample_input({"sample_id": "slow"}, binary=True)], parameters={"infer_time_s": 30}, timeout=300_000)
        self.assertEqual(caught.exception.status(), "504", caught.exception.message())
        wait_until(lambda: self.client.is_model_ready("Demo", headers=auth()), "Demo to serve again")
        # A generous one is answered; one that is not a whole number of microseconds is a 400 naming it.
        self.assertEqual(result_of(self.infer([sample_input({"sample_id": "in time"}, binary=True)], timeout=60_000_000))["meta"]["sample_id"], "in time")
        with self.assertRaises(InferenceServerException) as caught:
            self.infer([sample_input({"sample_id": "bad"}, binary=True)], timeout=-5)
        self.assertEqual(caught.exception.status(), "400")
        self.assertIn("parameters.timeout: expected Triton's request timeout", caught.exception.message())

    def test_zz_repository_unload_and_load(self):
        # Named to run last in this class: it takes the model away for a while.
        index = self.client.get_model_repository_index(headers=auth())
        self.assertIn("Demo", [entry["name"] for entry in index])
        self.client.unload_model("Demo", headers=auth())
        wait_until(lambda: not self.client.is_model_ready("Demo", headers=auth()), "Demo to be unloaded")
        with self.assertRaises(InferenceServerException) as caught:
            self.infer([sample_input({"sample_id": "unloaded"}, binary=True)])
        self.assertIn(caught.exception.status(), ("503", "400", "409"))
        self.client.load_model("Demo", headers=auth())
        wait_until(lambda: self.client.is_model_ready("Demo", headers=auth()), "Demo to be loaded again")
        self.assertGreater(len(result_of(self.infer([sample_input({"sample_id": "back"}, binary=True)]))["detections"]), 0)


class HostileBinaryRequestTests(unittest.TestCase):
    """Bodies a client could send on purpose or by mistake: each a 400 naming what is wrong."""

    SAMPLE = {"name": "sample", "datatype": "BYTES", "shape": [1]}

    def assertRejected(self, body, headers, *fragments):
        status, answer = raw_post("/v2/models/Demo/infer", body, headers)
        self.assertEqual(status, 400, answer)
        message = json.loads(answer)["error"]
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def test_header_length_beyond_the_body(self):
        body, headers = binary_body({"inputs": [{**self.SAMPLE, "data": ["{}"]}]})
        headers["Inference-Header-Content-Length"] = str(len(body) + 1)
        self.assertRejected(body, headers, "Inference-Header-Content-Length", "beyond")

    def test_header_length_negative_or_not_a_number(self):
        body, headers = binary_body({"inputs": [{**self.SAMPLE, "data": ["{}"]}]})
        for bad in ("-5", "12abc", "99999999999999999999999"):
            with self.subTest(length=bad):
                self.assertRejected(body, {**headers, "Inference-Header-Content-Length": bad}, "Inference-Header-Content-Length")

    def test_header_length_cutting_the_json(self):
        body, headers = binary_body({"inputs": [{**self.SAMPLE, "data": ["{}"]}]})
        self.assertRejected(body, {**headers, "Inference-Header-Content-Length": "10"}, "JSON header")

    def test_size_that_does_not_match_shape_and_dtype(self):
        pose = np.zeros((4, 4), dtype=np.float32).tobytes()
        header = {"inputs": [
            {**self.SAMPLE, "parameters": {"binary_data_size": len(bytes_element("{}"))}},
            {"name": "ego_pose", "datatype": "FP32", "shape": [4, 4], "parameters": {"binary_data_size": len(pose) - 1}}]}
        body, headers = binary_body(header, bytes_element("{}"), pose[:-1])
        self.assertRejected(body, headers, "inputs[1] (ego_pose)", "63", "64")

    def test_negative_fractional_and_huge_binary_sizes(self):
        for size, fragment in ((-1, "binary_data_size"), (1.5, "binary_data_size"), (10 ** 15, "beyond"), ("12", "binary_data_size")):
            with self.subTest(size=size):
                header = {"inputs": [{**self.SAMPLE, "parameters": {"binary_data_size": size}}]}
                body, headers = binary_body(header, bytes_element("{}"))
                self.assertRejected(body, headers, "inputs[0] (sample)", fragment)

    def test_bytes_element_longer_than_its_tensor(self):
        element = struct.pack("<I", 1000) + b"{}"
        body, headers = binary_body({"inputs": [{**self.SAMPLE, "parameters": {"binary_data_size": len(element)}}]}, element)
        self.assertRejected(body, headers, "inputs[0] (sample)", "1000")

    def test_more_bytes_than_the_inputs_claim(self):
        element = bytes_element("{}")
        body, headers = binary_body({"inputs": [{**self.SAMPLE, "parameters": {"binary_data_size": len(element)}}]}, element, b"junk")
        self.assertRejected(body, headers, "4 bytes after the JSON header belong to no input")

    def test_binary_size_without_the_header(self):
        element = bytes_element("{}")
        text = json.dumps({"inputs": [{**self.SAMPLE, "parameters": {"binary_data_size": len(element)}}]}).encode()
        self.assertRejected(text + element, {"Content-Type": "application/octet-stream"}, "Inference-Header-Content-Length")

    def test_unknown_output_and_unknown_datatype(self):
        body, headers = binary_body({"inputs": [{**self.SAMPLE, "data": ["{}"]}], "outputs": [{"name": "raw"}]})
        self.assertRejected(body, headers, "outputs[0]", "'raw'", "'result'")
        body, headers = binary_body({"inputs": [{"name": "x", "datatype": "FP128", "shape": [1], "data": [1]}]})
        self.assertRejected(body, headers, "inputs[0] (x).datatype")

    def test_the_real_client_with_a_shape_that_does_not_match_its_data(self):
        client = httpclient.InferenceServerClient(AGENT["url"])
        try:
            pose = httpclient.InferInput("ego_pose", [4, 4], "FP32")
            pose.set_data_from_numpy(np.zeros((4, 4), dtype=np.float32), binary_data=True)
            pose.set_shape([4, 5])
            with self.assertRaises(InferenceServerException) as caught:
                client.infer("Demo", [sample_input({"sample_id": "x"}, binary=True), pose], headers=auth())
            self.assertEqual(caught.exception.status(), "400")
            self.assertIn("inputs[1] (ego_pose)", caught.exception.message())
            # The agent is still serving after every hostile request.
            self.assertTrue(client.is_server_live())
            answer = client.infer("Demo", [sample_input({"sample_id": "after"}, binary=True)], headers=auth())
            self.assertEqual(result_of(answer)["meta"]["sample_id"], "after")
        finally:
            client.close()


if __name__ == "__main__":
    unittest.main()
