"""The passage reader's pieces: the span head of reportqa's ONNX graph against transformers, and the span decoder."""

from __future__ import annotations

import numpy as np
import pytest
from test_models import spinning

from reportqa.models import graph
from reportqa.reader.spans import best_span


@pytest.fixture(scope="module")
def tiny_qa():
    """A small random BertForQuestionAnswering, its config and its weights as numpy (BERT's names)."""
    torch = pytest.importorskip("torch")
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64)
    model = BertForQuestionAnswering(config).eval()
    torch.nn.init.normal_(model.qa_outputs.weight, std=1.0)  # logits of a useful size
    weights = {k.removeprefix("bert."): v.detach().numpy() for k, v in model.state_dict().items()}
    return model, config, weights


def test_span_graph_matches_transformers(tiny_qa):
    import onnxruntime as ort
    import torch

    model, config, weights = tiny_qa
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 120, size=(3, 11)).astype(np.int64)
    types = np.zeros_like(ids)
    types[:, 4:] = 1
    mask = np.ones_like(ids)
    mask[1, 8:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    for store in ("float32", "float16"):
        onnx_model = graph.build_graph(weights, config.to_dict(), head="span", store=store)
        session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
        start, end = session.run(["start_logits", "end_logits"], feeds)
        with torch.inference_mode():
            out = model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
        tol = 1e-4 if store == "float32" else 5e-2
        assert start.shape == end.shape == (3, 11)
        assert np.abs(start - out.start_logits.numpy()).max() < tol
        assert np.abs(end - out.end_logits.numpy()).max() < tol


def test_best_span_is_the_best_pair_in_the_band():
    start = np.array([1.0, 0.0, 5.0, 0.0, 9.0, 0.0])
    end = np.array([1.0, 0.0, 0.0, 4.0, 0.0, 1.0])
    offsets = [(0, 0), (0, 3), (4, 7), (8, 11), (12, 15), (16, 19)]
    passage = np.array([False, True, True, True, True, True])
    got = best_span(start, end, offsets, passage)
    # 9 + 1 (tokens 4..5) beats 5 + 4 (tokens 2..3); an end before its start (9 + 4) is not a span
    assert (got.first, got.last, got.start, got.end) == (4, 5, 12, 19)
    assert got.score == 10.0 and got.null == 2.0 and got.margin == 8.0
    short = best_span(start, end, offsets, passage, max_tokens=1)
    assert (short.first, short.last, short.score) == (4, 4, 9.0)


def test_best_span_of_nothing_read_is_none():
    z = np.zeros(3)
    assert best_span(z, z, [(0, 0)] * 3, np.zeros(3, dtype=bool)) is None


def test_bert_weights_invert_the_graph_layout(tiny_qa):
    _, config, weights = tiny_qa
    for store, tol in (("float32", 0.0), ("float16", 1e-2)):
        built = graph.build_graph(weights, config.to_dict(), head="span", store=store)
        for head, drop in ((False, ("qa_outputs", "pooler")), (True, ("pooler",))):  # the span head has no pooler
            back = graph.bert_weights(built, head=head)
            want = {k: v for k, v in weights.items() if not k.startswith(drop)}
            assert set(back) == set(want)
            assert all(np.abs(back[k] - want[k]).max() <= tol * max(1.0, float(np.abs(want[k]).max())) for k in want)


def test_token_f1_is_squads():
    from reportqa.evaluate import token_f1

    assert token_f1("the Operation Linden", "operation linden.") == 1.0  # articles and punctuation go
    assert token_f1("five convictions", "five") == pytest.approx(2 / 3)
    assert token_f1("", "") == 1.0 and token_f1("x", "") == 0.0 and token_f1("a b", "c d") == 0.0


def test_the_passage_reader_does_not_spin_while_the_cross_encoder_runs(tiny_qa, tmp_path):
    # In the span+cross and gated readers the passage reader runs just before the cross-encoder;
    # its threads busy-waiting meanwhile cost about 50 ms a question on 2 cores (models/runtime.py).
    from reportqa.models import spanreader

    _, config, weights = tiny_qa
    model = graph.build_graph(weights, config.to_dict(), head="span")
    model.metadata_props.add(key="reportqa_span_reader", value=str(spanreader.FORMAT))
    path = tmp_path / "tiny-span.onnx"
    path.write_bytes(model.SerializeToString())
    assert spinning(spanreader.SpanReaderModel(path).session) == "0"
