"""Shared fixtures. Servers and models are real; nothing of ours is mocked."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests._ls_fixture import label_studio  # noqa: F401  (a real Label Studio server)
from tests.openai_batch_server import batch_stub  # noqa: F401  (a fixture: the stub with the batch API)
from tests.openai_stub_server import openai_stub  # noqa: F401  (a fixture: a real OpenAI-compatible server)
