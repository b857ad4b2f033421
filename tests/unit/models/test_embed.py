"""Every embedding backend against sentence-transformers, and the ONNX cache's life cycle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from reportqa import embed
from reportqa.embed import NumpyEncoder, SentenceTransformerEncoder, make_encoder
from reportqa.errors import ModelError

REPORT = (ROOT / "source_text" / "iopc-operation-amazon.txt").read_text("utf-8")

TEXTS = [
    "When did the IOPC publish the full findings of Operation Amazon?",
    "hi",
    "",
    "   ",
    "Émile’s “quoted” café — 2001/2002, £3.5m, naïve 🙂 😀 中文 العربية",
    "\x00 control \x07 characters \t and tabs",
    REPORT[:600],
    REPORT[:5000],  # far past the 256-wordpiece window: cut the way sentence-transformers cuts
    "word " * 300,
]


@pytest.fixture(scope="module")
def sentence_transformer() -> SentenceTransformerEncoder:
    """torch and the model, loaded once for the module (each load takes seconds)."""
    return SentenceTransformerEncoder()


@pytest.fixture(scope="module")
def reference(sentence_transformer) -> np.ndarray:
    return sentence_transformer.encode(TEXTS, batch_size=4)


@pytest.fixture(scope="module")
def built_cache(tmp_path_factory) -> Path:
    """One exported ONNX cache, copied by the tests that damage it."""
    cache = tmp_path_factory.mktemp("cache")
    os.environ["REPORTQA_CACHE_DIR"] = str(cache)
    try:
        from reportqa.models.onnx_encoder import OnnxEncoder

        OnnxEncoder(notify=lambda m: None)
    finally:
        del os.environ["REPORTQA_CACHE_DIR"]
    return cache


@pytest.fixture
def cache(built_cache, tmp_path, monkeypatch) -> Path:
    copy = tmp_path / "cache"
    shutil.copytree(built_cache, copy)
    monkeypatch.setenv("REPORTQA_CACHE_DIR", str(copy))
    return copy


def onnx_encoder(messages: list[str]):
    from reportqa.models.onnx_encoder import OnnxEncoder

    return OnnxEncoder(notify=messages.append)


def model_folder(cache: Path) -> Path:
    (folder,) = (cache / "models").iterdir()
    return folder


# --- equivalence ---------------------------------------------------------------


def test_numpy_matches_sentence_transformers(reference):
    got = NumpyEncoder().encode(TEXTS, batch_size=4)
    diff = float(np.abs(got - reference).max())
    print(f"numpy vs sentence-transformers: max |diff| = {diff:.2e}")
    assert diff <= 1e-5


def test_onnx_matches_sentence_transformers(reference, cache):
    got = onnx_encoder([]).encode(TEXTS, batch_size=4)
    diff = float(np.abs(got - reference).max())
    print(f"onnx vs sentence-transformers: max |diff| = {diff:.2e}")
    assert diff <= 1e-5


@pytest.fixture(scope="module")
def reference_tokens(sentence_transformer):
    return sentence_transformer.encode_tokens(TEXTS, batch_size=4)


@pytest.mark.parametrize("backend", ["numpy", "onnx"])
def test_wordpiece_vectors_match_sentence_transformers(reference, reference_tokens, backend, cache):
    # Late interaction reads the last hidden state of every wordpiece; the index stores
    # them from whichever backend built it, so all backends must give the same ones.
    enc = NumpyEncoder() if backend == "numpy" else onnx_encoder([])
    pooled, pieces = enc.encode_tokens(TEXTS, batch_size=4)
    assert np.abs(pooled - reference).max() <= 1e-5
    worst = 0.0
    for text, got, want in zip(TEXTS, pieces, reference_tokens[1]):
        assert got.ids.tolist() == want.ids.tolist()
        assert got.spans.tolist() == want.spans.tolist()
        assert all(0 <= a <= b <= len(text) for a, b in got.spans.tolist())
        assert got.vectors.shape == (len(got.ids), embed.DIM)
        if len(got.ids):
            worst = max(worst, float(np.abs(got.vectors - want.vectors).max()))
            assert np.allclose(np.linalg.norm(got.vectors, axis=1), 1.0, atol=1e-5)
    print(f"{backend} wordpieces vs sentence-transformers: max |diff| = {worst:.2e}")
    assert worst <= 1e-5
    assert len(pieces[1].ids) == 1 and len(pieces[2].ids) == 0  # "hi"; "" has only [CLS] and [SEP]
    assert len(pieces[7].ids) == embed.MAX_TOKENS - 2  # cut to the window, as sentence-transformers cuts


def test_batching_and_padding_do_not_change_vectors(cache):
    enc = onnx_encoder([])
    one_by_one = np.stack([enc.encode([t])[0] for t in TEXTS])
    assert np.abs(enc.encode(TEXTS, batch_size=32) - one_by_one).max() <= 1e-5


def test_vectors_are_unit_float32(cache):
    vecs = onnx_encoder([]).encode(TEXTS[:3])
    assert vecs.dtype == np.float32 and vecs.shape == (3, embed.DIM)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert onnx_encoder([]).encode([]).shape == (0, embed.DIM)


def test_every_backend_declares_the_same_model(cache, sentence_transformer):
    # The index records the weights, not the backend, so one index serves all.
    encoders = [NumpyEncoder(), onnx_encoder([]), sentence_transformer]
    assert len({(e.model_id, e.fingerprint, e.dim, e.max_tokens) for e in encoders}) == 1
    counts = {e.count_tokens(REPORT[:3000]) for e in encoders}
    assert len(counts) == 1


def test_bundled_index_is_fresh_for_the_onnx_backend(cache):
    from reportqa.assistant import BUNDLED_INDEX, BUNDLED_SOURCE
    from reportqa.index import expected_manifest, read_index, staleness

    manifest = read_index(BUNDLED_INDEX).manifest
    assert staleness(manifest, expected_manifest(BUNDLED_SOURCE, onnx_encoder([]))) is None


# --- the cache -------------------------------------------------------------------


def test_first_use_exports_once_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTQA_CACHE_DIR", str(tmp_path / "c"))
    first: list[str] = []
    onnx_encoder(first)
    assert len(first) == 1 and "preparing the ONNX model once" in first[0]
    folder = model_folder(tmp_path / "c")
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "model.onnx", "model.onnx.data"]
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    again: list[str] = []
    onnx_encoder(again)
    assert again == [] and stamps == {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert [p.name for p in (tmp_path / "c" / "models").iterdir()] == [folder.name]  # no temp folders left


def test_cache_honours_xdg_cache_home(tmp_path, monkeypatch):
    from reportqa.paths import cache_dir

    monkeypatch.delenv("REPORTQA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "reportqa"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "reportqa"


def _truncate(folder: Path) -> None:
    data = folder / "model.onnx.data"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])


def _flip_a_byte(folder: Path) -> None:
    data = folder / "model.onnx.data"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))


def _garbage_graph(folder: Path) -> None:
    (folder / "model.onnx").write_bytes(b"not a model")


def _garbage_meta(folder: Path) -> None:
    (folder / "meta.json").write_text("{not json")


def _delete_data(folder: Path) -> None:
    (folder / "model.onnx.data").unlink()


def _delete_meta(folder: Path) -> None:
    (folder / "meta.json").unlink()


def _other_weights(folder: Path) -> None:
    m = json.loads((folder / "meta.json").read_text())
    m["fingerprint"] = "sha256:" + "0" * 64
    (folder / "meta.json").write_text(json.dumps(m))


def _wrong_probe(folder: Path) -> None:
    # A model that loads and matches its checksums but computes something else.
    m = json.loads((folder / "meta.json").read_text())
    m["probe"] = [v + 1e-3 for v in m["probe"]]
    (folder / "meta.json").write_text(json.dumps(m))


@pytest.mark.parametrize(
    "damage", [_truncate, _flip_a_byte, _garbage_graph, _garbage_meta, _delete_data, _delete_meta, _other_weights, _wrong_probe]
)
def test_broken_cache_is_detected_and_rebuilt(cache, damage, reference):
    damage(model_folder(cache))
    messages: list[str] = []
    enc = onnx_encoder(messages)
    assert len(messages) == 1, messages
    assert "rebuilding" in messages[0] or (damage is _delete_meta and "preparing" in messages[0]), messages
    assert np.abs(enc.encode(TEXTS, batch_size=4) - reference).max() <= 1e-5
    again: list[str] = []
    onnx_encoder(again)
    assert again == []


def test_model_change_gets_its_own_cache(cache, monkeypatch):
    from reportqa.models import onnx_encoder as onnx_backend

    before = onnx_backend.model_dir("sha256:" + "a" * 64)
    monkeypatch.setattr(onnx_backend, "GRAPH_VERSION", onnx_backend.GRAPH_VERSION + 1)
    assert onnx_backend.model_dir("sha256:" + "a" * 64) != before
    assert onnx_backend.model_dir("sha256:" + "b" * 64) != before


# --- fallback ----------------------------------------------------------------------


def test_auto_falls_back_to_numpy_without_onnxruntime(monkeypatch, cache):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    messages: list[str] = []
    enc = make_encoder("auto", messages.append)
    assert isinstance(enc, NumpyEncoder) and type(enc).__name__ == "NumpyEncoder"
    assert len(messages) == 1 and "numpy" in messages[0]
    with pytest.raises(ModelError, match="onnxruntime is not installed"):
        make_encoder("onnx", messages.append)


def test_auto_falls_back_when_the_export_cannot_run(monkeypatch, tmp_path):
    monkeypatch.setenv("REPORTQA_CACHE_DIR", str(tmp_path / "empty"))
    monkeypatch.setitem(sys.modules, "onnx", None)
    messages: list[str] = []
    enc = make_encoder("auto", messages.append)
    assert type(enc).__name__ == "NumpyEncoder"
    assert "onnx package" in messages[-1]


def test_auto_falls_back_when_the_cache_is_not_writable(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("REPORTQA_CACHE_DIR", str(blocker / "cache"))
    messages: list[str] = []
    enc = make_encoder("auto", messages.append)
    assert type(enc).__name__ == "NumpyEncoder"
    assert "Cannot write the ONNX model" in messages[-1]


def test_unknown_backend_is_refused():
    with pytest.raises(ModelError, match="REPORTQA_BACKEND"):
        make_encoder("tensorflow")


def test_default_path_never_imports_torch(cache):
    code = (
        "import sys, reportqa; a = reportqa.answer('When did the IOPC publish the findings?'); "
        "from reportqa.embed import default_encoder; print(type(default_encoder()).__name__); "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))"
    )
    env = dict(os.environ, REPORTQA_BACKEND="auto")
    env.pop("PYTHONPATH", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split("\n")[:2] == ["OnnxEncoder", "[]"], out.stderr


def test_concurrent_first_runs_share_one_valid_cache(tmp_path, monkeypatch):
    # Four processes find no cache and export at once: each must end on ONNX, and the cache must be valid.
    env = dict(os.environ, REPORTQA_CACHE_DIR=str(tmp_path / "c"))
    code = "from reportqa.embed import make_encoder; print(type(make_encoder('auto')).__name__)"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [o.strip() for o, _ in outs] == ["OnnxEncoder"] * 4, [e for _, e in outs]
    monkeypatch.setenv("REPORTQA_CACHE_DIR", str(tmp_path / "c"))
    messages: list[str] = []
    onnx_encoder(messages)
    assert messages == []
    assert [p.name for p in (tmp_path / "c" / "models").iterdir()] == [model_folder(tmp_path / "c").name]
