"""chat_models faces."""
