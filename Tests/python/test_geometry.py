"""The shared worker code's geometry and sample checks, in-process (numpy only, no stand-ins)."""
import math
import os
import sys
import unittest

import numpy as np

from workerharness import RUNTIME

sys.path.insert(0, RUNTIME)
import podagent_mmdet as mm  # noqa: E402
from podagent_worker import BadInput  # noqa: E402


def rotation_about(axis, angle):
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    x, y, z = axis
    c, s = math.cos(angle), math.sin(angle)
    return np.array([
        [c + x * x * (1 - c), x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
        [y * x * (1 - c) + z * s, c + y * y * (1 - c), y * z * (1 - c) - x * s],
        [z * x * (1 - c) - y * s, z * y * (1 - c) + x * s, c + z * z * (1 - c)]])


class GeometryTests(unittest.TestCase):
    def test_quaternion_and_matrix_agree(self):
        for axis, angle in [((0, 0, 1), 0.7), ((1, 2, 3), -2.9), ((1, 0, 0), math.pi - 1e-3), ((0, 1, 1), 3.1)]:
            matrix = rotation_about(axis, angle)
            half = angle / 2
            unit = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
            q = np.concatenate([[math.cos(half)], math.sin(half) * unit])
            np.testing.assert_allclose(mm.quaternion_matrix(q), matrix, atol=1e-12)
            back = mm.matrix_quaternion(matrix)
            self.assertGreaterEqual(back[0], 0.0)
            self.assertAlmostEqual(abs(float(np.dot(back, q))), 1.0, places=9)

    def test_yaw_and_can_bus(self):
        rotation = rotation_about((0, 0, 1), -0.5)
        self.assertAlmostEqual(mm.yaw_of(rotation), -0.5)
        can_bus = mm.can_bus_from_pose(np.arange(18.0), rotation, [1.0, 2.0, 3.0])
        self.assertEqual(can_bus[:3].tolist(), [1.0, 2.0, 3.0])
        self.assertAlmostEqual(can_bus[-1], 360 - math.degrees(0.5))  # degrees in [0, 360)
        self.assertAlmostEqual(can_bus[-2], math.radians(360 - math.degrees(0.5)))
        self.assertEqual(can_bus[7:16].tolist(), list(np.arange(7.0, 16.0)))  # the CAN values stay

    def test_cameras_match_the_upstream_formula(self):
        rng = np.random.default_rng(3)
        rotations = [rotation_about(rng.normal(size=3), rng.uniform(-3, 3)) for _ in range(6)]
        translations = rng.normal(size=(6, 3))
        intrinsics = [np.array([[1200.0 + k, 0, 800], [0, 1200.0, 450], [0, 0, 1]]) for k in range(6)]
        sample = mm.Sample({"cam_intrinsic": [k.tolist() for k in intrinsics],
                            "sensor2lidar_rotation": [r.tolist() for r in rotations],
                            "sensor2lidar_translation": translations.tolist()}, "PETR")
        cameras = mm.Cameras(sample, 6)
        for k in range(6):
            # The nuScenes datasets' row-vector construction (PETR/MapTR/VAD get_data_info).
            lidar2cam_r = np.linalg.inv(rotations[k])
            lidar2cam_t = translations[k] @ lidar2cam_r.T
            rt = np.eye(4)
            rt[:3, :3] = lidar2cam_r.T
            rt[3, :3] = -lidar2cam_t
            pad = np.eye(4)
            pad[:3, :3] = intrinsics[k]
            np.testing.assert_allclose(cameras.lidar2img[k], pad @ rt.T, atol=1e-9)
            np.testing.assert_allclose(cameras.lidar2cam[k], rt.T, atol=1e-12)
            # The camera centre (in the lidar frame) maps to the camera origin.
            centre = cameras.lidar2cam[k] @ np.append(translations[k], 1.0)
            np.testing.assert_allclose(centre, [0, 0, 0, 1], atol=1e-9)

    def test_ego_pose_is_lidar_to_global(self):
        sample = mm.Sample({"lidar2ego_rotation": [math.cos(-math.pi / 4), 0, 0, math.sin(-math.pi / 4)],
                            "lidar2ego_translation": [1.0, 0.0, 2.0],
                            "ego2global_rotation": [1.0, 0.0, 0.0, 0.0], "ego2global_translation": [100.0, 50.0, 0.0]},
                           "StreamPETR")
        pose = mm.EgoPose(sample)
        # lidar x axis points to ego -y (LIDAR_TOP is turned -90 deg); then shifted into the world.
        np.testing.assert_allclose(pose.lidar2global @ [1.0, 0, 0, 1], [101.0, 49.0, 2.0, 1.0], atol=1e-12)


class BEVInputTests(unittest.TestCase):
    def test_camera2ego_only_when_given(self):
        import tempfile

        from workerharness import make_sample

        folder = tempfile.mkdtemp()
        sample = make_sample("MapTR", folder)
        without = mm.nuscenes_bev_input(mm.Sample(sample, "MapTR"), "scene", 5, 0)
        self.assertNotIn("camera2ego", without)
        self.assertEqual(without["timestamp"], 5)
        self.assertEqual(without["img_filename"], sample["img_paths"])
        sample.update(sensor2ego_rotation=[[1, 0, 0, 0]] * 6, sensor2ego_translation=[[1.0, 2.0, 3.0]] * 6)
        given = mm.nuscenes_bev_input(mm.Sample(sample, "MapTR"), "scene", 5, 0)
        np.testing.assert_allclose(given["camera2ego"][0][:3, 3], [1.0, 2.0, 3.0])
        sample["sensor2ego_rotation"] = [[0, 0, 0, 0]] * 6
        with self.assertRaises(BadInput):
            mm.nuscenes_bev_input(mm.Sample(sample, "MapTR"), "scene", 5, 0)


class SampleTests(unittest.TestCase):
    def test_messages_name_key_and_shape(self):
        sample = mm.Sample({"cam_intrinsic": [[1, 2], [3, 4]], "timestamp": "soon", "ragged": [[1], [1, 2]],
                            "ego2global_rotation": [0, 0, 0, 0]}, "VAD")
        cases = [
            (lambda: sample.array("cam_intrinsic", (6, 3, 3)), "VAD: inputs.cam_intrinsic: expected shape (6, 3, 3), got (2, 2)"),
            (lambda: sample.number("timestamp"), "inputs.timestamp: expected a finite number"),
            (lambda: sample.array("ragged", (2, None)), "ragged"),
            (lambda: sample.string("scene_token"), "inputs.scene_token: required"),
            (lambda: sample.quaternion("ego2global_rotation"), "zero length"),
            (lambda: sample.rotation("missing"), "3x3 rotation matrix or a quaternion"),
        ]
        for call, needle in cases:
            with self.assertRaises(BadInput) as caught:
                call()
            self.assertIn(needle, str(caught.exception))

    def test_scene_order(self):
        order = mm.SceneOrder("StreamPETR")
        self.assertTrue(order.check("a", 1.0))
        order.commit("a", 1.0)
        self.assertFalse(order.check("a", 2.0))
        with self.assertRaises(BadInput):
            order.check("a", 1.0)
        self.assertTrue(order.check("a", 0.5, restart=True))
        self.assertTrue(order.check("b", 0.5))

    def test_repo_root_is_the_folder_holding_the_marker(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkouts", "PETR")
        config = os.path.join(root, "projects", "configs", "petr", "petr_r50dcn_gridmask_p4.py")
        self.assertEqual(mm.find_repo_root(config, "projects"), root)
        with self.assertRaises(FileNotFoundError):
            mm.find_repo_root("/tmp/nowhere/config.py", "projects-that-does-not-exist")


if __name__ == "__main__":
    unittest.main()
