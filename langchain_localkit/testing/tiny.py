"""A tiny, deterministic llama-architecture GGUF for offline tests of your own chains.

`make_tiny_gguf` writes a ~0.6 MB model with random but seeded weights and a small SentencePiece
vocabulary of English words (plus the 256 byte tokens, so any text tokenizes). It loads in
llama-cpp-python, in gpt4all 2.8.2 and in llama.cpp's server in milliseconds, decodes thousands
of tokens per second, and greedy decoding is deterministic.

How the output stays made of whole words: residual dimension 0 carries a constant (every token
embedding has 4.0 there, and no layer writes to it), so after the final norm it is a positive
"bias" input; the output projection gives whole words a large positive weight on it, other
printable pieces (characters, word prefixes) a negative one, and raw bytes, control tokens and
end of sequence a larger negative one. The other 63 dimensions stay random, so the words vary
with the prompt. A grammar can still force any token (llama.cpp masks what the grammar forbids,
and printable pieces win over raw bytes then), which makes the model a good test of
grammar-constrained tool calls and JSON.

Example:
    >>> from langchain_localkit.testing import make_tiny_gguf
    >>> path = make_tiny_gguf("/tmp/tiny-llama.gguf")  # doctest: +SKIP
    >>> from langchain_localkit import LlamaCpp
    >>> LlamaCpp(model_path=str(path), temperature=0).invoke("the moon")  # doctest: +SKIP
    ' answer year team ...'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
"""The ChatML template (as Qwen and OpenHermes ship it) written into the tiny model."""

TINY_WORDS: tuple[str, ...] = (
    "the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "at", "by", "for", "with",
    "from", "about", "into", "over", "after", "before", "is", "was", "are", "were", "be",
    "been", "has", "have", "had", "do", "did", "will", "would", "can", "could", "should",
    "may", "might", "must", "not", "no", "yes", "it", "he", "she", "they", "we", "you", "i",
    "this", "that", "these", "those", "what", "who", "when", "where", "why", "how", "which",
    "first", "second", "last", "next", "new", "old", "good", "great", "small", "large",
    "long", "short", "high", "low", "early", "late", "young", "man", "woman", "people",
    "child", "team", "city", "country", "world", "moon", "sun", "star", "sky", "sea", "river",
    "mountain", "tree", "house", "road", "year", "day", "night", "time", "week", "month",
    "game", "cup", "bowl", "super", "won", "lost", "played", "walked", "born", "found",
    "made", "said", "asked", "answer", "question", "search", "query", "book", "story",
    "letter", "word", "name", "number", "color", "red", "green", "blue", "light", "dark",
    "water", "fire", "earth", "air", "music", "song", "art", "science", "history", "space",
    "rocket", "ship", "train", "car", "dog", "cat", "bird", "fish", "food", "bread",
    "apple", "king", "queen", "war", "peace", "school", "teacher", "student", "doctor",
)  # fmt: skip
"""The whole words the model generates."""

_CONTROL = ("<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>")
_CHARS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    ".,?!:;-_'\"(){}[]/<>=+*&%$#@|\\~`^"
)
_SPACE = "\u2581"  # SentencePiece's word-boundary marker


def _vocabulary() -> tuple[list[str], list[float], list[int], set[int]]:
    """Tokens, scores, token types, and the ids of whole words."""
    from gguf import TokenType

    tokens: list[str] = list(_CONTROL)
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
    types += [TokenType.CONTROL, TokenType.CONTROL]
    scores = [0.0] * len(_CONTROL)
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(TokenType.BYTE)
        scores.append(0.0)
    seen = set(tokens)

    def add(piece: str) -> int:
        if piece in seen:
            return tokens.index(piece)
        seen.add(piece)
        tokens.append(piece)
        types.append(TokenType.NORMAL)
        scores.append(float(len(piece)))  # longer pieces win SentencePiece merges
        return len(tokens) - 1

    for ch in _SPACE + _CHARS:
        add(ch)
    words: set[int] = set()
    for word in TINY_WORDS:
        piece = _SPACE + word
        for end in range(2, len(piece)):
            add(piece[:end])
        words.add(add(piece))
    return tokens, scores, [int(t) for t in types], words


def make_tiny_gguf(
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    chat_template: str | None = TINY_CHAT_TEMPLATE,
    n_embd: int = 64,
    n_layer: int = 2,
    n_head: int = 4,
    n_ff: int = 128,
    context_length: int = 4096,
    name: str = "tiny-llama",
) -> Path:
    """Write a tiny llama-architecture GGUF model with seeded random weights.

    The same arguments always give a byte-identical file. It loads in llama-cpp-python,
    gpt4all 2.8.2 and llama.cpp's server; greedy decoding is deterministic and yields valid
    UTF-8 text made of the words in `TINY_WORDS`.

    Args:
        path: Where to write the file (its directory is created). An existing file is replaced.
        seed: Seed of the random weights; another seed gives another (equally tiny) model.
        chat_template: The `tokenizer.chat_template` stored in the file (ChatML by default),
            or None for a model without one.
        n_embd: Embedding width.
        n_layer: Transformer blocks.
        n_head: Attention heads (`n_embd` must be a multiple).
        n_ff: Feed-forward width.
        context_length: The training context length written in the metadata.
        name: `general.name`.

    Returns:
        The path of the written file.

    Example:
        >>> from langchain_localkit.testing import make_tiny_gguf
        >>> path = make_tiny_gguf("/tmp/tiny.gguf", seed=1)  # doctest: +SKIP
    """
    import gguf
    import numpy as np

    if n_embd % n_head:
        raise ValueError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tokens, scores, types, words = _vocabulary()
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)

    def rand(*shape: int, scale: float) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".gguf.tmp")
    os.close(fd)
    try:
        w = gguf.GGUFWriter(tmp_name, "llama")
        w.add_name(name)
        w.add_context_length(context_length)
        w.add_embedding_length(n_embd)
        w.add_block_count(n_layer)
        w.add_feed_forward_length(n_ff)
        w.add_head_count(n_head)
        w.add_head_count_kv(n_head)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_dimension_count(n_embd // n_head)
        w.add_rope_freq_base(10000.0)
        w.add_file_type(gguf.LlamaFileType.ALL_F32)
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_unk_token_id(0)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_add_bos_token(True)
        w.add_add_eos_token(False)
        w.add_add_space_prefix(True)
        if chat_template is not None:
            w.add_chat_template(chat_template)

        embd = rand(n_vocab, n_embd, scale=0.5)
        embd[:, 0] = 4.0  # the constant "bias" channel
        w.add_tensor("token_embd.weight", embd)
        for i in range(n_layer):
            w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
            for part in ("q", "k", "v"):
                w.add_tensor(f"blk.{i}.attn_{part}.weight", rand(n_embd, n_embd, scale=0.2))
            attn_out = rand(n_embd, n_embd, scale=0.2)
            attn_out[0, :] = 0.0  # nothing writes into the bias channel
            w.add_tensor(f"blk.{i}.attn_output.weight", attn_out)
            w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
            w.add_tensor(f"blk.{i}.ffn_gate.weight", rand(n_ff, n_embd, scale=0.2))
            w.add_tensor(f"blk.{i}.ffn_up.weight", rand(n_ff, n_embd, scale=0.2))
            ffn_down = rand(n_embd, n_ff, scale=0.2)
            ffn_down[0, :] = 0.0
            w.add_tensor(f"blk.{i}.ffn_down.weight", ffn_down)
        w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
        out = rand(n_vocab, n_embd, scale=0.15)
        # bias tiers: whole words win; where a grammar forbids them, printable pieces come
        # before raw bytes (which could form invalid UTF-8) and control tokens
        normal = np.array(types) == int(gguf.TokenType.NORMAL)
        out[:, 0] = np.where(normal, -4.0, -12.0)
        out[sorted(words), 0] = 8.0
        w.add_tensor("output.weight", out)

        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


__all__ = ["TINY_CHAT_TEMPLATE", "TINY_WORDS", "make_tiny_gguf"]
