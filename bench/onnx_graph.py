"""ONNX graph choices for the encoder, measured: the export as torch's default attention gives it, the export
with eager attention, and each after ONNX Runtime's transformer optimizer (fused attention, LayerNorm, GELU).

For each graph: the cosine to sentence-transformers on torch (the worst of SciFact queries and chunks), the
median time of one query (SciFact claims, one at a time, on 1 and on 2 threads) and the time per document
of batches of 32 SciFact abstracts (the ingest path), longest first as the encoder sorts them. Every graph
runs through the same tokenizer and session options as :class:`index.encoders.onnx_encoder.OnnxEmbedder`.

    .venv/bin/python bench/onnx_graph.py path/to/scifact
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch
from onnxruntime.transformers.optimizer import optimize_model
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer

from index.encoders.base import DEFAULT_MODEL, resolve_model


def export(model: SentenceTransformer, path: Path) -> None:
    names = list(model.tokenizer.model_input_names)

    class Forward(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            embedding: torch.Tensor = self.inner(dict(zip(names, inputs, strict=True)))["sentence_embedding"]
            return torch.nn.functional.normalize(embedding, p=2.0, dim=1)

    sample = model.tokenizer(
        ["a probe", "a longer probe sentence for padding"], padding=True, return_tensors="pt"
    )
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Forward().eval(),
            tuple(sample[name] for name in names),
            str(path),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def optimized(path: Path, model: SentenceTransformer) -> tuple[Path, dict[str, int]]:
    config: Any = getattr(model[0].auto_model, "config")  # noqa: B009  (typed as Tensor | Module)
    graph = optimize_model(
        str(path),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=0,
    )
    out = path.with_name(path.stem + ".opt.onnx")
    graph.save_model_to_file(str(out))
    fused = {k: v for k, v in graph.get_fused_operator_statistics().items() if v}
    return out, fused


class Runner:
    def __init__(self, path: Path, tokenizer: Tokenizer, threads: int) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]
        self.tokenizer = tokenizer

    def __call__(self, texts: list[str]) -> Any:
        encoded = self.tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        return self.session.run(None, {name: feeds[name] for name in self.names})[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", type=Path, help="a BEIR folder (SciFact)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--documents", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians over them")
    args = parser.parse_args()
    queries = [json.loads(line)["text"] for line in (args.dataset / "queries.jsonl").open()][: args.queries]
    corpus = [json.loads(line) for line in (args.dataset / "corpus.jsonl").open()][: args.documents]
    documents = sorted((f"{d['title']}. {d['text']}" for d in corpus), key=len, reverse=True)
    _, source = resolve_model(DEFAULT_MODEL)
    reference = {
        attention: SentenceTransformer(source, device="cpu", model_kwargs={"attn_implementation": attention})
        for attention in ("sdpa", "eager")
    }
    expected_q = reference["sdpa"].encode(queries, normalize_embeddings=True)
    expected_d = reference["sdpa"].encode(documents[:64], normalize_embeddings=True)
    tokenizer = Tokenizer.from_str(reference["sdpa"].tokenizer.backend_tokenizer.to_str())
    tokenizer.enable_truncation(256)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    with tempfile.TemporaryDirectory() as scratch:
        graphs: dict[str, Path] = {}
        for attention, model in reference.items():
            plain = Path(scratch) / f"{attention}.onnx"
            export(model, plain)
            graphs[f"{attention} attention"] = plain
            fast, fused = optimized(plain, model)
            graphs[
                f"{attention} attention, optimised ({', '.join(f'{k} {v}' for k, v in fused.items())})"
            ] = fast
        runners = {name: {t: Runner(path, tokenizer, t) for t in (1, 2)} for name, path in graphs.items()}
        timings: dict[str, dict[str, list[float]]] = {name: {} for name in graphs}
        for _ in range(args.rounds):
            for name, by_threads in runners.items():
                for threads, run in by_threads.items():
                    times = []
                    for query in queries:
                        started = time.perf_counter()
                        run([query])
                        times.append(time.perf_counter() - started)
                    timings[name].setdefault(f"q{threads}", []).append(statistics.median(times) * 1000)
                started = time.perf_counter()
                for first in range(0, len(documents), 32):
                    by_threads[2](documents[first : first + 32])
                per_doc = (time.perf_counter() - started) / len(documents) * 1000
                timings[name].setdefault("d2", []).append(per_doc)
        print(
            "| graph | cosine to torch (min) | query, 1 thread | query, 2 threads "
            "| document in batches of 32, 2 threads |"
        )
        print("|---|---|---|---|---|")
        for name, by_threads in runners.items():
            got_q, got_d = by_threads[2](queries), by_threads[2](documents[:64])
            cosine = min(
                float(np.min(np.sum(got_q * expected_q, 1))), float(np.min(np.sum(got_d * expected_d, 1)))
            )
            cells = [f"{statistics.median(timings[name][key]):.2f} ms" for key in ("q1", "q2", "d2")]
            print(f"| {name} | {cosine:.6f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
