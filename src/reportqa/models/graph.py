"""A BERT model as one ONNX graph, built straight from its weights with the ``onnx`` helpers.

One builder serves both of reportqa's models:

* ``head="mean"``: the bi-encoder (all-MiniLM-L6-v2). Inputs ``input_ids`` and
  ``attention_mask`` (token types are always 0); outputs ``embedding`` (masked mean
  pooling, unit length) and ``tokens`` (the last hidden states, for late interaction).
* ``head="classifier"``: the reader, a cross-encoder. Inputs also ``token_type_ids``
  (0 for the question, 1 for the candidate); output ``logits`` [batch], from BERT's
  pooler (tanh of a dense layer over [CLS]) and a one-logit linear layer, as
  transformers' ``BertForSequenceClassification`` computes it.
* ``head="span"``: the passage reader. Inputs as the classifier's; outputs ``start_logits``
  and ``end_logits`` [batch, seq], a two-logit linear layer over every token's last hidden
  state, as transformers' ``BertForQuestionAnswering`` computes them ([CLS] is "no answer").

No torch is needed: a graph is written in a second or two.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

OPSET = 18  # LayerNormalization needs 17, ReduceL2 with axes as an input needs 18
HEADS = ("mean", "classifier", "span")


def build_graph(
    w: Mapping[str, np.ndarray], config: Mapping, data=None, *, head: str = "mean", name: str = "all-MiniLM-L6-v2",
    store: str = "float32",
):
    """The model as an ``onnx.ModelProto``.

    ``w`` maps BERT's parameter names (``embeddings.word_embeddings.weight`` …,
    for the classifier ``pooler.dense.*`` and ``classifier.*``, for the span head
    ``qa_outputs.*``) to arrays;
    ``config`` is the model's config.json. With data (a binary file opened for
    writing, to be saved as ``model.onnx.data`` beside the graph), weights go
    straight to it as ONNX external data, one tensor at a time, so an export never
    holds a second copy of the model in memory.

    ``store="float16"`` keeps the weights in half precision in the file (half the
    size) with a Cast to float32 after each: ONNX Runtime folds the casts when it
    loads the graph, so it computes in float32 as before.
    """
    from onnx import TensorProto, helper, numpy_helper

    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, not {head!r}")
    if store not in ("float32", "float16"):
        raise ValueError(f"store must be float32 or float16, not {store!r}")
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    layers, eps = int(config["num_hidden_layers"]), float(config["layer_norm_eps"])
    head_dim = hidden // heads
    nodes, inits = [], []

    seen: set[str] = set()

    def const(name: str, value) -> str:
        if name in seen:  # a constant shared by several nodes is stored once
            return name
        seen.add(name)
        arr = np.ascontiguousarray(value)
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)  # weights may ship in half precision; the graph computes in float32
        if store == "float16" and arr.dtype == np.float32 and arr.nbytes >= 1024:
            inits.append(numpy_helper.from_array(arr.astype(np.float16), name + ".f16"))
            nodes.append(helper.make_node("Cast", [name + ".f16"], [name], to=TensorProto.FLOAT))
            return name
        if data is None or arr.nbytes < 1024:
            inits.append(numpy_helper.from_array(arr, name))
            return name
        if arr.nbytes >= 1 << 20:  # page-aligned, as onnx aligns them, so ORT can map them
            data.write(b"\0" * (-data.tell() % 65536))
        offset = data.tell()
        data.write(arr.astype(arr.dtype.newbyteorder("<"), copy=False).data)
        tensor = TensorProto(name=name, dims=arr.shape, data_type=helper.np_dtype_to_tensor_dtype(arr.dtype),
                             data_location=TensorProto.EXTERNAL)
        for key, val in (("location", "model.onnx.data"), ("offset", str(offset)), ("length", str(arr.nbytes))):
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

    seq = op("Shape", ["input_ids"], start=1, end=2)
    positions = op("Slice", [const("emb.pos", w["embeddings.position_embeddings.weight"]),
                             const("i64.0", i64([0])), seq, const("i64.axis0", i64([0]))])
    words = op("Gather", [const("emb.word", w["embeddings.word_embeddings.weight"]), "input_ids"])
    if head in ("classifier", "span"):  # a pair: question (type 0), candidate or passage (type 1)
        types = op("Gather", [const("emb.type", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"])
    else:  # one sentence: token types are always 0
        types = const("emb.type0", w["embeddings.token_type_embeddings.weight"][0])
    x = op("Add", [op("Add", [words, positions]), types])
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

    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])]
    if head == "mean":
        # Mean over real tokens, then unit length: sentence-transformers' Pooling + Normalize.
        mask3 = op("Unsqueeze", [mask, const("i64.axes2", i64([2]))])
        axis1 = const("i64.axes1", i64([1]))
        summed = op("ReduceSum", [op("Mul", [x, mask3]), axis1], keepdims=0)
        count = op("Max", [op("ReduceSum", [mask3, axis1], keepdims=0), const("f32.1e-9", f32(1e-9))])
        mean = op("Div", [summed, count])
        norm = op("Max", [op("ReduceL2", [mean, const("i64.axes-1", i64([-1]))], keepdims=1), const("f32.1e-12", f32(1e-12))])
        nodes.append(helper.make_node("Div", [mean, norm], ["embedding"]))
        nodes.append(helper.make_node("Identity", [x], ["tokens"]))
        outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden]),
                   helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["batch", "seq", hidden])]
    elif head == "span":
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "seq"]))
        both = linear(x, "qa_outputs")  # [batch, seq, 2]: start and end
        start, end = op("Split", [both], n_out=2, axis=-1, num_outputs=2)
        nodes.append(helper.make_node("Squeeze", [start, const("i64.axes-1", i64([-1]))], ["start_logits"]))
        nodes.append(helper.make_node("Squeeze", [end, "i64.axes-1"], ["end_logits"]))
        outputs = [helper.make_tensor_value_info("start_logits", TensorProto.FLOAT, ["batch", "seq"]),
                   helper.make_tensor_value_info("end_logits", TensorProto.FLOAT, ["batch", "seq"])]
    else:
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "seq"]))
        cls = op("Squeeze", [op("Gather", [x, const("i64.0", i64([0]))], axis=1), const("i64.axes1", i64([1]))])  # [CLS]: [batch, hidden]
        pooled = op("Tanh", [linear(cls, "pooler.dense")])
        logit = linear(pooled, "classifier")  # [batch, 1]
        nodes.append(helper.make_node("Squeeze", [logit, const("i64.axes-1", i64([-1]))], ["logits"]))
        outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch"])]
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="reportqa")


def bert_weights(model, *, head: bool = False) -> dict[str, np.ndarray]:
    """BERT's parameters (transformers' names, float32) back out of a graph this module built:
    the encoder's layers and embeddings, and with ``head=True`` also the head's (``pooler.dense.*``
    and ``classifier.*``, or ``qa_outputs.*``). The inverse of ``build_graph``'s layout (fused
    q/k/v, transposed matrices, ``.f16`` copies), so a trained graph can start another model's
    training."""
    from onnx import numpy_helper

    raw = {t.name.removesuffix(".f16"): numpy_helper.to_array(t).astype(np.float32) for t in model.graph.initializer}
    out = {"embeddings.word_embeddings.weight": raw["emb.word"], "embeddings.position_embeddings.weight": raw["emb.pos"],
           "embeddings.token_type_embeddings.weight": raw["emb.type"]}
    heads = ("pooler.", "classifier.", "qa_outputs.") if head else ()
    for name, arr in raw.items():
        if not name.startswith(("embeddings.LayerNorm", "encoder.layer.", *heads)):
            continue
        if ".qkv." in name:
            prefix = name.split("qkv.")[0] + "attention.self."
            parts = np.split(arr, 3, axis=-1)  # [hidden, 3 hidden] transposed weights, or [3 hidden] biases
            for part, n in zip(parts, ("query", "key", "value")):
                out[prefix + n + (".weight" if name.endswith(".T") else ".bias")] = part.T if name.endswith(".T") else part
        elif name.endswith(".weight.T"):
            out[name.removesuffix(".T")] = arr.T
        else:
            out[name] = arr
    return out
