"""all-MiniLM-L6-v2 on ONNX Runtime, from a graph written once into the user's cache.

The graph is built straight from the package's ``model.safetensors`` with the
``onnx`` helpers (no torch, a second or two), so the first run pays little for
it. It lives in ``<cache>/models/all-minilm-l6-v2-<weights fingerprint>-g<graph version>/``:

    model.onnx        the graph (kilobytes)
    model.onnx.data   its weights as ONNX external data, which ONNX Runtime
                      memory-maps: a session opens in ~0.2 s instead of ~0.6 s
    meta.json         fingerprint, graph version, size and SHA-256 of both files,
                      and the embedding of a probe sentence as the numpy reference
                      computed it

An export writes all three into a temp folder beside the cache and moves them
in with renames, meta.json removed first and put back last, so a killed export
never leaves a cache that passes the checks. A cached model is used only when
meta.json matches the weights, both files match their recorded size and hash,
and the model reproduces the probe embedding; otherwise it is rebuilt.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import checksums
from .embed import NumpyEncoder, pad_batch, read_safetensors
from .errors import ModelError
from .paths import cache_dir

# Bump when the graph changes: the cache key includes it.
GRAPH_VERSION = 3  # 3: the last hidden states are a second output, "tokens"
OPSET = 18  # LayerNormalization needs 17, ReduceL2 with axes as an input needs 18
PROBE = "Probe: the IOPC published its findings on 19 September 2024, naming 47 officers."
PROBE_TOLERANCE = 1e-5
GRAPH, DATA, META = "model.onnx", "model.onnx.data", "meta.json"


def model_dir(fingerprint: str) -> Path:
    digest = fingerprint.split(":", 1)[-1][:16]
    return cache_dir() / "models" / f"all-minilm-l6-v2-{digest}-g{GRAPH_VERSION}"


def build_graph(path: Path, data=None):
    """The BERT encoder, masked mean pooling and L2 normalisation as one ONNX graph.

    Its outputs are "embedding" (the unit sentence vectors) and "tokens" (the
    last hidden states, for late interaction); a run fetches only what it asks for.

    With data (a binary file opened for writing, to be saved as DATA beside the
    graph), weights go straight to it as ONNX external data, one tensor at a
    time, so an export never holds a second copy of the model in memory.
    """
    from onnx import TensorProto, helper, numpy_helper

    config = json.loads((path / "config.json").read_text())
    w = read_safetensors(path / "model.safetensors")
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    layers, eps = int(config["num_hidden_layers"]), float(config["layer_norm_eps"])
    head_dim = hidden // heads
    nodes, inits = [], []

    def const(name: str, value) -> str:
        arr = np.ascontiguousarray(value)
        if data is None or arr.nbytes < 1024:
            inits.append(numpy_helper.from_array(arr, name))
            return name
        if arr.nbytes >= 1 << 20:  # page-aligned, as onnx aligns them, so ORT can map them
            data.write(b"\0" * (-data.tell() % 65536))
        offset = data.tell()
        data.write(arr.astype(arr.dtype.newbyteorder("<"), copy=False).data)
        tensor = TensorProto(name=name, dims=arr.shape, data_type=helper.np_dtype_to_tensor_dtype(arr.dtype),
                             data_location=TensorProto.EXTERNAL)
        for key, val in (("location", DATA), ("offset", str(offset)), ("length", str(arr.nbytes))):
            tensor.external_data.add(key=key, value=val)
        inits.append(tensor)
        return name

    def op(kind: str, inputs: list[str], n_out: int = 1, **attrs):
        outs = [f"{kind}_{len(nodes)}_{i}" for i in range(n_out)]
        nodes.append(helper.make_node(kind, inputs, outs, **attrs))
        return outs[0] if n_out == 1 else outs

    f32 = lambda v: np.asarray(v, dtype=np.float32)
    i64 = lambda v: np.asarray(v, dtype=np.int64)

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, const(prefix + ".weight", w[prefix + ".weight"]),
                                         const(prefix + ".bias", w[prefix + ".bias"])], axis=-1, epsilon=eps)

    def linear(x: str, prefix: str) -> str:
        weight = const(prefix + ".weight.T", w[prefix + ".weight"].T)
        return op("Add", [op("MatMul", [x, weight]), const(prefix + ".bias", w[prefix + ".bias"])])

    # Embeddings; token_type_ids are always 0 for a single sentence.
    seq = op("Shape", ["input_ids"], start=1, end=2)
    positions = op("Slice", [const("emb.pos", w["embeddings.position_embeddings.weight"]),
                             const("i64.0", i64([0])), seq, const("i64.axis0", i64([0]))])
    words = op("Gather", [const("emb.word", w["embeddings.word_embeddings.weight"]), "input_ids"])
    x = op("Add", [op("Add", [words, positions]), const("emb.type0", w["embeddings.token_type_embeddings.weight"][0])])
    x = layer_norm(x, "embeddings.LayerNorm")

    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    # Same additive mask as transformers: 0 where attended, float32 min where padded.
    bias = op("Mul", [op("Sub", [const("f32.1", f32(1.0)), mask]), const("f32.min", f32(np.finfo(np.float32).min))])
    bias = op("Unsqueeze", [bias, const("i64.axes12", i64([1, 2]))])
    scale = const("f32.scale", f32(1.0 / np.sqrt(head_dim)))
    split_heads = const("i64.qkv_shape", i64([0, 0, 3, heads, head_dim]))
    merge_heads = const("i64.ctx_shape", i64([0, 0, hidden]))
    squeeze0 = const("i64.axes0", i64([0]))
    rsqrt2, half = const("f32.rsqrt2", f32(0.7071067811865476)), const("f32.half", f32(0.5))
    for layer in range(layers):
        p = f"encoder.layer.{layer}."
        parts = [p + "attention.self." + n for n in ("query", "key", "value")]
        qkv_w = const(p + "qkv.weight.T", np.concatenate([w[n + ".weight"].T for n in parts], axis=1))
        qkv_b = const(p + "qkv.bias", np.concatenate([w[n + ".bias"] for n in parts]))
        qkv = op("Add", [op("MatMul", [x, qkv_w]), qkv_b])
        qkv = op("Transpose", [op("Reshape", [qkv, split_heads])], perm=[2, 0, 3, 1, 4])
        q, k, v = (op("Squeeze", [t, squeeze0]) for t in op("Split", [qkv], n_out=3, axis=0, num_outputs=3))
        scores = op("Add", [op("Mul", [op("MatMul", [q, op("Transpose", [k], perm=[0, 1, 3, 2])]), scale]), bias])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_heads])
        x = layer_norm(op("Add", [linear(ctx, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        # Exact (erf) GELU, as BERT uses; ORT fuses this pattern into one kernel.
        erf = op("Erf", [op("Mul", [h, rsqrt2])])
        h = op("Mul", [op("Mul", [h, half]), op("Add", [erf, "f32.1"])])
        x = layer_norm(op("Add", [linear(h, p + "output.dense"), x]), p + "output.LayerNorm")

    # Mean over real tokens, then unit length: sentence-transformers' Pooling + Normalize.
    mask3 = op("Unsqueeze", [mask, const("i64.axes2", i64([2]))])
    axis1 = const("i64.axes1", i64([1]))
    summed = op("ReduceSum", [op("Mul", [x, mask3]), axis1], keepdims=0)
    count = op("Max", [op("ReduceSum", [mask3, axis1], keepdims=0), const("f32.1e-9", f32(1e-9))])
    mean = op("Div", [summed, count])
    norm = op("Max", [op("ReduceL2", [mean, const("i64.axes-1", i64([-1]))], keepdims=1), const("f32.1e-12", f32(1e-12))])
    nodes.append(helper.make_node("Div", [mean, norm], ["embedding"]))
    nodes.append(helper.make_node("Identity", [x], ["tokens"]))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden]),
         helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["batch", "seq", hidden])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="reportqa")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OnnxEncoder(NumpyEncoder):
    """all-MiniLM-L6-v2 on ONNX Runtime; tokenising and batching are NumpyEncoder's."""

    def __init__(self, path: Path | None = None, notify: Callable[[str], None] | None = None):
        super().__init__(path)
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError("onnxruntime is not installed: run `pip install onnxruntime`.") from exc
        self._ort = ort
        self.notify = notify or (lambda message: None)
        self.cache = model_dir(self.fingerprint)
        # meta.json is read once: another process may be replacing it meanwhile.
        reason, meta = self._cache_problem()
        if reason is None:
            try:
                self.session = self._session()
                reason = self._probe_problem(meta["probe"])
            except Exception as exc:  # noqa: BLE001 - ORT raises its own types for unreadable models
                reason = f"ONNX Runtime cannot load it ({type(exc).__name__})"
            if reason is None:
                return
            self.notify(f"reportqa: the cached ONNX model in {self.cache} is broken ({reason}); rebuilding it.")
        elif reason != "missing":
            self.notify(f"reportqa: the cached ONNX model in {self.cache} is unusable ({reason}); rebuilding it.")
        else:
            self.notify(f"reportqa: preparing the ONNX model once, in {self.cache} …")
        meta = self.export()
        self.session = self._session()
        problem = self._probe_problem(meta["probe"])
        if problem:
            raise ModelError(f"The ONNX model just built in {self.cache} is wrong ({problem}); remove that folder.")

    # --- the cache -------------------------------------------------------------

    def _cache_problem(self) -> tuple[str | None, dict]:
        """Why the cached model cannot be trusted ("missing" when there is none, None when it can), and its meta."""
        try:
            meta = json.loads((self.cache / META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return "missing", {}
        except (OSError, ValueError) as exc:
            return f"meta.json is unreadable: {exc!r}", {}
        try:
            if meta.get("fingerprint") != self.fingerprint or meta.get("graph_version") != GRAPH_VERSION:
                return "it was made from other weights or another graph version", meta
            if len(meta["probe"]) != self.dim:
                return "meta.json has a bad probe vector", meta
            files = {name: meta["files"][name] for name in (GRAPH, DATA)}
        except (AttributeError, KeyError, TypeError) as exc:
            return f"meta.json is malformed: {exc!r}", {}
        for name, want in files.items():
            try:
                if (self.cache / name).stat().st_size != want.get("size"):
                    return f"{name} has the wrong size", meta
            except OSError:
                return f"{name} is missing", meta
            if checksums.sha256(self.cache / name) != want.get("sha256"):
                return f"{name} does not match its checksum", meta
        return None, meta

    def export(self) -> dict:
        """Build the graph, record the numpy reference's probe, move the files into the cache; its meta."""
        try:
            import onnx
        except ImportError as exc:
            raise ModelError("The onnx package is needed to build the ONNX model: run `pip install onnx`.") from exc
        probe = NumpyEncoder._forward(self, self.token_ids([PROBE]))[0][0]
        self._layers = None  # the numpy forward's weight copies are not needed again
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{self.cache.name}.tmp-", dir=self.cache.parent))
        except OSError as exc:
            raise ModelError(f"Cannot write the ONNX model to {self.cache}: {exc.strerror or exc}.") from None
        try:
            with open(tmp / DATA, "wb") as data:
                model = build_graph(self.path, data)
            onnx.save_model(model, str(tmp / GRAPH))
            del model
            meta = {
                "model_id": self.model_id,
                "fingerprint": self.fingerprint,
                "graph_version": GRAPH_VERSION,
                "onnx": onnx.__version__,
                "onnxruntime": self._ort.__version__,
                "files": {name: {"size": (tmp / name).stat().st_size, "sha256": checksums.file_sha256(tmp / name)} for name in (GRAPH, DATA)},
                "probe": [float(v) for v in probe],
            }
            (tmp / META).write_text(json.dumps(meta) + "\n", encoding="utf-8")
            for name in (DATA, GRAPH, META):
                _fsync(tmp / name)
            self.cache.mkdir(exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                (self.cache / META).unlink()  # the files and their meta change together
            for name in (DATA, GRAPH, META):
                os.replace(tmp / name, self.cache / name)
        except OSError as exc:
            raise ModelError(f"Cannot write the ONNX model to {self.cache}: {exc.strerror or exc}.") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return meta

    def _session(self):
        ort = self._ort
        options = ort.SessionOptions()
        options.log_severity_level = 3
        return ort.InferenceSession(str(self.cache / GRAPH), options, providers=["CPUExecutionProvider"])

    def _probe_problem(self, expected: list[float]) -> str | None:
        got = self._forward(self.token_ids([PROBE]))[0][0]
        diff = float(np.abs(got - np.asarray(expected, dtype=np.float32)).max())
        return None if diff <= PROBE_TOLERANCE else f"its probe embedding is off by {diff:.1e}"

    # --- encoding --------------------------------------------------------------

    def _forward(self, batch: list[list[int]], hidden: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        input_ids, mask = pad_batch(batch, np.int64)
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if hidden:
            pooled, states = self.session.run(["embedding", "tokens"], feeds)
            return pooled, states
        return self.session.run(["embedding"], feeds)[0], None
