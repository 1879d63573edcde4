"""STAND-IN for mmdet3d.models (tests only): the DETECTORS registry the stand-in plugins fill."""


class Registry(dict):
    def register_module(self, name=None):
        def add(cls):
            self[name or cls.__name__] = cls
            return cls
        return add


DETECTORS = Registry()
