"""Coverage-guided fuzzing of the readers with atheris (``make fuzz``; not part of ``make test``).

Feeds arbitrary bytes to the conversation reader (as JSONL and as a JSON array), the rubric parser and the PII
redactor. Any exception that is not a :class:`scorer._errors.RubricateError` is a bug and stops the run with the
input that caused it (saved by libFuzzer as ``crash-*``). Run longer with ``make fuzz FUZZ_SECONDS=3600``.

    pip install atheris
    python tests/fuzz_readers.py -max_total_time=60 [corpus_dir]
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from scorer._errors import RubricateError
    from scorer.io import BadRecord, read_conversations
    from scorer.redact import Redactor
    from scorer.rubric import parse_rubric
    from scorer.types import Conversation

_FOLDER = Path(tempfile.mkdtemp(prefix="rubricate-fuzz-"))
_REDACTOR = Redactor()


def one_input(data: bytes) -> None:
    for suffix, payload in ((".jsonl", data), (".json", b"[" + data)):
        path = _FOLDER / f"in{suffix}"
        path.write_bytes(payload)
        try:
            for record in read_conversations(path):
                assert isinstance(record, Conversation | BadRecord)
                if isinstance(record, Conversation):
                    redacted, redaction = _REDACTOR.redact(record)
                    for before, after in zip(record.turns, redacted.turns, strict=True):
                        assert redaction.restore(after.text) == before.text
        except RubricateError:
            pass
    with contextlib.suppress(RubricateError):
        parse_rubric(data.decode("utf-8", "replace"))


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
