"""`python -m model.tools.blazepose_import` (part of `make detector`): .tflite weights -> safetensors.

Reads pose_detection.tflite as data with the TFLite flatbuffer schema that the pinned
ai-edge-litert wheel ships (ai_edge_litert.schema_py_generated; nothing in the file is
executed), resolves each constant through the graph's DENSIFY (CSR-sparse storage) and
DEQUANTIZE (fp16 storage) ops to float32, and pairs the graph's 73 convolutions, in graph
order, with BlazePoseDetector.tflite_order(). Every pair is checked (kind, shape, stride,
padding, fused activation) and the other ops are checked against what the PyTorch module
hard-codes (2x bilinear resizes with half-pixel centres, depth-to-space by 2, ReLU6 adds),
so a different file fails here with the op it disagrees on instead of loading wrongly.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from model.atomic import atomic_path
from model.checkpoint import file_sha256
from model.cli import run_main
from model.detector.spec import LICENSE_NOTICE, SOURCE, TFLITE_PATH, WEIGHTS_PATH
from model.network.blazepose_detector import WEIGHTS_FORMAT, WEIGHTS_FORMAT_VERSION, BlazePoseDetector, ConvUnit

# Ops of the graph besides the convolutions and the constant plumbing, as the module implements them.
EXPECTED_OTHER_OPS = {
    ("ADD", "NONE"): 11, ("ADD", "RELU6"): 4, ("CONCATENATION", "NONE"): 2, ("DEPTH_TO_SPACE", 2): 3,
    ("RESIZE_BILINEAR", "align_corners=False", "half_pixel_centers=True"): 2, ("RESHAPE",): 6,
}


class TFLiteImportError(RuntimeError):
    """The .tflite does not match the PyTorch port (one line naming the op)."""


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _names(enum_cls) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_")}


@dataclass
class ConvOp:
    """One CONV_2D / DEPTHWISE_CONV_2D of the graph with its resolved float32 weights."""

    index: int
    kind: str
    weight: np.ndarray  # TFLite layout: OHWI (conv) or 1HWC (depthwise)
    bias: np.ndarray
    stride: int
    padding: str
    explicit_pad: int  # symmetric padding of a PAD op feeding it, else 0
    activation: str


class TFLiteGraph:
    """Constant tensors and ops of subgraph 0 of a .tflite, read with the LiteRT schema."""

    def __init__(self, data: bytes) -> None:
        s = _schema()
        self.s = s
        self.model = s.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise TFLiteImportError(f"expected one subgraph, found {self.model.SubgraphsLength()}")
        self.g = self.model.Subgraphs(0)
        self.op_names = _names(s.BuiltinOperator)
        self.act_names = _names(s.ActivationFunctionType)
        self.pad_names = _names(s.Padding)
        self.produced: dict[int, int] = {}  # tensor -> op index that writes it
        for k in range(self.g.OperatorsLength()):
            for t in self.g.Operators(k).OutputsAsNumpy():
                self.produced[int(t)] = k
        self._const: dict[int, np.ndarray] = {}

    def op_name(self, k: int) -> str:
        """Builtin name of op k."""
        code = self.model.OperatorCodes(self.g.Operators(k).OpcodeIndex())
        return self.op_names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]

    def shape(self, t: int) -> tuple[int, ...]:
        """Static shape of tensor t."""
        return tuple(int(d) for d in self.g.Tensors(t).ShapeAsNumpy())

    def _raw(self, t: int) -> np.ndarray:
        tensor = self.g.Tensors(t)
        buf = self.model.Buffers(tensor.Buffer())
        if buf.DataLength() == 0:
            raise TFLiteImportError(f"tensor {tensor.Name().decode()} has no constant data")
        dtype = {self.s.TensorType.FLOAT32: np.float32, self.s.TensorType.FLOAT16: np.float16,
                 self.s.TensorType.INT32: np.int32}.get(tensor.Type())
        if dtype is None:
            raise TFLiteImportError(f"tensor {tensor.Name().decode()} has unsupported type {tensor.Type()}")
        values = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype)
        sparsity = tensor.Sparsity()
        if sparsity is None:
            return values.reshape(self.shape(t))
        return self._densify(values, sparsity, self.shape(t), tensor.Name().decode())

    def _vector(self, table, type_code: int) -> np.ndarray:
        s = self.s
        cls = {s.SparseIndexVector.Int32Vector: s.Int32Vector, s.SparseIndexVector.Uint16Vector: s.Uint16Vector,
               s.SparseIndexVector.Uint8Vector: s.Uint8Vector}[type_code]
        vec = cls()
        vec.Init(table.Bytes, table.Pos)
        return vec.ValuesAsNumpy().astype(np.int64)

    def _densify(self, values: np.ndarray, sp, shape: tuple[int, ...], name: str) -> np.ndarray:
        """Expand TFLite sparse storage (identity traversal order, no blocks; dense or CSR levels)."""
        order = [int(v) for v in sp.TraversalOrderAsNumpy()]
        if order != list(range(len(shape))) or sp.BlockMapLength():
            raise TFLiteImportError(f"{name}: sparse layout with traversal {order} / block map is not supported")
        dense = np.zeros(shape, dtype=values.dtype)
        levels = []
        for d in range(sp.DimMetadataLength()):
            dm = sp.DimMetadata(d)
            if dm.Format() == self.s.DimensionType.DENSE:
                levels.append(("dense", int(dm.DenseSize()), None, None))
            else:
                segs = self._vector(dm.ArraySegments(), dm.ArraySegmentsType())
                idx = self._vector(dm.ArrayIndices(), dm.ArrayIndicesType())
                levels.append(("csr", 0, segs, idx))
        # positions[l]: for every stored element path so far, (flat position at level l, coordinates)
        paths = [(0, ())]
        for kind, size, segs, idx in levels:
            nxt = []
            for pos, coords in paths:
                if kind == "dense":
                    nxt += [(pos * size + i, (*coords, i)) for i in range(size)]
                else:
                    nxt += [(p, (*coords, int(idx[p]))) for p in range(segs[pos], segs[pos + 1])]
            paths = nxt
        if len(paths) != values.size:
            raise TFLiteImportError(f"{name}: {values.size} stored values for {len(paths)} sparse positions")
        for value, (_, coords) in zip(values, paths):
            dense[coords] = value
        return dense

    def const(self, t: int) -> np.ndarray:
        """Float32 value of a constant tensor, through DENSIFY and DEQUANTIZE ops that compute it."""
        if t in self._const:
            return self._const[t]
        if t in self.produced:
            k = self.produced[t]
            name = self.op_name(k)
            if name not in ("DENSIFY", "DEQUANTIZE"):
                raise TFLiteImportError(f"tensor {t} is computed by {name}, not a constant")
            value = self.const(int(self.g.Operators(k).Inputs(0)))
        else:
            value = self._raw(t)
        value = value.astype(np.float32) if value.dtype == np.float16 else value
        self._const[t] = value
        return value

    def conv_ops(self) -> list[ConvOp]:
        """Every convolution in graph order, with its options and float32 weights."""
        s = self.s
        out = []
        for k in range(self.g.OperatorsLength()):
            name = self.op_name(k)
            if name not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                continue
            op = self.g.Operators(k)
            opts = s.Conv2DOptions() if name == "CONV_2D" else s.DepthwiseConv2DOptions()
            bo = op.BuiltinOptions()
            opts.Init(bo.Bytes, bo.Pos)
            if opts.DilationHFactor() not in (0, 1) or opts.DilationWFactor() not in (0, 1):
                raise TFLiteImportError(f"op {k} {name} is dilated")
            if opts.StrideH() != opts.StrideW():
                raise TFLiteImportError(f"op {k} {name} has strides {opts.StrideH()}x{opts.StrideW()}")
            src = int(op.Inputs(0))
            pad = 0
            if src in self.produced and self.op_name(self.produced[src]) == "PAD":
                pads = self.const(int(self.g.Operators(self.produced[src]).Inputs(1))).reshape(-1, 2)
                if not (pads[0] == 0).all() or not (pads[3] == 0).all() or len(set(pads[1:3].ravel())) != 1:
                    raise TFLiteImportError(f"op {k} {name} is fed by a PAD {pads.tolist()}, not symmetric in H, W")
                pad = int(pads[1, 0])
            out.append(ConvOp(k, name, self.const(int(op.Inputs(1))), self.const(int(op.Inputs(2))),
                              opts.StrideH(), self.pad_names[opts.Padding()], pad,
                              self.act_names[opts.FusedActivationFunction()]))
        return out

    def other_ops(self) -> Counter:
        """Counts of the remaining compute ops with the options the port depends on."""
        s = self.s
        seen: Counter = Counter()
        for k in range(self.g.OperatorsLength()):
            name = self.op_name(k)
            op = self.g.Operators(k)
            bo = op.BuiltinOptions()
            if name == "ADD":
                o = s.AddOptions()
                o.Init(bo.Bytes, bo.Pos)
                seen[(name, self.act_names[o.FusedActivationFunction()])] += 1
            elif name == "CONCATENATION":
                o = s.ConcatenationOptions()
                o.Init(bo.Bytes, bo.Pos)
                seen[(name, self.act_names[o.FusedActivationFunction()])] += 1
            elif name == "DEPTH_TO_SPACE":
                o = s.DepthToSpaceOptions()
                o.Init(bo.Bytes, bo.Pos)
                seen[(name, o.BlockSize())] += 1
            elif name == "RESIZE_BILINEAR":
                o = s.ResizeBilinearOptions()
                o.Init(bo.Bytes, bo.Pos)
                align, half = bool(o.AlignCorners()), bool(o.HalfPixelCenters())
                seen[(name, f"align_corners={align}", f"half_pixel_centers={half}")] += 1
            elif name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "DENSIFY", "DEQUANTIZE", "PAD"):
                seen[(name,)] += 1
        return seen


def _assign(unit: ConvUnit, op: ConvOp, where: str) -> None:
    """Copy one graph convolution into one module convolution after checking that they are the same layer."""
    conv = unit.conv
    kind = "DEPTHWISE_CONV_2D" if unit.depthwise else "CONV_2D"
    if op.kind != kind:
        raise TFLiteImportError(f"{where}: graph op {op.index} is {op.kind}, the module has {kind}")
    w = op.weight.transpose(3, 0, 1, 2) if unit.depthwise else op.weight.transpose(0, 3, 1, 2)  # -> OIHW
    if tuple(w.shape) != tuple(conv.weight.shape) or op.bias.shape != (conv.out_channels,):
        raise TFLiteImportError(f"{where}: graph op {op.index} weight {w.shape}, module {tuple(conv.weight.shape)}")
    k = conv.kernel_size[0]
    if op.stride != conv.stride[0]:
        raise TFLiteImportError(f"{where}: graph op {op.index} stride {op.stride}, module {conv.stride[0]}")
    pad_ok = (op.padding == "VALID" and op.explicit_pad == k // 2) or (
        op.padding == "SAME" and op.stride == 1 and op.explicit_pad == 0) or (k == 1 and op.explicit_pad == 0)
    if not pad_ok:
        raise TFLiteImportError(f"{where}: graph op {op.index} pad {op.padding}+{op.explicit_pad} != {k // 2}")
    if op.activation != ("RELU6" if unit.relu6 else "NONE"):
        raise TFLiteImportError(f"{where}: graph op {op.index} activation {op.activation}, module relu6={unit.relu6}")
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
        conv.bias.copy_(torch.from_numpy(op.bias))


def import_tflite(tflite: Path) -> BlazePoseDetector:
    """A BlazePoseDetector holding the .tflite's weights (every layer checked against the graph)."""
    graph = TFLiteGraph(Path(tflite).read_bytes())
    others = graph.other_ops()
    if others != Counter(EXPECTED_OTHER_OPS):
        raise TFLiteImportError(f"the graph's other ops {dict(others)} differ from the port's {EXPECTED_OTHER_OPS}")
    net = BlazePoseDetector()
    units = net.tflite_order()
    ops = graph.conv_ops()
    if len(ops) != len(units):
        raise TFLiteImportError(f"the graph has {len(ops)} convolutions, the module {len(units)}")
    names = {id(m): n for n, m in net.named_modules()}
    for unit, op in zip(units, ops):
        _assign(unit, op, names[id(unit)])
    return net.eval()


