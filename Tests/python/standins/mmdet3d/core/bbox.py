"""STAND-IN for mmdet3d.core.bbox (tests only)."""
import numpy as np

import torch


class LiDARInstance3DBoxes:
    """Holds an (N, box_dim) tensor like mmdet3d's box structures; no geometry."""

    def __init__(self, tensor, box_dim=7, with_yaw=True, origin=(0.5, 0.5, 0)):
        array = tensor.numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor, dtype=np.float32)
        if tuple(origin) != (0.5, 0.5, 0) and len(array):
            array = array.copy()
            array[:, 2] += array[:, 5] * (0 - origin[2])
        self.tensor = torch.Tensor(array.reshape(-1, box_dim))
        self.box_dim = box_dim

    def __len__(self):
        return self.tensor.shape[0]


def get_box_type(box_type):
    if box_type.lower() != "lidar":
        raise ValueError(f"stand-in get_box_type knows LiDAR only, got {box_type}")
    return LiDARInstance3DBoxes, "LiDAR"
