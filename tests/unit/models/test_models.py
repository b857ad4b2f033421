"""The model runtime: reportqa's ONNX graph against transformers' own BERT, and the shipped reader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reportqa.errors import ModelError
from reportqa.models import crossencoder, graph, tokens


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    """A small random BertForSequenceClassification (one logit), its config and weights as numpy."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, num_labels=1)
    model = BertForSequenceClassification(config).eval()
    torch.nn.init.normal_(model.classifier.weight, std=1.0)  # logits of a useful size, not ~0.01
    weights = {k.removeprefix("bert."): v.detach().numpy() for k, v in model.state_dict().items()}
    return model, config.to_dict(), weights


def run(onnx_model, feeds: dict) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["logits"], feeds)[0]


def test_classifier_graph_matches_transformers(tiny_classifier):
    import torch

    model, config, weights = tiny_classifier
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 120, size=(3, 9)).astype(np.int64)
    types = np.zeros_like(ids)
    types[:, 5:] = 1  # the second segment, as a candidate span is
    mask = np.ones_like(ids)
    mask[2, 7:] = 0  # a padded row
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    got = run(graph.build_graph(weights, config, head="classifier"), feeds)
    with torch.inference_mode():
        want = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).logits.squeeze(-1).numpy()
    assert got.shape == (3,)
    assert np.abs(got - want).max() < 1e-4 * max(1.0, float(np.abs(want).max()))


