"""Record the weights hash in a checkpoint written before checkpoints carried one.

Loading verifies every checkpoint's tensors against the `weights_sha256` in its header; files written
by older versions have none and are refused. Run this once on a file you trust: it keeps the header and
the tensors, adds the hash, and rewrites the file atomically. A file that already has a hash is checked
instead (and left as it is).

    python -m model.tools.rehash_checkpoint model/checkpoints/meshpose_xs.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

from safetensors.torch import load_file, save_file

from model.atomic import atomic_path
from model.checkpoint import TEMPLATE_PREFIX, WEIGHTS_HASH_KEY, CheckpointError, read_checkpoint_info, weights_sha256
from model.cli import run_main


def rehash(path: Path) -> str:
    """Add the weights hash to `path` (or verify the one it has); returns what was done."""
    info = read_checkpoint_info(path)
    tensors = load_file(str(path))
    digest = weights_sha256({k: v for k, v in tensors.items() if not k.startswith(TEMPLATE_PREFIX)})
    recorded = info.metadata.get(WEIGHTS_HASH_KEY)
    if recorded is not None:
        if recorded != digest:
            raise CheckpointError(f"{path}: its weights do not match its recorded hash ({recorded[:12]}); "
                                  f"the file is damaged and is left as it is")
        return f"{path}: weights hash {digest[:12]} verified, nothing to do"
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata={**info.metadata, WEIGHTS_HASH_KEY: digest})
    return f"{path}: recorded weights hash {digest[:12]}"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m model.tools.rehash_checkpoint", description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", type=Path)
    args = p.parse_args(argv)
    for path in args.checkpoints:
        print(rehash(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
