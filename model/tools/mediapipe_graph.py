"""`python -m model.tools.mediapipe_graph` (make detector-graph): MediaPipe's pose-detection graphs, as text.

Where model/pipeline/detector.py's constants come from. The wheel's pose_landmark_cpu.binarypb
uses two subgraphs, PoseDetectionCpu and PoseDetectionToRoi, that MediaPipe compiles into its
extension module (mediapipe/python/_framework_bindings*.so) as serialised CalculatorGraphConfig
protos. This tool finds them in the pinned wheel by their `type` field, and decodes them with
protobuf descriptors that the wheel's *_pb2.py files carry as bytes literals (read with
ast.literal_eval: no code from the wheel is imported or run).
"""

from __future__ import annotations

import ast
import re
import sys
import zipfile
from pathlib import Path

from model.cli import run_main
from model.detector.spec import CACHE_DIR

SUBGRAPHS = ("PoseDetectionCpu", "PoseDetectionToRoi")
TOP_GRAPH = "mediapipe/modules/pose_landmark/pose_landmark_cpu.binarypb"
BINDINGS = re.compile(r"mediapipe/python/_framework_bindings.*\.so$")


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _parses(buf: bytes, start: int, end: int) -> bool:
    """Whether buf[start:end] is a well-formed run of protobuf fields."""
    i = start
    try:
        while i < end:
            tag, i = _varint(buf, i)
            wire = tag & 7
            if tag >> 3 == 0:
                return False
            if wire == 0:
                _, i = _varint(buf, i)
            elif wire == 1:
                i += 8
            elif wire == 2:
                n, i = _varint(buf, i)
                i += n
            elif wire == 5:
                i += 4
            else:
                return False
    except IndexError:
        return False
    return i == end


def find_subgraph(binary: bytes, name: str) -> bytes:
    """The serialised CalculatorGraphConfig whose last field is `type: name` (field 20).

    Its start is the nearest earlier offset, after a run of zero padding, from which the bytes
    parse as protobuf fields up to that `type` field and begin with a `node` field.
    """
    tail = b"\xa2\x01" + bytes([len(name)]) + name.encode()
    end = binary.find(tail)
    if end < 0:
        raise ValueError(f"subgraph {name} not found in the bindings")
    end += len(tail)
    for start in range(end - len(tail), max(0, end - 20000), -1):
        if binary[start] == 0x0A and binary[start - 4:start] == b"\0\0\0\0" and _parses(binary, start, end):
            return binary[start:end]
    raise ValueError(f"no well-formed start found for subgraph {name}")


def descriptor_pool(wheel: zipfile.ZipFile):
    """A protobuf DescriptorPool with every FileDescriptorProto serialised in the wheel's *_pb2.py files."""
    from google.protobuf import any_pb2, descriptor_pb2
    from google.protobuf import descriptor_pool as dpool

    files = {}
    for std in (any_pb2, descriptor_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        std.DESCRIPTOR.CopyToProto(proto)
        files[proto.name] = proto
    for member in wheel.namelist():
        if not member.endswith("_pb2.py"):
            continue
        for node in ast.walk(ast.parse(wheel.read(member))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddSerializedFile":
                proto = descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(node.args[0]))
                files[proto.name] = proto
    pool, added = dpool.DescriptorPool(), set()

    def add(name: str) -> None:
        if name in added or name not in files:
            return
        for dep in files[name].dependency:
            add(dep)
        pool.Add(files[name])
        added.add(name)

    for name in files:
        add(name)
    return pool


def load_graphs(wheel_path: Path):
    """(descriptor pool, {graph name: CalculatorGraphConfig}) for the top-level pose graph and both subgraphs."""
    from google.protobuf import message_factory

    with zipfile.ZipFile(wheel_path) as wheel:
        pool = descriptor_pool(wheel)
        config = message_factory.GetMessageClass(pool.FindMessageTypeByName("mediapipe.CalculatorGraphConfig"))
        bindings = next(n for n in wheel.namelist() if BINDINGS.search(n))
        binary = wheel.read(bindings)
        raw = {"PoseLandmarkCpu": wheel.read(TOP_GRAPH)}
        raw.update({name: find_subgraph(binary, name) for name in SUBGRAPHS})
    return pool, {name: config.FromString(data) for name, data in raw.items()}


def calculator_options(wheel_path: Path) -> dict[str, dict]:
    """{calculator: {option field: value}} of the two detection subgraphs (repeated fields as lists)."""
    _, graphs = load_graphs(wheel_path)
    out: dict[str, dict] = {}
    for name in SUBGRAPHS:
        for node in graphs[name].node:
            for _, ext in node.options.ListFields():  # the calculator's options extension
                out[node.calculator] = {f.name: (list(v) if isinstance(v, (list, tuple)) or hasattr(v, "append")
                                                 else v) for f, v in ext.ListFields()}
    return out


def graph_texts(wheel_path: Path) -> dict[str, str]:
    """Text form of the top-level pose graph and of both detection subgraphs."""
    from google.protobuf import text_format

    pool, graphs = load_graphs(wheel_path)
    return {name: text_format.MessageToString(msg, descriptor_pool=pool) for name, msg in graphs.items()}


def main() -> int:
    """Print the graphs of the pinned wheel (fetched into the cache if needed)."""
    from model.tools.detector_fetch import FetchError, ensure_wheel

    try:
        wheel = ensure_wheel(CACHE_DIR)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, text in graph_texts(wheel).items():
        print(f"# {name} (from {wheel.name})\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
