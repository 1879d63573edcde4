"""STAND-IN for mmcv (tests only): Config.fromfile over a plain Python config. Not OpenMMLab's mmcv."""
import importlib
import runpy

from standin_log import record as _record


class Config(dict):
    """A dict with attribute access, like mmcv's ConfigDict."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    @staticmethod
    def wrap(value):
        if isinstance(value, dict):
            return Config({k: Config.wrap(v) for k, v in value.items()})
        if isinstance(value, list):
            return [Config.wrap(v) for v in value]
        return value

    @staticmethod
    def fromfile(filename, import_custom_modules=True):
        names = runpy.run_path(filename)
        cfg = Config.wrap({k: v for k, v in names.items() if not k.startswith("__")})
        cfg["filename"] = filename
        _record("mmcv.Config.fromfile", filename=filename)
        if import_custom_modules and cfg.get("custom_imports"):
            for module in cfg.custom_imports["imports"]:
                importlib.import_module(module)
                _record("mmcv.custom_imports", module=module)
        return cfg
