"""ONNX: export a generator with dynamic batch, height and width, check the file with ONNX Runtime against
PyTorch before it is written (atomically), and run exported files.

The graph is the network itself, as the Translator runs it: input `image`, float32 (N, C, H, W) in [-1, 1]
with H and W multiples of `cyclegan.multiple` (4 for the ResNet generators and fast NST); output `output`,
the same layout. Pad to the multiple and crop back around it (cyclegan.load does). The file's metadata
(`cyclegan.*` keys) says what it is: kind, architecture, direction, the multiple, the source weights.
"""
import json
import os
import warnings

import numpy as np
import torch

from ..io import atomic_write_bytes
from .errors import ModelFileError

FORMAT = "1"
META = "cyclegan."


class ExportMismatch(ModelFileError):
    """ONNX Runtime's outputs differ from PyTorch's by more than the tolerance: nothing was written."""


def _sample(multiple, channels):
    side = max(64, multiple)
    return torch.zeros(1, channels, side, side)


def to_onnx_bytes(core, info, opset=18):
    """Serialized ONNX model of `core` (a float32 eval-mode module on the CPU) with the cyclegan metadata."""
    import onnx  # noqa: F401  (torch.onnx needs it; import errors name the package here)
    m = info["multiple"]
    n, h, w = (torch.export.Dim(name, min=1) for name in ("N", "H", "W"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracing notes
        program = torch.onnx.export(core, (_sample(m, info["input_nc"]),), None, input_names=["image"],
                                    output_names=["output"], opset_version=opset, dynamo=True, verbose=False,
                                    dynamic_shapes=({0: n, 2: m * h, 3: m * w},))
    model = program.model_proto
    meta = {"format": FORMAT, "multiple": str(m), "range": "[-1, 1]", **{k: _meta_value(v) for k, v in info.items()}}
    for key, value in meta.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = META + key, value
    model.doc_string = ("cyclegan generator: image float32 (N, C, H, W) in [-1, 1], H and W multiples of "
                        f"{m} -> output, the same layout")
    return model.SerializeToString()


def _meta_value(v):
    return v if isinstance(v, str) else json.dumps(v)


def session(source, path_for_errors, threads=None):
    """An ONNX Runtime CPU session over a file path or serialized bytes."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(source, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - ORT raises its own exception types for every kind of bad file
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise ModelFileError(f"{path_for_errors}: not a readable ONNX model ({first}); export one with "
                             f"`cyclegan-export`") from None


class OnnxNet:
    """An exported generator run by ONNX Runtime on the CPU: call it on a float32 (N, C, H, W) tensor in
    [-1, 1], sides multiples of `multiple`. Files without the cyclegan metadata, or whose input is not an
    image of the channels it states, are refused with ModelFileError."""

    def __init__(self, path, threads=None):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ModelFileError(f"{path}: no such ONNX file")
        self.path = path
        self.session = session(path, path, threads)
        meta = self.session.get_modelmeta().custom_metadata_map
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        described = ", ".join(f"{i.name} {i.type} {i.shape}" for i in inputs)
        if not any(k.startswith(META) for k in meta):
            raise ModelFileError(f"{path}: an ONNX model not exported by cyclegan-export (no cyclegan metadata; "
                                 f"inputs: {described}); export the generator with `cyclegan-export`")
        self.info = {k[len(META):]: _parse(v) for k, v in meta.items() if k.startswith(META)}
        self.multiple = int(self.info.get("multiple", 4))
        channels = int(self.info.get("input_nc", 3))
        ok = (len(inputs) == 1 and len(outputs) == 1 and inputs[0].type == "tensor(float)"
              and len(inputs[0].shape) == 4 and inputs[0].shape[1] == channels and len(outputs[0].shape) == 4)
        if not ok:
            raise ModelFileError(f"{path}: its graph does not take and return float images of {channels} channels "
                                 f"(inputs: {described}); it is another architecture, not a cyclegan generator")
        self.input_name = inputs[0].name

    def __call__(self, x):
        y = self.session.run(None, {self.input_name: x.detach().float().cpu().contiguous().numpy()})[0]
        return torch.from_numpy(np.ascontiguousarray(y))

    def eval(self):
        return self


def _parse(value):
    try:
        return json.loads(value)
    except ValueError:
        return value


def export(core, info, path, check_images, tolerance=1e-3, log=print):
    """Export `core` to `path` (atomically), after checking ONNX Runtime against PyTorch on `check_images`
    ((1, C, H, W) tensors in [-1, 1], sides multiples of the net's multiple, several shapes). Returns the
    max absolute difference over them; ExportMismatch (nothing written) when it is above `tolerance`."""
    core = core.float().eval()
    data = to_onnx_bytes(core, info)
    sess = session(data, path)
    worst = 0.0
    for x in check_images:
        with torch.no_grad():
            ref = core(x)
        got = sess.run(None, {"image": x.numpy()})[0]
        diff = float(np.abs(got - ref.numpy()).max())
        log(f"  {tuple(x.shape[-2:])}: max |onnxruntime - pytorch| = {diff:.2e}")
        worst = max(worst, diff)
    if not worst <= tolerance:
        raise ExportMismatch(f"{path}: ONNX Runtime differs from PyTorch by up to {worst:.3g} (tolerance "
                             f"{tolerance:g}, in [-1, 1] units); nothing was written")
    atomic_write_bytes(path, data)
    session(path, path)  # the written file opens
    return worst
