"""LiteRT's ahead-of-time compile of a .tflite for one Snapdragon SoC, and what runs where.

The compiler plugin (ai-edge-litert's libLiteRtCompilerPlugin_Qualcomm.so) partitions the graph: each
partition becomes one dispatch op holding an HTP context binary, the rest stays as TFLite ops for the
phone's CPU. The residency report counts both and names every op left on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from export.qnn.sdk import QnnUnavailable, lpai_standin_dir, qnn_lib_dir, soc


@dataclass
class Residency:
    """Where the ops of one compiled model run."""

    soc: str
    npu_ops: int
    total_ops: int
    partitions: int
    cpu_ops: list[str] = field(default_factory=list)  # builtin names of the ops left on the CPU

    @property
    def full(self) -> bool:
        """Every op on the NPU, in one partition."""
        return self.npu_ops == self.total_ops and self.partitions == 1 and not self.cpu_ops

    def as_dict(self) -> dict:
        """The contract's and report's form."""
        return {**asdict(self), "full": self.full}

    def __str__(self) -> str:
        left = f"; on the CPU: {', '.join(sorted(set(self.cpu_ops)))}" if self.cpu_ops else ""
        return f"{self.soc}: {self.npu_ops}/{self.total_ops} ops on the NPU in {self.partitions} partition(s){left}"


def _cpu_ops(path: Path) -> list[str]:
    """Op names of the compiled model's ops that are not NPU dispatch ops, read from the TFLite flatbuffer
    (custom codes for custom ops). The interpreter cannot load such a model here: it has no kernel for ops
    like STABLEHLO_SORT that stay on the phone's CPU."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for op in model.subgraphs[0].operators:
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = (code.customCode.decode() if code.customCode else "CUSTOM") if names.get(builtin) == "CUSTOM" \
            else names.get(builtin, str(builtin))
        if "dispatch" not in name.lower():
            out.append(name)
    return out


def compile_for_soc(tflite: Path, soc_name: str, out: Path) -> Residency:
    """Compile `tflite` for `soc_name` into `out`; returns where its ops run. QnnUnavailable when the
    compiler cannot run here, RuntimeError with the compiler's log when it fails."""
    from ai_edge_litert.aot.core import aot_types, apply_plugin, common
    from ai_edge_litert.aot.vendors.qualcomm import qualcomm_backend

    soc(soc_name)  # a known SoC
    try:
        plugin = Path(common.get_resource(qualcomm_backend.COMPILER_PLUGIN_LIB_PATH))
    except FileNotFoundError:
        raise QnnUnavailable("ai-edge-litert ships no Qualcomm compiler plugin for this platform") from None
    sdk_libs = os.pathsep.join([str(qnn_lib_dir()), str(lpai_standin_dir())])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    compiled = aot_types.Model(path=out)
    try:
        apply_plugin.ApplyPlugin()(aot_types.Model.create_from_path(tflite), compiled, "Qualcomm", soc_name,
                                   libs=str(plugin.parent), sdk_libs_path=sdk_libs)
    except ValueError as exc:
        raise RuntimeError(f"LiteRT's Qualcomm compiler failed for {soc_name}: {exc}") from None
    stats = compiled.partition_stats.subgraph_stats if compiled.partition_stats else []
    if not stats:
        raise RuntimeError(f"LiteRT's Qualcomm compiler reported no partition statistics for {soc_name}")
    npu = sum(s.num_ops_offloaded for s in stats)
    total = sum(s.num_total_ops for s in stats)
    partitions = sum(s.num_partitions_offloaded for s in stats)
    return Residency(soc_name, npu, total, partitions, _cpu_ops(out) if npu < total else [])
