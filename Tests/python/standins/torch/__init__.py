"""STAND-IN for torch (tests only): numpy-backed tensors and a recording torch.cuda. Not PyTorch."""
import numpy as _np

__version__ = "1.9.1+standin"

from standin_log import record as _record

float32 = _np.float32
float64 = _np.float64
int64 = _np.int64
long = _np.int64
bool = _np.bool_


class device:
    def __init__(self, spec):
        spec = str(spec)
        self.type, _, index = spec.partition(":")
        self.index = int(index) if index else None

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


class Tensor:
    def __init__(self, array, device_name="cpu"):
        self._array = _np.asarray(array)
        self.device = device(device_name)

    # the tensor API the workers and stand-in models use
    @property
    def shape(self):
        return self._array.shape

    @property
    def dtype(self):
        return self._array.dtype

    def size(self, dim=None):
        return self._array.shape if dim is None else self._array.shape[dim]

    def dim(self):
        return self._array.ndim

    def tolist(self):
        return self._array.tolist()

    def numpy(self):
        return self._array

    def contiguous(self):
        return Tensor(_np.ascontiguousarray(self._array), str(self.device))

    def detach(self):
        return self

    def cpu(self):
        return Tensor(self._array, "cpu")

    def cuda(self, index=0, non_blocking=False):
        return Tensor(self._array, f"cuda:{index}")

    def to(self, target, **_):
        if isinstance(target, (str, device)):
            return Tensor(self._array, str(target))
        return Tensor(self._array.astype(target), str(self.device))

    def float(self):
        return Tensor(self._array.astype(_np.float32), str(self.device))

    def unsqueeze(self, dim):
        return Tensor(_np.expand_dims(self._array, dim), str(self.device))

    def new_zeros(self, *shape):
        return Tensor(_np.zeros(shape, dtype=self._array.dtype), str(self.device))

    def new_ones(self, *shape):
        return Tensor(_np.ones(shape, dtype=self._array.dtype), str(self.device))

    def __getitem__(self, index):
        value = self._array[index]
        return Tensor(_np.asarray(value), str(self.device))

    def __len__(self):
        return len(self._array)

    def __repr__(self):
        return f"standin.Tensor(shape={self._array.shape}, dtype={self._array.dtype}, device={self.device})"


def tensor(data, dtype=None):
    return Tensor(_np.array(data, dtype=dtype))


def from_numpy(array):
    return Tensor(array)


def zeros(*shape, dtype=float32):
    return Tensor(_np.zeros(shape, dtype=dtype))


def stack(tensors, dim=0):
    return Tensor(_np.stack([t._array for t in tensors], axis=dim))


class no_grad:
    def __enter__(self):
        _record("torch.no_grad")
        return self

    def __exit__(self, *exc):
        return False


from . import cuda  # noqa: E402,F401
