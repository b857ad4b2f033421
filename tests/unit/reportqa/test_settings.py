"""The hand-set settings refuse what they cannot mean, and k has one default and one cap
(settings.DEFAULT_K, settings.MAX_K) that the API, the command line and the chat share."""

from __future__ import annotations

import inspect
import io
import math
from dataclasses import fields

import pytest
from cli_helpers import FakeAssistant
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from reportqa import cli, render
from reportqa.assistant import Assistant, answer
from reportqa.conversation import Conversation
from reportqa.errors import ReportQAError, SettingsError
from reportqa.settings import (
    DEFAULT,
    DEFAULT_K,
    FUSIONS,
    GROUPS,
    MAX_K,
    CandidateSettings,
    ReaderSettings,
    RetrievalSettings,
    Settings,
    check_k,
)
from reportqa.ui.repl import Repl
from reportqa.ui.session import Backend


def test_the_defaults_are_valid_and_a_valid_change_is_kept():
    assert Settings() == DEFAULT
    changed = DEFAULT.with_(fusion="rrf", bm25_b=0.0, answer_max_chars=0, abstain_threshold=1.0)
    assert changed.retrieval.fusion == "rrf" and changed.retrieval.bm25_b == 0.0
    assert changed.candidates.answer_max_chars == 0 and changed.reading.abstain_threshold == 1.0
    assert changed.reading.reader == DEFAULT.reading.reader  # the rest of each group is kept
    assert DEFAULT.with_(abstain_threshold=None).reading.abstain_threshold is None


def test_the_groups_round_trip_and_each_field_lives_in_one_group():
    changed = DEFAULT.with_(w_late=1.5, answer_passages=5, reader="linear", store="milvus:x.db")
    flat = changed.flat()
    assert set(flat) == {f.name for cls in GROUPS.values() for f in fields(cls)}  # no name in two groups
    assert len(flat) == sum(len(fields(cls)) for cls in GROUPS.values())
    assert DEFAULT.with_(**flat) == changed == Settings(**flat)  # by name, back to the same settings
    assert Settings(**{g: getattr(changed, g) for g in GROUPS}) == changed  # by group too
    assert DEFAULT.with_(retrieval=changed.retrieval) == Settings(retrieval=changed.retrieval)
    assert changed.retrieval == RetrievalSettings(w_late=1.5, store="milvus:x.db")
    assert changed.candidates == CandidateSettings(answer_passages=5)
    assert changed.reading == ReaderSettings(reader="linear")
    assert DEFAULT.with_() == DEFAULT and hash(changed) == hash(DEFAULT.with_(**flat))  # frozen, hashable


def test_an_unknown_field_or_a_wrong_group_is_refused_naming_it():
    with pytest.raises(SettingsError, match="Settings has no field 'fuson'"):
        DEFAULT.with_(fuson="rrf")
    with pytest.raises(SettingsError, match="Settings.retrieval must be a RetrievalSettings"):
        Settings(retrieval=CandidateSettings())
    with pytest.raises(SettingsError, match="Settings.fusion"):  # a group checks itself when made alone
        RetrievalSettings(fusion="rff")


def test_an_unknown_fusion_is_refused_naming_the_field_and_the_choices():
    # It used to run as z-score fusion without a word.
    with pytest.raises(SettingsError) as caught:
        DEFAULT.with_(fusion="rff")
    message = str(caught.value)
    assert "Settings.fusion" in message and "'rff'" in message
    assert all(repr(name) in message for name in FUSIONS)
    assert isinstance(caught.value, ReportQAError)


@pytest.mark.parametrize(
    "change, allowed",
    [
        ({"bm25_b": 1.5}, "from 0 to 1"),
        ({"bm25_k1": -0.1}, "0 or more"),
        ({"w_dense": -1.0}, "0 or more"),
        ({"w_late": math.nan}, "0 or more"),
        ({"answer_passages": 0}, "1 or more"),
        ({"late_passages": 2.5}, "a whole number"),
        ({"rrf_k": "60"}, "a whole number"),
        ({"yes_no_next_chars": True}, "a whole number"),
        ({"abstain_threshold": 1.2}, "from 0 to 1 (or None"),
        ({"abstain_threshold": -0.1}, "from 0 to 1 (or None"),
        ({"reader": ""}, "the name of a reader"),
        ({"reader": None}, "the name of a reader"),
    ],
)
def test_out_of_range_values_are_refused(change, allowed):
    (name,) = change
    with pytest.raises(SettingsError) as caught:
        Settings(**change)
    assert f"Settings.{name}" in str(caught.value) and allowed in str(caught.value)


@pytest.mark.parametrize("k", [0, -1, MAX_K + 1, 2.5, True, "3"])
def test_k_outside_one_to_the_cap_is_refused(k):
    with pytest.raises(SettingsError, match=f"from 1 to {MAX_K}"):
        check_k(k)


def test_the_api_refuses_k_over_the_cap(tiny_source, fake_encoder, tmp_path):
    a = Assistant(tiny_source, tmp_path / "index", encoder=fake_encoder, notify=lambda m: None)
    assert len(a.answer("When did the inspectors visit?", k=MAX_K).citations) <= MAX_K
    with pytest.raises(SettingsError, match=f"from 1 to {MAX_K}"):
        a.answer("When did the inspectors visit?", k=MAX_K + 1)
    with pytest.raises(ValueError):  # still a ValueError for callers that caught one
        a.answer("When did the inspectors visit?", k=0)


def test_one_default_k_everywhere(capsys, monkeypatch):
    for function in (Assistant.answer, answer, Conversation.ask, Repl.__init__):
        assert inspect.signature(function).parameters["k"].default == DEFAULT_K, function
    seen = []
    monkeypatch.setattr(cli, "make_assistant", lambda args, notify: seen.append(args.k) or FakeAssistant())
    assert cli.main(["ask", "who is the depot manager"]) == 0
    assert seen == [DEFAULT_K]


def test_the_command_line_and_the_chat_share_the_cap(capsys):
    # -k used to take any number while /k stopped at 20.
    assert cli.main(["ask", "-k", str(MAX_K + 1), "who is the depot manager"]) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"reportqa ask: error: argument -k: must be {MAX_K} or less (the most passages an answer cites), got {MAX_K + 1}\n")
    out = io.StringIO()
    fake = FakeAssistant()
    repl = Repl(Backend(ask=lambda q, k: fake.answer(q, k), sources=fake.sources_info, surroundings=fake.surroundings),
                out=out, style=render.Style(color=False, width=100))
    with create_pipe_input() as pipe:
        pipe.send_text(f"/k {MAX_K + 1}\n/k {MAX_K}\n\x04")
        assert repl.run(repl.session(input=pipe, output=DummyOutput())) == 0
    assert f"error: /k needs a whole number from 1 to {MAX_K}, for example /k 5." in out.getvalue()
    assert repl.k == MAX_K


def test_a_settings_error_on_the_command_line_is_one_line_and_exit_2(capsys, monkeypatch):
    def make(args, notify):
        return Assistant(args.source, args.index_dir, settings=DEFAULT.with_(fusion="bogus"))

    monkeypatch.setattr(cli, "make_assistant", make)
    assert cli.main(["ask", "who is the depot manager"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "reportqa ask: error: Settings.fusion must be one of 'zscore', 'rrf', not 'bogus'.\n"
    )
