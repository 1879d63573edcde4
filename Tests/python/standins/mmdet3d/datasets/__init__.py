"""STAND-IN for mmdet3d.datasets (tests only)."""
