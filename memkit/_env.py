"""Process-wide settings that keep memkit quiet and offline by default.

Imported first by ``memkit/__init__``.  Only sets variables the user did not set.
"""

from __future__ import annotations

import os

_DEFAULTS = {
    # litellm fetches a model cost map from GitHub at import time unless told not to.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    # chromadb and huggingface telemetry off.
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    # tokenizers warns loudly when a process forks after it was used.
    "TOKENIZERS_PARALLELISM": "false",
}


def apply() -> None:
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)


apply()
