"""Importers: each fixture (written from the vendor's documented fields) → conversations → the expected JSONL,
with every left-out record reported by position and reason."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scorer import ConversationError
from scorer.importers import CsvOptions, Skipped, SpeechOptions, conversation_line, read_format
from scorer.importers._text import html_to_text, trim_quoted
from scorer.io import read_conversations
from scorer.types import Conversation

FIXTURES = Path(__file__).parent / "fixtures" / "importers"
CALL_START = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)

CASES = {  # format, fixture, options, expected skips (location suffix, words of the reason)
    "csv": ("messages.csv", {}, [(":9", "message is empty"), (":10", "no conversation_id"),
                                 (":11", "'yesterday' is not an ISO 8601"), (":12", "speaker 'supervisor'")]),
    "zendesk": ("zendesk_tickets.json", {}, [("record 1 comment 2", "author 777777 is neither the requester"),
                                             ("record 1 comment 3", "no text")]),
    "intercom": ("intercom_conversations.json", {}, [("record 0 part 6", "unknown author type 'visitor_bridge'")]),
    "freshdesk": ("freshdesk_tickets.jsonl", {}, [(":2 conversation 1", "'not a time'"), (":3", "no 'id'"),
                                                 (":4", "not a JSON record")]),
    "whisperx": ("whisperx_call.json", {"speech": SpeechOptions(conversation_id="call-123", started_at=CALL_START)},
                 [("segment 5", "no speaker label"), ("segment 8", "no text")]),
    "webvtt": ("call-77.vtt", {}, [("cue 5 (00:00:09.500)", "no <v Speaker> voice")]),
}


def _expected(fixture: str) -> list[str]:
    stem = fixture.rsplit(".", 1)[0]
    return (FIXTURES / f"{stem}.expected.jsonl").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("fmt", list(CASES))
def test_round_trip_fixture_to_expected_jsonl(fmt: str) -> None:
    fixture, options, skips = CASES[fmt]
    items = list(read_format(fmt, FIXTURES / fixture, **options))
    lines = [conversation_line(i) for i in items if isinstance(i, Conversation)]
    assert lines == _expected(fixture)
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert len(skipped) == len(skips), skipped
    for item, (where, why) in zip(skipped, skips, strict=True):
        assert item.location.startswith(str(FIXTURES / fixture)) and item.location.endswith(where), item
        assert why in item.reason, item


@pytest.mark.parametrize("fmt", list(CASES))
def test_expected_jsonl_is_read_by_score_as_is(fmt: str) -> None:
    fixture = CASES[fmt][0]
    read = list(read_conversations(FIXTURES / f"{fixture.rsplit('.', 1)[0]}.expected.jsonl"))
    assert read and all(isinstance(c, Conversation) for c in read)


def test_helpdesk_content_rules() -> None:
    zendesk = {c.id: c for c in read_format("zendesk", FIXTURES / "zendesk_tickets.json")
               if isinstance(c, Conversation)}
    printer = zendesk["35436"]
    texts = [t.text for t in printer.turns]
    assert not any("enterprise plan" in t for t in texts)  # the internal note stays out
    assert printer.metadata["internal_notes_left_out"] == 1
    assert texts[-1] == "Thanks, done!"  # the quoted earlier mail is trimmed
    assert texts[0].endswith("[attachments: smoke.jpg]") and "https://" not in texts[0]
    assert (printer.agent_id, printer.agent_name, printer.csat, printer.channel) == ("235323", "Sam Agent", 1.0,
                                                                                     "email")
    assert [t.speaker for t in zendesk["35437"].turns] == ["customer", "bot", "agent"]
    notes = next(c for c in read_format("zendesk", FIXTURES / "zendesk_tickets.json", include_notes=True)
                 if isinstance(c, Conversation))
    assert notes.metadata["internal_notes"][0]["text"] == "Customer is on the enterprise plan, escalate if needed."
    intercom = next(c for c in read_format("intercom", FIXTURES / "intercom_conversations.json")
                    if isinstance(c, Conversation))
    assert [t.speaker for t in intercom.turns] == ["customer", "bot", "agent", "bot", "customer"]
    assert intercom.metadata["events_without_text"] == 2 and intercom.tags == ["billing"]


def test_quoted_mail_markers() -> None:
    assert trim_quoted("Yes please.\n\nOn Tue, 2 Apr 2024, Support <s@x.com> wrote:\n> Shall we refund?") == \
        "Yes please."
    assert trim_quoted("Fine\n-----Original Message-----\nFrom: a") == "Fine"
    assert trim_quoted("##- Please type your reply above this line -##\nold") == ""
    assert trim_quoted("Keep > this line\nand this") == "Keep > this line\nand this"
    assert html_to_text('<p>New</p><blockquote type="cite">old</blockquote>') == "New"
    assert html_to_text("<p>a &amp; b<br>c</p><script>x()</script>") == "a & b\nc"


def test_csv_column_and_value_mapping(tmp_path: Path) -> None:
    path = tmp_path / "bi.csv"
    path.write_text("ticket,role,body,created_at,author_id,site\n"
                    "9,end-user,Where is my refund?,2024-01-02 10:00:00,u1,Paris\n"
                    "9,Operator,It was sent today.,2024-01-02 10:03:00,op5,Paris\n"
                    "9,assistant,Anything else?,2024-01-02 10:04:00,,Paris\n", encoding="utf-8")
    options = CsvOptions.from_strings("conversation_id=ticket,speaker=role,text=body,timestamp=created_at,"
                                      "agent_id=author_id", agent_values="operator", bot_values="assistant")
    [conversation] = list(read_format("csv", path, csv=options))
    assert isinstance(conversation, Conversation)
    assert [t.speaker for t in conversation.turns] == ["customer", "agent", "bot"]
    assert conversation.agent_id == "op5" and conversation.turns[0].agent_id is None  # a customer's id is no agent's
    assert conversation.turns[0].timestamp == datetime(2024, 1, 2, 10, 0, tzinfo=UTC)  # naive read as UTC
    assert conversation.metadata == {"site": "Paris"}
    with pytest.raises(ConversationError, match="unknown field 'speker'"):
        CsvOptions.from_strings("speker=role")
    with pytest.raises(ConversationError, match="mapped to both"):
        CsvOptions.from_strings(agent_values="agent,customer")
    with pytest.raises(ConversationError, match=r"no column for conversation_id \(column 'ticket_id'\)"):
        list(read_format("csv", path, csv=CsvOptions.from_strings("conversation_id=ticket_id")))


@pytest.mark.parametrize(("encoding", "delimiter"), [("utf-8-sig", ";"), ("utf-16", "\t"), ("utf-16-le", ","),
                                                     ("utf-8", "|")])
def test_csv_encodings_and_sniffed_delimiters(tmp_path: Path, encoding: str, delimiter: str) -> None:
    rows = [["conversation_id", "speaker", "text", "timestamp"],
            ["é-1", "customer", "Ça ne marche pas; aidez-moi, svp", "2024-02-01T10:00:00+01:00"],
            ["é-1", "agent", "Bonjour ! Voilà la solution.", "2024-02-01T10:01:00+01:00"]]
    path = tmp_path / "x.csv"
    body = "\r\n".join(delimiter.join(f'"{c}"' if delimiter in c or "," in c else c for c in r) for r in rows)
    path.write_bytes(body.encode(encoding))  # utf-16 writes a BOM (as Excel does); utf-16-le has none
    [conversation] = list(read_format("csv", path))
    assert isinstance(conversation, Conversation) and conversation.id == "é-1"
    assert [t.text for t in conversation.turns] == [rows[1][2], rows[2][2]]


def test_csv_out_of_order_rows_grouped_and_stably_sorted(tmp_path: Path) -> None:
    lines = ["conversation_id,timestamp,speaker,text"]
    for i in reversed(range(60)):  # interleaved conversations, newest first
        lines.append(f"c{i % 3},2024-01-01T00:{i // 2:02d}:00Z,{'agent' if i % 2 else 'customer'},m{i}")
    lines.append("c0,,customer,no time: stays after the row before it")
    path = tmp_path / "shuffled.csv"
    path.write_text("\n".join(lines) + "\n")
    conversations = [c for c in read_format("csv", path) if isinstance(c, Conversation)]
    assert [c.id for c in conversations] == ["c0", "c1", "c2"]  # in order of their ids
    for c in conversations:
        times = [t.timestamp for t in c.turns if t.timestamp]
        assert times == sorted(times)
    c0 = conversations[0]
    assert len(c0.turns) == 21 and [t.text for t in c0.turns[:3]] == ["m0", c0.turns[1].text, "m3"]
    assert c0.turns[1].text.startswith("no time")  # file order: it came right after m0
    same = tmp_path / "ties.csv"
    same.write_text("conversation_id,timestamp,speaker,text\nz,2024-01-01T00:00:00Z,customer,first\n"
                    "z,2024-01-01T00:00:00Z,agent,second\nz,2024-01-01T00:00:00Z,customer,third\n")
    [tied] = list(read_format("csv", same))
    assert [t.text for t in tied.turns] == ["first", "second", "third"]  # type: ignore[union-attr]


def test_csv_bad_input_is_a_clear_error_or_a_reported_row(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("conversation_id,speaker,text\n1,customer,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConversationError, match="--encoding"):
        list(read_format("csv", latin))
    [good] = list(read_format("csv", latin, csv=CsvOptions(encoding="latin-1")))
    assert good.turns[0].text == "café"  # type: ignore[union-attr]
    wide = tmp_path / "wide.csv"
    wide.write_text("conversation_id,speaker,text\n1,customer,a,b\n1,agent,ok\n")
    items = list(read_format("csv", wide))
    assert isinstance(items[0], Skipped) and items[0].location.endswith(":2") and "4 fields" in items[0].reason
    with pytest.raises(ConversationError, match="no such file"):
        list(read_format("csv", tmp_path / "missing.csv"))


def test_zendesk_single_ticket_api_shape_and_array(tmp_path: Path) -> None:
    export = json.loads((FIXTURES / "zendesk_tickets.json").read_text())
    ticket = export["tickets"][0]
    single = {"ticket": {k: v for k, v in ticket.items() if k != "comments"}, "comments": ticket["comments"],
              "users": export["users"]}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(single, indent=2))
    [conversation] = list(read_format("zendesk", path))
    assert conversation_line(conversation) == _expected("zendesk_tickets.json")[0]  # type: ignore[arg-type]
    array = tmp_path / "array.json"
    array.write_text(json.dumps([ticket]))
    [no_users] = [i for i in read_format("zendesk", array) if isinstance(i, Conversation)]
    assert no_users.agent_name is None and len(no_users.turns) == 3  # roles from requester/assignee ids


def test_speech_agent_rules_and_merge_gap(tmp_path: Path) -> None:
    caller_first = tmp_path / "c9.json"
    caller_first.write_text(json.dumps({"segments": [
        {"start": 0, "end": 1, "text": "Hello?", "speaker": "A"},
        {"start": 1.2, "end": 3, "text": "Good morning, you're speaking to Kim, how can I help?", "speaker": "B"}]}))
    greeting = next(c for c in read_format("whisperx", caller_first) if isinstance(c, Conversation))
    assert greeting.id == "c9" and [t.speaker for t in greeting.turns] == ["customer", "agent"]
    assert greeting.metadata["agent_rule"] == "rule 'greeting': B said \"you're speaking to\""
    first = next(c for c in read_format("whisperx", caller_first, speech=SpeechOptions(agent_rule="first"))
                 if isinstance(c, Conversation))
    assert [t.speaker for t in first.turns] == ["agent", "customer"] and "first speaker" in first.metadata["agent_rule"]
    path = FIXTURES / "whisperx_call.json"
    given = next(c for c in read_format("whisperx", path, speech=SpeechOptions(agent_speakers=("SPEAKER_00",)))
                 if isinstance(c, Conversation))
    assert given.metadata["speakers"] == {"SPEAKER_01": "customer", "SPEAKER_00": "agent"}
    assert given.metadata["agent_rule"] == "given with --agent-speaker"
    wide = next(c for c in read_format("whisperx", path, speech=SpeechOptions(merge_gap=10))
                if isinstance(c, Conversation))
    assert len(wide.turns) == 4  # the agent's three late segments merge when 10 s of silence is allowed
    with pytest.raises(ConversationError, match="SPEAKER_09 does not speak"):
        list(read_format("whisperx", path, speech=SpeechOptions(agent_speakers=("SPEAKER_09",))))


def test_webvtt_cue_with_two_voices_and_character_references(tmp_path: Path) -> None:
    path = tmp_path / "meet.vtt"
    path.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:03.500\n<v Agent Sam>Thanks for calling Q&amp;A Ltd.</v>\n"
                    "<v Caller>Hi <i>there</i>.\n\n00:00:04.000 --> 00:00:05.000\n<v Caller>It broke.\n"
                    "Again.\n")
    [call] = [c for c in read_format("webvtt", path) if isinstance(c, Conversation)]
    assert [(t.speaker, t.text) for t in call.turns] == [
        ("agent", "Thanks for calling Q&A Ltd."), ("customer", "Hi there. It broke. Again.")]
    assert call.turns[1].end == datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC)


class _Counting(io.BytesIO):
    """A file that remembers the furthest byte read, to show a reader streams."""

    furthest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return data

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        self.furthest = max(self.furthest, self.tell())
        return n


@pytest.mark.parametrize("shape", ["array", "lines"])
def test_helpdesk_exports_are_streamed_not_loaded(shape: str) -> None:
    ticket = json.loads((FIXTURES / "zendesk_tickets.json").read_text())["tickets"][1]
    tickets = [{**ticket, "id": n} for n in range(2500)]
    raw = "".join(json.dumps(t) + "\n" for t in tickets) if shape == "lines" else json.dumps(tickets, indent=1)
    handle = _Counting(raw.encode())
    items = read_format("zendesk", handle)
    first = next(i for i in items if isinstance(i, Conversation))
    assert first.id == "0"
    assert len(raw) > 2_000_000 and handle.furthest <= 256 * 1024  # the first buffers only, not the file
    assert sum(1 for i in items if isinstance(i, Conversation)) == 2499
