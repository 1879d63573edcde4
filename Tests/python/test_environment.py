"""The worker runtime at load and in the pipeline: GPU compatibility (against a STAND-IN torch that
reports a device capability and an arch list: there is no GPU here), the worker's uid, and failures
caused by the image (a missing module, a pipeline the worker's dict does not fit) that must never be
reported as the sample's fault (bad_input)."""
import json
import os
import subprocess
import sys
import unittest

from test_workers import StandinWorkerCase
from workerharness import RUNTIME, STANDINS, make_sample

sys.path.insert(0, RUNTIME)

import podagent_gpu  # noqa: E402

TORCH_1_9_CU111 = "sm_37 sm_50 sm_60 sm_70 sm_75 sm_80 sm_86"
# What StreamPETR's manifest declares (plugin.yaml environment): its ops, and flash-attn 0.2.2's kernels.
STREAMPETR_ARCHS = json.dumps({"ops built in the image": ["7.0", "7.5", "8.0", "8.6+PTX"], "flash-attn 0.2.2": ["7.5", "8.0"]})


class CompatibilityRules(unittest.TestCase):
    """CUDA's rules: a sm_XY kernel runs on X.y, y >= Y (same major); PTX compute_XY on anything >= X.Y."""

    def test_kernels_run_on_the_same_major_only(self):
        torch_targets = podagent_gpu.parse_torch_arch_list(TORCH_1_9_CU111.split())
        for capability, expected in [((8, 0), True), ((8, 6), True), ((8, 9), True), ((9, 0), False), ((7, 2), True), ((3, 5), False)]:
            self.assertEqual(podagent_gpu.runs_on(torch_targets, capability), expected, capability)

    def test_ptx_reaches_newer_gpus(self):
        targets = podagent_gpu.parse_manifest_architectures(["8.0", "8.6+PTX"])
        self.assertTrue(podagent_gpu.runs_on(targets, (9, 0)))
        self.assertTrue(podagent_gpu.runs_on(targets, (12, 0)))
        self.assertFalse(podagent_gpu.runs_on(targets, (7, 5)))
        self.assertTrue(podagent_gpu.runs_on(podagent_gpu.parse_torch_arch_list(["sm_80", "compute_80"]), (9, 0)))
        self.assertEqual(podagent_gpu.describe(targets), "sm_80, sm_86 + PTX compute_86 (newer GPUs by JIT)")

    def test_a_malformed_declaration_is_an_error_naming_it(self):
        with self.assertRaisesRegex(ValueError, "'sm86' is not an architecture"):
            podagent_gpu.parse_manifest_architectures(["sm86"])


