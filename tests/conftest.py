"""Shared fixtures: the shipped template and small deploy models, built once per session."""

import pytest
import torch


@pytest.fixture(scope="session")
def template():
    from model.template import load_template

    return load_template()


@pytest.fixture(scope="session")
def tiny_deploy(template):
    from model.deploy import build_deploy_model

    return build_deploy_model("tiny", template=template)


@pytest.fixture(autouse=True)
def _deterministic_threads():
    # Two threads like the CI machine; keeps timings and reductions comparable across runs.
    torch.set_num_threads(2)
