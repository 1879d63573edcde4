"""VAD worker (hustvl/VAD, mmdet3d 0.17): one frame of six cameras + the driving command -> raw output.

VAD's BEV encoder is temporal (BEVFormer `prev_frame_info`) because its configs set
`video_test_mode=True` (VAD_base_stage_2.py l.50; VAD.py l.282-283 drops prev_bev otherwise), so frames of
a scene come in time order (see podagent_mmdet.TemporalModel); a config with it False is not temporal. Builds the input dict the way
VADCustomNuScenesDataset.get_data_info does and runs the config's test pipeline, which also loads
the LiDAR points file (`lidar_path`) and the annotations.

No ground truth is taken: the annotations are empty and the ego future is unknown
(fut_valid_flag False), so the raw output's `metric_results` (VAD's own open-loop metrics) carry
no meaning; the plan itself (`ego_fut_preds`) does not depend on them.
Raw: [{"pts_bbox": {boxes_3d, scores_3d, labels_3d, trajs_3d, map_*, ego_fut_preds, ego_fut_cmd},
       "metric_results": {...}}].
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))

from podagent_mmdet import TemporalModel, nuscenes_bev_input, video_test_mode  # noqa: E402
from podagent_worker import BadInput, serve  # noqa: E402

# VAD's command order (ego_fut_cmd's one-hot axis).
COMMANDS = ("turn_right", "turn_left", "go_straight")
FUT_TS = 6
HIS_TS = 2
# attr_labels per GT box: fut trajs (12) + fut masks (6) + goal (1) + lcf feat (9) + fut yaw (6).
ATTR_DIM = FUT_TS * 2 + FUT_TS + 1 + 9 + FUT_TS


def command_one_hot(sample):
    import numpy as np

    value = sample.inputs.get("ego_fut_cmd")
    if isinstance(value, str):
        if value not in COMMANDS:
            raise BadInput(f"VAD: inputs.ego_fut_cmd: {value!r} is not one of {', '.join(COMMANDS)}")
        one_hot = np.zeros(len(COMMANDS), dtype=np.float32)
        one_hot[COMMANDS.index(value)] = 1.0
        return one_hot
    one_hot = sample.array("ego_fut_cmd", (len(COMMANDS),)).astype(np.float32)
    if sorted(one_hot.tolist()) != [0.0, 0.0, 1.0]:
        raise BadInput(f"VAD: inputs.ego_fut_cmd: expected a one-hot [turn_right, turn_left, go_straight], got {one_hot.tolist()}")
    return one_hot


def empty_annotations():
    import numpy as np
    from mmdet3d.core.bbox import LiDARInstance3DBoxes

    return {
        "gt_bboxes_3d": LiDARInstance3DBoxes(np.zeros((0, 9), dtype=np.float32), box_dim=9, origin=(0.5, 0.5, 0.5)),
        "gt_labels_3d": np.zeros((0,), dtype=np.int64),
        "gt_names": np.zeros((0,), dtype="<U1"),
        "attr_labels": np.zeros((0, ATTR_DIM), dtype=np.float32),
    }


class VAD(TemporalModel):
    name = "VAD"

    def uses_temporal_state(self, cfg):
        return video_test_mode(cfg)

    def input_dict(self, sample, scene, timestamp, frame_index):
        import numpy as np

        command = command_one_hot(sample)
        result = nuscenes_bev_input(sample, scene, timestamp, frame_index)
        result["pts_filename"] = result["lidar_path"] = sample.path("lidar_path")
        his = sample.array("ego_his_trajs", (HIS_TS, 2), default=np.zeros((HIS_TS, 2)))
        lcf = sample.array("ego_lcf_feat", (9,), default=np.zeros(9))
        result.update({
            "fut_valid_flag": False,
            "ego_his_trajs": his.astype(np.float32),
            "ego_fut_trajs": np.zeros((FUT_TS, 2), dtype=np.float32),
            "ego_fut_masks": np.zeros((FUT_TS,), dtype=np.float32),
            "ego_fut_cmd": command,
            "ego_lcf_feat": lcf.astype(np.float32),
            "ann_info": empty_annotations(),
        })
        return result


if __name__ == "__main__":
    sys.exit(serve(VAD()))