class GPUCheckAtLoadWithStandinTorch(StandinWorkerCase):
    """The worker compares the device with torch.cuda.get_arch_list() and the manifest's declared
    architectures before it loads; the STAND-IN torch reports the capability and arch list."""

    def env(self, capability, name, arch_list=TORCH_1_9_CU111, declared=STREAMPETR_ARCHS):
        return {"STANDIN_CUDA_CAPABILITY": capability, "STANDIN_CUDA_NAME": name,
                "STANDIN_TORCH_ARCH_LIST": arch_list, "PODAGENT_CUDA_ARCHITECTURES": declared,
                "CUDA_VISIBLE_DEVICES": "3"}

    def test_h100_is_refused_before_loading_naming_gpu_capability_and_what_the_image_supports_standin(self):
        worker = self.start("StreamPETR", env=self.env("9.0", "NVIDIA H100 80GB HBM3"))
        message = worker.recv()
        self.assertEqual((message["type"], message["kind"], message["reason"]), ("fatal", "load_failed", "gpu_incompatible"))
        text = message["message"]
        for part in ("GPU 0 (CUDA_VISIBLE_DEVICES=3) NVIDIA H100 80GB HBM3", "compute capability 9.0 (sm_90)",
                     "torch 1.9.1+standin has kernels for sm_37, sm_50, sm_60, sm_70, sm_75, sm_80, sm_86 (no PTX",
                     "flash-attn 0.2.2 is built for sm_75, sm_80 (no PTX"):
            self.assertIn(part, text)
        # The image's ops carry PTX for 8.6, so they alone would run: they are not blamed.
        self.assertNotIn("ops built in the image", text)
        self.assertEqual(worker.process.wait(timeout=30), 3)
        self.assertEqual(worker.events("mmdet3d.apis.init_model"), [], "nothing was loaded")

    def test_ada_and_ampere_load_standin(self):
        for capability, name in (("8.9", "NVIDIA L40S"), ("8.6", "NVIDIA RTX A6000"), ("8.0", "NVIDIA A100-SXM4-80GB")):
            worker, ready = self.ready("StreamPETR", env=self.env(capability, name))
            self.assertEqual(ready["type"], "ready", (capability, ready))

    def test_a_declared_component_alone_can_refuse_standin(self):
        # torch 1.9 runs on a V100 (sm_70); flash-attn 0.2.2's kernels do not (sm_75, sm_80 only).
        worker = self.start("StreamPETR", env=self.env("7.0", "Tesla V100-SXM2-16GB"))
        message = worker.recv()
        self.assertEqual(message["kind"], "load_failed")
        self.assertIn("flash-attn 0.2.2 is built for sm_75, sm_80", message["message"])
        self.assertNotIn("torch 1.9.1", message["message"])

    def test_torch_with_ptx_passes_where_declared_code_has_it_too_standin(self):
        worker, ready = self.ready("PETR", env=self.env("9.0", "NVIDIA H100", arch_list=TORCH_1_9_CU111 + " compute_86",
                                                         declared=json.dumps({"ops": ["8.6+PTX"]})))
        self.assertEqual(ready["type"], "ready")

    def test_no_usable_gpu_for_a_cuda_device_is_a_reason_standin(self):
        worker = self.start("PETR", env={"STANDIN_CUDA": "0", "CUDA_VISIBLE_DEVICES": "1", "PODAGENT_CUDA_ARCHITECTURES": STREAMPETR_ARCHS})
        message = worker.recv()
        self.assertEqual(message["kind"], "load_failed")
        self.assertIn("sees no usable GPU (CUDA_VISIBLE_DEVICES=1)", message["message"])

    def test_cpu_device_is_not_checked_standin(self):
        worker, ready = self.ready("PETR", device="cpu", env=self.env("9.0", "NVIDIA H100"))
        self.assertEqual(ready["type"], "ready")

    def test_a_model_without_a_declared_environment_is_not_checked_standin(self):
        # What podagent passes only for manifests with an `environment` (the synthetic Demo has none).
        env = self.env("9.0", "NVIDIA H100")
        del env["PODAGENT_CUDA_ARCHITECTURES"]
        worker, ready = self.ready("PETR", env=env)
        self.assertEqual(ready["type"], "ready")

    def test_validate_probe_reports_every_gpu_standin(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([STANDINS, RUNTIME]), STANDIN_CUDA_COUNT="2",
                   **self.env("9.0", "NVIDIA H200"))
        done = subprocess.run([sys.executable, os.path.join(RUNTIME, "podagent_gpu.py")], env=env,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        report = json.loads(done.stdout)
        self.assertEqual(report["torch"], "1.9.1+standin")
        self.assertEqual([d["capability"] for d in report["devices"]], ["9.0", "9.0"])
        self.assertIn("NVIDIA H200 has compute capability 9.0 (sm_90)", report["devices"][1]["reason"])
        self.assertIsNone(report["error"])


class WorkerUserInReady(StandinWorkerCase):
    def test_ready_says_the_uid_standin(self):
        _, ready = self.ready("PETR")
        self.assertEqual(ready["uid"], os.getuid())


class EnvironmentFailuresWithStandins(StandinWorkerCase):
    """What the image lacks is load_failed (at load) or model_error (in the pipeline), never bad_input;
    a sample that is really wrong stays bad_input."""

    def test_missing_module_at_load_is_load_failed_naming_it_and_where_standin(self):
        worker = self.start("PETR", env={"STANDIN_PLUGIN_IMPORTS": "av2"})
        message = worker.recv()
        self.assertEqual((message["type"], message["kind"]), ("fatal", "load_failed"))
        self.assertIn("the image lacks a module the model imports: ModuleNotFoundError: No module named 'av2'", message["message"])
        self.assertIn("checkouts/PETR/projects/mmdet3d_plugin/__init__.py:", message["message"])
        self.assertEqual(worker.process.wait(timeout=30), 3)

    def test_unregistered_pipeline_transform_at_load_is_load_failed_standin(self):
        worker = self.start("PETR", env={"STANDIN_UNREGISTERED_TRANSFORM": "ResizeCropFlipImage"})
        message = worker.recv()
        self.assertEqual(message["kind"], "load_failed")
        self.assertIn("KeyError: 'ResizeCropFlipImage is not in the pipeline registry'", message["message"])
        self.assertIn("the model's environment lacks what its config names", message["message"])

    def test_pipeline_key_the_worker_does_not_give_is_not_bad_input_standin(self):
        worker, _ = self.ready("PETR", env={"STANDIN_PIPELINE_NEEDS": "img_timestamp"})
        answer = worker.infer(make_sample("PETR", worker.dir))
        self.assertEqual(answer["kind"], "model_error", answer)
        self.assertIn("for a reason of the image, not of the sample: KeyError: 'img_timestamp'", answer["message"])

    def test_module_a_transform_imports_is_not_bad_input_standin(self):
        worker, _ = self.ready("PETR", env={"STANDIN_PIPELINE_IMPORTS": "cv2_not_installed"})
        answer = worker.infer(make_sample("PETR", worker.dir))
        self.assertEqual(answer["kind"], "model_error", answer)
        self.assertIn("No module named 'cv2_not_installed'", answer["message"])

    def test_a_wrong_sample_stays_bad_input_standin(self):
        worker, _ = self.ready("PETR", env={"STANDIN_PIPELINE_LOOKUP": "sample_idx"})
        # A value of the sample the pipeline does not know: the sample's fault.
        answer = worker.infer(make_sample("PETR", worker.dir, sample_id="sample-unknown"))
        self.assertEqual(answer["kind"], "bad_input", answer)
        self.assertIn("KeyError: 'sample-unknown'", answer["message"])
        # An image file that exists but cannot be read: the sample's fault too.
        sample = make_sample("PETR", worker.dir, sample_id="scene-known")
        os.chmod(sample["img_paths"][0], 0)
        if os.getuid() != 0:  # root reads any file; the unreadable case needs another user
            answer = worker.infer(sample, request_id="r2")
            self.assertEqual(answer["kind"], "bad_input", answer)
        os.remove(sample["img_paths"][1])
        answer = worker.infer(sample, request_id="r3")
        self.assertEqual(answer["kind"], "bad_input", answer)
        self.assertIn(sample["img_paths"][1], answer["message"])

    def test_blame_rules(self):
        sys.path.insert(0, STANDINS)
        import podagent_mmdet

        given = {"img_filename": ["/data/a.jpg"], "map_location": "boston-seaport", "nested": {"x": ["tok"]}}
        blame = podagent_mmdet.pipeline_blames_sample
        self.assertTrue(blame(KeyError("boston-seaport"), given))
        self.assertTrue(blame(KeyError("tok"), given))
        self.assertFalse(blame(KeyError("img_timestamp"), given))
        self.assertFalse(blame(ModuleNotFoundError("No module named 'av2'"), given))
        self.assertTrue(blame(FileNotFoundError(2, "No such file", "/data/a.jpg"), given))
        self.assertFalse(blame(FileNotFoundError(2, "No such file", "/opt/models/X/data/can_bus.json"), given))
        self.assertTrue(blame(ValueError("all input arrays must have the same shape"), given))
        self.assertFalse(blame(RuntimeError("CUDA error: no kernel image is available"), given))


if __name__ == "__main__":
    unittest.main()
