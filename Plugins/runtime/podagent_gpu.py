"""Can this image's compiled GPU code run on this GPU? (docs/images.md, "Which GPUs each image serves")

A CUDA kernel built for `sm_XY` runs on GPUs of compute capability X.y with y >= Y (same major
version only); PTX for `compute_XY` is compiled by the driver for any GPU of capability >= X.Y.
A GPU none of whose kernels fit answers "no kernel image is available for execution on the
device" in the middle of a request; this module finds that out at load instead, from

- torch's own build: `torch.cuda.get_arch_list()` (e.g. sm_37 ... sm_86 for torch 1.9 + CUDA 11.1);
- the manifest's declared architectures of the code compiled into the image (ops built with
  TORCH_CUDA_ARCH_LIST, flash-attn's kernels), passed by podagent as PODAGENT_CUDA_ARCHITECTURES:
  a JSON object {component: ["8.0", "8.6+PTX", ...]}.

Used by the worker runtime before a model loads, and by `podagent validate` as a script:
`python3 podagent_gpu.py` prints a JSON report of every visible GPU.
"""
import json
import os
import re
import sys

ARCHITECTURES_ENV = "PODAGENT_CUDA_ARCHITECTURES"

_TORCH_ENTRY = re.compile(r"^(sm|compute)_(\d+)(\d)[a-z]?$")
_MANIFEST_ENTRY = re.compile(r"^(\d+)\.(\d+)(\+PTX)?$")


def parse_torch_arch_list(entries):
    """torch's 'sm_86' / 'compute_86' entries as (kind, major, minor) targets."""
    targets = []
    for entry in entries:
        match = _TORCH_ENTRY.match(str(entry).strip())
        if match:
            targets.append((match.group(1), int(match.group(2)), int(match.group(3))))
    return targets


def parse_manifest_architectures(entries):
    """TORCH_CUDA_ARCH_LIST-style '8.6' / '8.6+PTX' entries as targets (PTX adds a compute_ target)."""
    targets = []
    for entry in entries:
        match = _MANIFEST_ENTRY.match(str(entry).strip())
        if not match:
            raise ValueError(f"{ARCHITECTURES_ENV}: {entry!r} is not an architecture like 8.6 or 8.6+PTX")
        major, minor = int(match.group(1)), int(match.group(2))
        targets.append(("sm", major, minor))
        if match.group(3):
            targets.append(("compute", major, minor))
    return targets


def runs_on(targets, capability):
    """Whether code built for `targets` runs on a GPU of `capability` (major, minor)."""
    major, minor = capability
    for kind, t_major, t_minor in targets:
        if kind == "sm" and t_major == major and t_minor <= minor:
            return True
        if kind == "compute" and (t_major, t_minor) <= (major, minor):
            return True
    return False


def describe(targets):
    """'sm_37, sm_50, ..., sm_86 (no PTX: nothing newer)' or '... + PTX compute_86 (newer GPUs by JIT)'."""
    kernels = sorted({(m, n) for kind, m, n in targets if kind == "sm"})
    ptx = sorted({(m, n) for kind, m, n in targets if kind == "compute"})
    text = ", ".join(f"sm_{m}{n}" for m, n in kernels) or "no kernels"
    if ptx:
        return text + " + PTX " + ", ".join(f"compute_{m}{n}" for m, n in ptx) + " (newer GPUs by JIT)"
    return text + " (no PTX: nothing newer)"


def declared_architectures(environ):
    """The manifest's {component: targets} from PODAGENT_CUDA_ARCHITECTURES ({} when unset)."""
    raw = environ.get(ARCHITECTURES_ENV, "") or "{}"
    try:
        declared = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"{ARCHITECTURES_ENV} is not JSON: {error}") from None
    if not isinstance(declared, dict) or not all(isinstance(v, list) for v in declared.values()):
        raise ValueError(f"{ARCHITECTURES_ENV} must be a JSON object of lists")
    return {name: parse_manifest_architectures(entries) for name, entries in declared.items()}


def device_report(torch, index, declared):
    """One GPU: its name, capability and why this image cannot run on it (empty when it can)."""
    major, minor = torch.cuda.get_device_capability(index)
    name = torch.cuda.get_device_name(index)
    capability = (int(major), int(minor))
    problems = []
    torch_targets = parse_torch_arch_list(torch.cuda.get_arch_list())
    if not runs_on(torch_targets, capability):
        version = getattr(torch, "__version__", "?")
        problems.append(f"torch {version} has kernels for {describe(torch_targets)}")
    for component, targets in declared.items():
        if not runs_on(targets, capability):
            problems.append(f"{component} is built for {describe(targets)}")
    return {"index": index, "name": name, "capability": f"{capability[0]}.{capability[1]}",
            "sm": f"sm_{capability[0]}{capability[1]}", "problems": problems}


def incompatibility(report, visible=None):
    """The not-ready reason for a device report with problems, else None."""
    if not report["problems"]:
        return None
    where = f"GPU {report['index']}" + (f" (CUDA_VISIBLE_DEVICES={visible})" if visible else "")
    return (f"{where} {report['name']} has compute capability {report['capability']} ({report['sm']}), "
            f"which this image cannot run: " + "; ".join(report["problems"])
            + ". See docs/images.md, 'Which GPUs each image serves'")


def check_device(device, environ):
    """Before a model loads on `device` ('cuda:N'): None when it can run here (or there is nothing to
    check: a CPU device, a model whose manifest declares no environment, as the synthetic Demo, which
    runs no GPU code), else the reason naming the GPU, its capability and what the image supports.
    A CUDA device that torch cannot see is a reason too."""
    if not str(device).startswith("cuda") or ARCHITECTURES_ENV not in environ:
        return None
    import torch  # a model with an environment runs on torch: its absence is the image's fault, said at load

    declared = declared_architectures(environ)
    index = int(str(device).partition(":")[2] or 0)
    if not torch.cuda.is_available():
        return (f"the worker's device is {device}, but torch {getattr(torch, '__version__', '?')} sees no usable GPU "
                f"(CUDA_VISIBLE_DEVICES={environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}): check the driver and the container's GPU access")
    return incompatibility(device_report(torch, index, declared), environ.get("CUDA_VISIBLE_DEVICES"))


def main(environ=None):
    """`podagent validate`'s probe: a JSON report of every GPU torch sees, against this image."""
    environ = os.environ if environ is None else environ
    report = {"torch": None, "arch_list": [], "declared": {}, "devices": [], "error": None}
    try:
        report["declared"] = json.loads(environ.get(ARCHITECTURES_ENV, "") or "{}")
        declared = declared_architectures(environ)
        import torch

        report["torch"] = getattr(torch, "__version__", "?")
        if torch.cuda.is_available():
            report["arch_list"] = list(torch.cuda.get_arch_list())
            for index in range(torch.cuda.device_count()):
                device = device_report(torch, index, declared)
                device["reason"] = incompatibility(device)
                report["devices"].append(device)
    except Exception as error:  # noqa: BLE001 - the report says what went wrong
        report["error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
