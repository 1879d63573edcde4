"""STAND-IN for mmdet3d (tests only). Not OpenMMLab's mmdetection3d."""
__version__ = "standin"
