"""The face skeleton: what every LLM, chat and embeddings class of the package has in common.

A runtime's faces are declarations over these bases: the parameters users know, an engine, and
the few hooks the base cannot know (how to turn a call into engine requests). See
docs/architecture.md.
"""
