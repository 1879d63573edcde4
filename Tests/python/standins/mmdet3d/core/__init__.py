"""STAND-IN for mmdet3d.core (tests only)."""
