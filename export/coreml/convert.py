"""torch -> Core ML ML Program (iOS 17, fp16), with an ImageType input and full metadata.

coremltools 9 converts a torch.export program after run_decompositions({}) (its
jit.trace path fails on this torch's shape ops, docs/DESIGN.md §8).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

AUTHOR = "MeshPose mobile toolchain"
CONTRACT_METADATA_KEY = "meshpose.contract"
COMPRESSIONS = ("palettize8", "linear8", "w8a8")


def _silence_coremltools() -> None:
    import logging

    logging.getLogger("coremltools").setLevel(logging.ERROR)


def convert_coreml(
    module: torch.nn.Module,
    example_input: torch.Tensor,
    out_path: Path,
    *,
    contract: dict[str, Any],
    compress: str | None = None,
    calibration: list[np.ndarray] | None = None,
    ranges: dict[str, dict[str, float]] | None = None,
) -> Path:
    """Convert a DeployModel built with normalize_in_graph=False; write the .mlpackage atomically.

    compress: None (fp16 weights), "palettize8" (8-bit weight palettes) or "linear8" (symmetric
    int8 weights); both decompress to fp16 at load time, so the ops and their placement stay the same.
    "w8a8": int8 weights and int8 activations outside the float parts, the activation ranges measured on
    `calibration` (NCHW float32 pixels in [0, 255]) by the numpy MIL executor (export/coreml/w8a8.py), or
    given as `ranges` (MIL var name -> rmin / rmax, as `w8a8.activation_ranges` measures them).
    """
    if compress is not None and compress not in COMPRESSIONS:
        raise ValueError(f"unknown compression {compress!r}; use one of {COMPRESSIONS} or None")
    if not Path(out_path).parent.is_dir():
        raise FileNotFoundError(f"output folder {Path(out_path).parent} does not exist")
    if Path(out_path).suffix != ".mlpackage":
        raise ValueError(f"out_path must end in .mlpackage, got {out_path}")
    _silence_coremltools()
    import coremltools as ct

    if getattr(module, "normalize_in_graph", False):
        raise ValueError("Core ML export takes the deploy model built with normalize_in_graph=False "
                         "(the ImageType input applies the contract's normalisation scale and bias)")
    program = torch.export.export(module.eval(), (example_input,)).run_decompositions({})
    norm = contract["input"]["normalization"]
    mlmodel = ct.convert(
        program,
        inputs=[
            ct.ImageType(
                name=module.input_name,
                shape=tuple(example_input.shape),
                scale=norm["scale"],
                bias=[norm["bias"]] * 3,
                color_layout=ct.colorlayout.RGB,
            )
        ],
        outputs=[ct.TensorType(name=n, dtype=np.float32) for n in module.output_names],
        minimum_deployment_target=ct.target.iOS17,
        compute_precision=ct.precision.FLOAT16,
        convert_to="mlprogram",
    )
    if compress == "w8a8":
        mlmodel = _w8a8(mlmodel, module, example_input, calibration, ranges)
    elif compress is not None:
        mlmodel = _compress(mlmodel, compress)
    _describe(mlmodel, contract)
    out_path = Path(out_path)
    tmp = Path(tempfile.mkdtemp(dir=out_path.parent, prefix=f".{out_path.name}."))
    try:
        mlmodel.save(str(tmp / out_path.name))
        if out_path.exists():
            shutil.rmtree(out_path)
        (tmp / out_path.name).rename(out_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_path


def _fixed_constants(mlmodel) -> list[str]:
    """Names of the program's constants that are not trained parameters.

    torch.export names parameters "p_<module path>"; everything else (the landmarker, the seam
    average, argsoftmax coordinate grids) is an exact design matrix of the contract, so it is kept
    at fp16: int8 on the 17x514 landmarker alone moved xs joints by 0.6 px.
    """
    func = mlmodel._mil_program.functions["main"]
    return [op.outputs[0].name for op in func.operations if op.op_type == "const" and not op.name.startswith("p_")]


def _compress(mlmodel, compress: str, keep: set[str] | frozenset[str] = frozenset()):
    """8-bit weights for the trained parameters only (see _fixed_constants), except the constants in `keep`."""
    from coremltools.optimize.coreml import (
        OpLinearQuantizerConfig,
        OpPalettizerConfig,
        OptimizationConfig,
        linear_quantize_weights,
        palettize_weights,
    )

    keep = {name: None for name in (*_fixed_constants(mlmodel), *keep)}
    if compress == "palettize8":
        return palettize_weights(
            mlmodel, OptimizationConfig(global_config=OpPalettizerConfig(nbits=8), op_name_configs=keep)
        )
    return linear_quantize_weights(
        mlmodel,
        OptimizationConfig(global_config=OpLinearQuantizerConfig(mode="linear_symmetric"), op_name_configs=keep),
    )


def _w8a8(mlmodel, module: torch.nn.Module, example_input: torch.Tensor, calibration: list[np.ndarray] | None,
          ranges: dict[str, dict[str, float]] | None = None):
    """int8 activations (calibrated, selective) and then int8 weights (trained parameters of the int8 region)."""
    from coremltools.converters.mil.frontend.milproto.load import load as milproto_load

    from export.coreml.w8a8 import activation_ranges, float_part_weights, quantize_activations, quantized_fx_nodes

    if ranges is None:
        if not calibration:
            raise ValueError("w8a8 needs calibration inputs (export.golden.calibration_inputs) or measured ranges")
        spec = mlmodel.get_spec()
        program = milproto_load(spec, spec.specificationVersion, mlmodel.weights_dir)
        ranges = activation_ranges(program, calibration, module.input_name)
    int8_nodes = quantized_fx_nodes(module, example_input)
    float_weights = float_part_weights(mlmodel, int8_nodes)
    quantized = quantize_activations(mlmodel, ranges, int8_nodes)
    return _compress(quantized, "linear8", keep=float_weights)


def _describe(mlmodel, contract: dict[str, Any]) -> None:
    """Author, licence, version, descriptions, and the contract in user-defined metadata."""
    mlmodel.author = AUTHOR
    mlmodel.license = f"{contract['license']['name']}: {contract['license']['notice']}"
    mlmodel.version = f"contract {contract['contract_version']}, {contract['variant']}"
    trained = "trained" if contract["checkpoint"]["trained"] else "UNTRAINED (random weights)"
    terms = "" if contract["license"]["commercial_use"] else " NON-COMMERCIAL use only."
    mlmodel.short_description = f"MeshPose {contract['variant']} ({trained}): 3D body mesh from a person crop.{terms}"
    inp = contract["input"]
    norm = inp["normalization"]
    mlmodel.input_description[inp["name"]] = (
        f"RGB person crop {inp['width']}x{inp['height']}; scaled by {norm['scale']:.6g} and shifted by "
        f"{norm['bias']:g} inside the model."
    )
    for out in contract["outputs"]:
        mlmodel.output_description[out["name"]] = f"{out['shape']} {out['units']}: {out['frame']}"
    mlmodel.user_defined_metadata[CONTRACT_METADATA_KEY] = json.dumps(contract, separators=(",", ":"))
    mlmodel.user_defined_metadata["meshpose.variant"] = contract["variant"]
    mlmodel.user_defined_metadata["meshpose.contract_version"] = str(contract["contract_version"])


def set_embedded_parity_gate(mlpackage: Path, gate: dict[str, Any]) -> None:
    """Write the run's parity verdict into the contract a .mlpackage carries in its metadata, as in the
    sidecar JSON, so an app that reads only the package still knows a KEEP_FAILED model for what it is.
    Only the package's model spec is rewritten (a small protobuf; the weights file is untouched)."""
    from coremltools.proto import Model_pb2

    spec_path = Path(mlpackage) / "Data" / "com.apple.CoreML" / "model.mlmodel"
    spec = Model_pb2.Model()
    spec.ParseFromString(spec_path.read_bytes())
    meta = spec.description.metadata.userDefined
    if CONTRACT_METADATA_KEY not in meta:
        raise ValueError(f"{mlpackage} carries no {CONTRACT_METADATA_KEY} metadata: not a package this tool wrote")
    contract = json.loads(meta[CONTRACT_METADATA_KEY])
    contract["parity_gate"] = gate
    meta[CONTRACT_METADATA_KEY] = json.dumps(contract, separators=(",", ":"))
    tmp = spec_path.with_name(f".{spec_path.name}.tmp")
    tmp.write_bytes(spec.SerializeToString())
    tmp.replace(spec_path)


def load_mil_program(mlpackage: Path):
    """The MIL program of a saved .mlpackage (works on Linux: no Core ML runtime needed)."""
    _silence_coremltools()
    import coremltools as ct
    from coremltools.converters.mil.frontend.milproto.load import load as milproto_load

    model = ct.models.MLModel(str(mlpackage), skip_model_load=True)
    spec = model.get_spec()
    return milproto_load(spec, spec.specificationVersion, model.weights_dir), spec