def write_weights(net: BlazePoseDetector, out: Path, source_sha256: str) -> Path:
    """The module's state dict as safetensors with a header naming its source and licence."""
    meta = {
        "format": WEIGHTS_FORMAT,
        "format_version": WEIGHTS_FORMAT_VERSION,
        "source": f"{SOURCE.package}=={SOURCE.version}:{SOURCE.tflite_member}",
        "source_sha256": source_sha256,
        "license": SOURCE.license_name,
        "notice": LICENSE_NOTICE,
    }
    tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    with atomic_path(out) as tmp:
        save_file(tensors, tmp, metadata=meta)
    return out


def _up_to_date(out: Path, source_sha256: str) -> bool:
    """Whether `out` was converted from this .tflite by this format version."""
    from safetensors import safe_open

    if not out.is_file():
        return False
    with safe_open(str(out), framework="pt") as f:
        meta = f.metadata() or {}
    return meta.get("source_sha256") == source_sha256 and meta.get("format_version") == WEIGHTS_FORMAT_VERSION


def main(argv: list[str] | None = None) -> int:
    """Fetch (if needed), convert and write the safetensors weights."""
    from model.tools.detector_fetch import FetchError, ensure_tflite

    parser = argparse.ArgumentParser(prog="python -m model.tools.blazepose_import", description=__doc__.splitlines()[0])
    parser.add_argument("--tflite", default=None, help=f"default: fetch the pinned file to {TFLITE_PATH}")
    parser.add_argument("--out", default=str(WEIGHTS_PATH))
    parser.add_argument("--force", action="store_true", help="convert even if the output is already up to date")
    args = parser.parse_args(argv)
    try:
        tflite = Path(args.tflite) if args.tflite else ensure_tflite()
        if not args.force and _up_to_date(Path(args.out), file_sha256(tflite)):
            print(f"detector weights: {args.out} is up to date ({tflite.name})")
            return 0
        net = import_tflite(tflite)
    except (FetchError, TFLiteImportError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = write_weights(net, Path(args.out), file_sha256(tflite))
    params = sum(p.numel() for p in net.parameters())
    print(f"detector weights: {out} ({params / 1e6:.2f} M parameters from {tflite.name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
