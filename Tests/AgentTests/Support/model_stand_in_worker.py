"""STAND-IN for a real model's worker (MapTR, PETR, StreamPETR, TopoMLP, VAD): their weights and a GPU
do not exist here. The HTTP API tests run it through the REAL engine, the real worker runtime and the
model's REAL plugin: it is the synthetic Demo worker (Plugins/Demo/worker.py) answering in the model's
own raw format (worker option raw_format), handed back unwrapped, as the real worker answers.

With the worker option record_dir it also writes what it received to <record_dir>/last.json: the
inputs and, base64, the bytes of every file a *path/*paths input names (read as the worker's user),
so the API tests can check what reached the worker.
"""
import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "Plugins", "Demo"))

import worker as demo  # noqa: E402


def path_values(value, under_path_key=False):
    if isinstance(value, dict):
        for key, member in value.items():
            yield from path_values(member, key.lower().endswith(("path", "paths")))
    elif isinstance(value, list):
        for item in value:
            yield from path_values(item, under_path_key)
    elif isinstance(value, str) and under_path_key:
        yield value


class ModelStandIn(demo.Demo):
    def infer(self, inputs, options):
        record_dir = self.options.get("record_dir")
        if record_dir:
            files = {}
            for path in path_values(inputs):
                try:
                    with open(path, "rb") as handle:
                        files[path] = base64.b64encode(handle.read()).decode("ascii")
                except OSError:
                    files[path] = None
            temporary = os.path.join(record_dir, f".last-{os.getpid()}.json")
            with open(temporary, "w") as handle:
                json.dump({"inputs": inputs, "files": files}, handle)
            os.replace(temporary, os.path.join(record_dir, "last.json"))
        return super().infer(inputs, options)["output"]


if __name__ == "__main__":
    sys.exit(demo.serve(ModelStandIn()))
