"""Language-model access through litellm, plus a ``local/...`` provider for Hugging Face models on disk."""