def test_token_types_reach_the_classifier(tiny_classifier):
    """A graph that ignored token_type_ids would give the same logits for both segmentations."""
    _, config, weights = tiny_classifier
    ids = np.arange(1, 10, dtype=np.int64)[None]
    mask = np.ones_like(ids)
    g = graph.build_graph(weights, config, head="classifier")
    a = run(g, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    b = run(g, {"input_ids": ids, "attention_mask": mask, "token_type_ids": (np.arange(9) >= 4).astype(np.int64)[None]})
    assert abs(float(a[0] - b[0])) > 1e-4  # float32 noise is ~1e-7


def test_half_precision_weights_are_widened(tiny_classifier):
    _, config, weights = tiny_classifier
    half = {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in weights.items()}
    ids = np.arange(1, 8, dtype=np.int64)[None]
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    full = run(graph.build_graph(weights, config, head="classifier"), feeds)
    widened = run(graph.build_graph(half, config, head="classifier"), feeds)
    assert np.abs(full - widened).max() < 1e-2


def test_weights_stored_in_half_precision_compute_in_float32(tiny_classifier):
    from onnx import TensorProto

    _, config, weights = tiny_classifier
    ids = np.arange(1, 8, dtype=np.int64)[None]
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    full_graph = graph.build_graph(weights, config, head="classifier")
    half_graph = graph.build_graph(weights, config, head="classifier", store="float16")
    inits = half_graph.graph.initializer
    assert sum(t.data_type == TensorProto.FLOAT16 for t in inits) >= 5
    assert not [t.name for t in inits if t.data_type == TensorProto.FLOAT and np.prod(t.dims) * 4 >= 1024]
    assert half_graph.ByteSize() < 0.6 * full_graph.ByteSize()
    full, half = run(full_graph, feeds), run(half_graph, feeds)
    assert full.dtype == half.dtype == np.float32
    assert np.abs(full - half).max() < 1e-2 and np.abs(full - half).max() > 0  # rounded weights, float32 compute
    with pytest.raises(ValueError, match="store"):
        graph.build_graph(weights, config, head="classifier", store="bfloat16")


def test_unknown_head_is_refused(tiny_classifier):
    _, config, weights = tiny_classifier
    with pytest.raises(ValueError, match="head"):
        graph.build_graph(weights, config, head="max")


def test_shipped_reader_loads_and_describes_its_training():
    model = crossencoder.CrossEncoderModel()
    assert model.fingerprint.startswith("sha256:")
    assert crossencoder.READER_PATH.stat().st_size < 50 * 1024 * 1024
    training = model.training
    assert training["settings"]["seed"] == 13 and len(training["data_sha256"]) == 64
    assert model.max_length == training["settings"]["max_len"]


def test_shipped_reader_prefers_the_answering_sentence():
    """The trained reader, on sentences it never saw: the one that answers scores highest."""
    model = crossencoder.CrossEncoderModel()
    question = "When did the council open the new library?"
    texts = [
        "The council opened the new library in March 2019, after two years of building work.",
        "The library has a large collection of local history books.",
        "Council meetings are held on the first Monday of every month.",
    ]
    logits = model.logits([question] * 3, texts)
    assert logits.shape == (3,) and logits.dtype == np.float32
    assert int(np.argmax(logits)) == 0
    assert model.logits([], []).shape == (0,)


def test_reader_logits_keep_each_pair_in_place_when_grouped_by_length():
    """Pairs of mixed lengths run in several calls; each logit is still its own pair's."""
    model = crossencoder.CrossEncoderModel()
    question = "Who opened the library?"
    texts = ["The mayor opened it.", "Rain.",
             "After two years of building work and a long public consultation about its design, its "
             "size and its opening hours, the new library was opened by the mayor in March 2019.",
             "The council paid for the library.", "It has a café on the ground floor, run by volunteers."]
    encodings = model.tokenizer.encode_batch([(question, t) for t in texts])
    assert len(tokens.length_groups([len(e.ids) for e in encodings], crossencoder.CALL_OVERHEAD_TOKENS)) > 1
    alone = np.array([model.logits([question], [t])[0] for t in texts])
    np.testing.assert_allclose(model.logits([question] * len(texts), texts), alone, atol=1e-4)


@pytest.mark.parametrize("seed", range(20))
def test_length_groups_are_the_cheapest_cut(seed):
    import itertools

    rng = np.random.default_rng(seed)
    lengths = [int(x) for x in rng.integers(5, 120, size=int(rng.integers(1, 8)))]
    overhead = int(rng.integers(0, 100))
    groups = tokens.length_groups(lengths, overhead)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    cost = lambda gs: sum(len(g) * max(lengths[i] for i in g) + overhead for g in gs)
    ordered = sorted(range(len(lengths)), key=lambda i: lengths[i])
    cheapest = min(  # every cut of the sorted rows into consecutive groups
        cost([ordered[a:b] for a, b in zip((0, *cuts), (*cuts, len(ordered)))])
        for k in range(len(ordered)) for cuts in itertools.combinations(range(1, len(ordered)), k))
    assert cost(groups) == cheapest


def test_length_groups_examples():
    assert tokens.length_groups([10, 100, 10, 10], 40) == [[0, 2, 3], [1]]
    assert tokens.length_groups([10, 100, 10, 10], 1000) == [[0, 2, 3, 1]]
    assert tokens.length_groups([], 40) == []


def test_a_file_that_is_not_a_reader_is_refused(tmp_path, tiny_classifier):
    import onnx

    _, config, weights = tiny_classifier
    path = tmp_path / "other.onnx"
    onnx.save_model(graph.build_graph(weights, config, head="classifier"), str(path))  # no reader metadata
    with pytest.raises(ModelError, match="not a reportqa reader"):
        crossencoder.CrossEncoderModel(path)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load"):
        crossencoder.CrossEncoderModel(tmp_path / "junk.onnx")
    with pytest.raises(ModelError, match="missing"):
        crossencoder.CrossEncoderModel(tmp_path / "absent.onnx")


def test_reader_metadata_is_json():
    meta = crossencoder.CrossEncoderModel().meta
    assert json.loads(meta["training"])["steps"] > 0


def spinning(session) -> str:
    """A session's intra-op spinning setting ("0": its idle threads do not busy-wait)."""
    entries = session.get_session_options().get_session_config_entry
    try:
        return entries("session.intra_op.allow_spinning")
    except Exception:  # noqa: BLE001 - ORT raises its own error for an unset entry
        return "default (1)"


def test_the_encoder_does_not_spin_while_the_reader_runs():
    # The encoder runs just before the reader on every question; busy-waiting encoder threads
    # slowed the reader's call by about a third on 2 cores (docs/speed.md).
    from reportqa.embed import default_encoder

    encoder = default_encoder()
    encoder.encode(["warm"])  # the session may be made lazily
    assert spinning(encoder.session) == "0"
    assert spinning(crossencoder.CrossEncoderModel().session) != "0"
