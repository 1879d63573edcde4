"""STAND-IN for mmcv.parallel (tests only): DataContainer, collate and scatter for a batch of one."""
import numpy as np

import torch
from standin_log import record as _record


class DataContainer:
    def __init__(self, data, stack=False, padding_value=0, cpu_only=False, pad_dims=2):
        self.data = data
        self.stack = stack
        self.cpu_only = cpu_only


def _collate_one(value):
    if isinstance(value, DataContainer):
        if value.stack and isinstance(value.data, torch.Tensor):
            return DataContainer([torch.Tensor(np.expand_dims(value.data.numpy(), 0))], stack=True)
        return DataContainer([[value.data]], cpu_only=value.cpu_only)
    if isinstance(value, dict):
        return {k: _collate_one(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_collate_one(v) for v in value]
    return [value]


def collate(batch, samples_per_gpu=1):
    assert len(batch) == 1 and samples_per_gpu == 1, "stand-in collate: a batch of one only"
    _record("mmcv.parallel.collate", samples_per_gpu=samples_per_gpu, keys=sorted(batch[0]))
    return _collate_one(batch[0])


def _scatter_one(value, gpu):
    if isinstance(value, DataContainer):
        chunk = value.data[0]
        if isinstance(chunk, torch.Tensor) and not value.cpu_only:
            return chunk.cuda(gpu) if gpu >= 0 else chunk
        return chunk
    if isinstance(value, dict):
        return {k: _scatter_one(v, gpu) for k, v in value.items()}
    if isinstance(value, list):
        return [_scatter_one(v, gpu) for v in value]
    return value


def scatter(inputs, target_gpus, dim=0):
    _record("mmcv.parallel.scatter", target_gpus=list(target_gpus))
    return [_scatter_one(inputs, target_gpus[0])]
