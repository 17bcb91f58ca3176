"""The deployed graph as two models (export/tflite/two_part.py): the parts compose to the deploy graph, and on the
GPU the chained parts give the whole graph's outputs."""

import numpy as np
import torch

from export.tflite import compile_gpu, convert_tflite
from export.tflite.two_part import TWO_PART_PRECISIONS, TwoPartGpu, convert_two_part
from model.network.deploy import DeployBackbone, DeployHeads


def test_backbone_and_heads_compose_to_the_deploy_graph(tiny_deploy):
    x = tiny_deploy.example_input()
    with torch.no_grad():
        whole = dict(zip(tiny_deploy.output_names, tiny_deploy(x), strict=True))
        features = DeployBackbone(tiny_deploy)(x)
        parts = DeployHeads(tiny_deploy)(**features)
    assert set(features) == {"fine", "coarse"}
    assert list(parts) == list(tiny_deploy.output_names)
    for name in tiny_deploy.output_names:
        assert torch.equal(parts[name], whole[name]), name


def test_two_part_gpu_chain_gives_the_whole_graph_outputs(tiny_deploy, tmp_path):
    x = tiny_deploy.example_input()
    backbone, heads = convert_two_part(tiny_deploy, x, tmp_path / "parts")
    whole = compile_gpu(convert_tflite(tiny_deploy, x, tmp_path / "whole.tflite"), "fp32")
    chain = TwoPartGpu(backbone, heads, precisions=("fp32", "fp32"))
    shipped = TwoPartGpu(backbone, heads)
    try:
        feed = {tiny_deploy.input_name: x.numpy()}
        expected, got, mixed = whole.run(feed), chain.run(feed), shipped.run(feed)
    finally:
        for model in (whole, chain, shipped):
            model.close()
    assert shipped.precisions == TWO_PART_PRECISIONS == ("fp32", "fp16-fp32acc")
    for name in tiny_deploy.output_names:
        # fp32 throughout: the hand-off of the feature maps is exact, so only the GPU's fp32 order of sums differs
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-3, err_msg=name)
        assert np.isfinite(mixed[name]).all() and mixed[name].shape == expected[name].shape
    vertices = np.abs(mixed["vertices"] - expected["vertices"]).max()
    assert 0 < vertices < 0.5  # the heads in fp16 move the vertices, by less than the fp16 gate on this input
