"""A tiny, deterministic llama-architecture GGUF for offline tests of your own chains.

`make_tiny_gguf` writes a model of under a megabyte with random but seeded weights and a small
SentencePiece vocabulary of English words (plus the 256 byte tokens, so any text tokenizes). It
loads in llama-cpp-python (0.3.x) and in gpt4all 2.8.2 in milliseconds, decodes thousands of
tokens per second, and greedy decoding is deterministic.

How the output stays made of whole words: residual dimension 0 carries a constant (every token
embedding has 4.0 there, and no layer writes to it), so after the final norm it is a positive
"bias" input. The output projection turns it into a fixed ranking of token classes: whole words
(`"▁moon"`) far above everything else, so free text (greedy or sampled) is only words; below
them, in order, JSON closers (`"`, `,`, `:`, `}`, `]`), bare words and letters, digits, other
punctuation, the lone `▁`, word prefixes, ASCII byte tokens, non-ASCII byte tokens and last the
control tokens and end of sequence. The other dimensions stay random, so the words vary with the
prompt. A grammar can still force any token (llama.cpp masks what the grammar forbids), and the
ranking makes grammar-constrained JSON short: numbers end after a digit or two, keys and enum
values are spelled with whole pieces, and strings never contain partial UTF-8.

Example:
    >>> from langchain_localkit.testing import make_tiny_gguf
    >>> path = make_tiny_gguf("/tmp/tiny-llama.gguf")  # doctest: +SKIP
    >>> from langchain_localkit import LlamaCpp
    >>> LlamaCpp(model_path=str(path), temperature=0).invoke("the moon")  # doctest: +SKIP
    ' woman sky value we queen young where month the air is house that type alarm ...'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

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
    "true", "false", "null", "value", "code", "label", "score", "type", "id", "text",
    "tool", "call", "arguments", "set", "get", "alarm", "hour", "minute", "loud", "sensor",
    "north", "south", "east", "west", "user", "assistant", "system", "weather", "ok",
)  # fmt: skip
"""The whole words the model generates (as `"▁word"` pieces: a space, then the word)."""

WeightType = Literal["F32", "Q8_0", "Q4_0"]
"""How `make_tiny_gguf` stores the weight matrices."""

_CONTROL = ("<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>")
_SPACE = "\u2581"  # SentencePiece's word-boundary marker
_CLOSERS = '",:}]'  # what ends a JSON value, member or container
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_DIGITS = "0123456789"
_OTHER = ".?!;-'(){}[]/<>=+*&%$#@|\\~`^"  # `{` and `[` rank low: JSON nests no deeper than asked

# Each token's weight on the bias channel in `output.weight`: a fixed ranking of token classes.
# Tiers are at least 2 apart (times the channel, about 3 after the final norm, they are ~6
# logits apart); whole words are 12 above the next tier (~36 logits), more than the random part
# of a logit ever varies, so free text never leaves the words.
_TIER_WORD = 16.0
_TIER_CLOSER = 4.0
_TIER_PIECE = 1.0  # bare words and letters, +0.2 per character (longer pieces first)
_TIER_DIGIT = -2.0
_TIER_OTHER = -4.0
_TIER_SPACE = -6.0
_TIER_PREFIX = -8.0
_TIER_ASCII_BYTE = -10.0
_TIER_HIGH_BYTE = -12.0
_TIER_SPECIAL = -14.0
_PIECE_BONUS_PER_CHAR = 0.2
_PIECE_BONUS_MAX = 1.6


def _vocabulary(
    words: Sequence[str] = TINY_WORDS, controls: Sequence[str] = ()
) -> tuple[list[str], list[float], list[int], list[float], set[int]]:
    """Tokens, SentencePiece scores, token types, bias-channel tiers, and whole-word ids."""
    from gguf import TokenType

    tokens: list[str] = []
    scores: list[float] = []
    types: list[int] = []
    tiers: list[float] = []
    index: dict[str, int] = {}

    def add(piece: str, kind: TokenType, tier: float) -> int:
        if piece in index:  # already there (a word that is also a prefix, like "▁a")
            i = index[piece]
            tiers[i] = max(tiers[i], tier)
            return i
        index[piece] = len(tokens)
        tokens.append(piece)
        types.append(int(kind))
        # Longer pieces score higher, so SentencePiece merges prefer them; specials score 0.
        scores.append(float(len(piece)) if kind == TokenType.NORMAL else 0.0)
        tiers.append(tier)
        return len(tokens) - 1

    add("<unk>", TokenType.UNKNOWN, _TIER_SPECIAL)
    for special in (*_CONTROL[1:], *controls):
        add(special, TokenType.CONTROL, _TIER_SPECIAL)
    for b in range(256):
        add(f"<0x{b:02X}>", TokenType.BYTE, _TIER_ASCII_BYTE if b < 0x80 else _TIER_HIGH_BYTE)
    add(_SPACE, TokenType.NORMAL, _TIER_SPACE)
    for ch in _CLOSERS:
        add(ch, TokenType.NORMAL, _TIER_CLOSER)
    for ch in _LETTERS:
        add(ch, TokenType.NORMAL, _TIER_PIECE + _PIECE_BONUS_PER_CHAR)
    for ch in _DIGITS:
        add(ch, TokenType.NORMAL, _TIER_DIGIT)
    for ch in _OTHER:
        add(ch, TokenType.NORMAL, _TIER_OTHER)
    word_ids: set[int] = set()
    for word in words:
        piece = _SPACE + word
        # llama.cpp's SentencePiece tokenizer builds a piece only from pairs whose
        # concatenation is in the vocabulary, so every prefix of "▁word" is there too.
        for end in range(2, len(piece)):
            add(piece[:end], TokenType.NORMAL, _TIER_PREFIX)
        word_ids.add(add(piece, TokenType.NORMAL, _TIER_WORD))
    for word in words:  # bare words spell JSON keys and enum values in whole pieces
        bonus = min(_PIECE_BONUS_PER_CHAR * len(word), _PIECE_BONUS_MAX)
        add(word, TokenType.NORMAL, _TIER_PIECE + bonus)
    return tokens, scores, types, tiers, word_ids


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
    weight_type: WeightType = "F32",
    ffn_weight_type: WeightType | None = None,
    words: Sequence[str] | None = None,
    control_tokens: Sequence[str] = (),
) -> Path:
    """Write a tiny llama-architecture GGUF model with seeded random weights.

    The same arguments always give a byte-identical file. It loads in llama-cpp-python and
    gpt4all 2.8.2; greedy decoding is deterministic, and without a grammar the model only ever
    writes words of `TINY_WORDS` (each with a leading space), so its output is valid UTF-8 and
    easy to assert on. Grammars (JSON schemas, tool calls) can
    still force any token.

    Args:
        path: Where to write the file (its directory is created). An existing file is replaced.
        seed: Seed of the random weights; another seed gives another (equally tiny) model.
        chat_template: The `tokenizer.chat_template` stored in the file (ChatML by default),
            or None for a model without one.
        n_embd: Embedding width (at least 8).
        n_layer: Transformer blocks.
        n_head: Attention heads (`n_embd` must be a multiple).
        n_ff: Feed-forward width.
        context_length: The training context length written in the metadata.
        name: `general.name`.
        weight_type: How the attention and feed-forward matrices are stored: "F32", or
            quantized as "Q8_0" or "Q4_0" (the kinds llama.cpp repacks at load time, which
            exercises its CPU-specific kernels; widths must then be multiples of 32).
        ffn_weight_type: The same for the feed-forward matrices only (None: `weight_type`).
        words: The whole words the model writes (None: `TINY_WORDS`). A few words make its
            free text predictable: a test can choose a seed whose greedy reply has a shape it
            needs (e.g. `<think> ... </think>` among the words).
        control_tokens: More control tokens (special tokens that decode to no text, as
            gpt-oss's `<|channel|>`), after the built-in ChatML ones.

    Returns:
        The path of the written file.

    Raises:
        ValueError: If the sizes are not positive, `n_embd` is below 8 or is not a multiple of
            `n_head`, or a quantized `weight_type` meets widths that are not multiples of 32.

    Example:
        >>> from langchain_localkit.testing import make_tiny_gguf
        >>> from langchain_localkit.testing.tiny import TINY_WORDS
        >>> path = make_tiny_gguf("/tmp/tiny.gguf", seed=1)  # doctest: +SKIP
        >>> from llama_cpp import Llama  # doctest: +SKIP
        >>> llm = Llama(str(path), verbose=False)  # doctest: +SKIP
        >>> out = llm("the moon", max_tokens=8, temperature=0)  # doctest: +SKIP
        >>> text = out["choices"][0]["text"]  # doctest: +SKIP
        >>> all(word in TINY_WORDS for word in text.split())  # doctest: +SKIP
        True
    """
    import gguf
    import numpy as np

    if min(n_layer, n_head, n_ff, context_length) < 1:
        raise ValueError("n_layer, n_head, n_ff and context_length must be positive")
    if n_embd < 8:
        raise ValueError(f"n_embd ({n_embd}) must be at least 8")
    if n_embd % n_head:
        raise ValueError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
    ffn_weight_type = ffn_weight_type or weight_type
    if {weight_type, ffn_weight_type} != {"F32"} and (n_embd % 32 or n_ff % 32):
        raise ValueError(
            f"Quantized weights need n_embd ({n_embd}) and n_ff ({n_ff}) to be multiples of 32"
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tokens, scores, types, tiers, _ = _vocabulary(
        TINY_WORDS if words is None else tuple(words), tuple(control_tokens)
    )
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)

    def rand(rows: int, cols: int, gain: float = 1.0) -> np.ndarray:
        # Scaled by 1/sqrt(fan-in): the residual stream keeps about the same size for any
        # width and depth, so the bias channel keeps its share after every norm.
        return (rng.standard_normal((rows, cols)) * (gain / np.sqrt(cols))).astype(np.float32)

    ones = np.ones(n_embd, dtype=np.float32)
    file_type = {
        "F32": gguf.LlamaFileType.ALL_F32,
        "Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
        "Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0,
    }[weight_type]
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".gguf.tmp")
    os.close(fd)
    try:
        w = gguf.GGUFWriter(tmp_name, "llama")
        w.add_name(name)
        w.add_context_length(context_length)
        w.add_embedding_length(n_embd)
        w.add_block_count(n_layer)
        w.add_feed_forward_length(n_ff)  # older llama.cpp (gpt4all 2.8.2) requires these two
        w.add_head_count(n_head)
        w.add_head_count_kv(n_head)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_dimension_count(n_embd // n_head)
        w.add_rope_freq_base(10000.0)
        w.add_file_type(file_type)
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

        def add_matrix(name: str, data: np.ndarray) -> None:
            kind = ffn_weight_type if ".ffn_" in name else weight_type
            if kind == "F32":
                w.add_tensor(name, data)
            else:
                qtype = gguf.GGMLQuantizationType[kind]
                w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

        embd = rng.standard_normal((n_vocab, n_embd)).astype(np.float32)
        embd[:, 0] = 4.0  # the constant bias channel
        w.add_tensor("token_embd.weight", embd)
        for i in range(n_layer):
            w.add_tensor(f"blk.{i}.attn_norm.weight", ones)
            add_matrix(f"blk.{i}.attn_q.weight", rand(n_embd, n_embd, 2.0))
            add_matrix(f"blk.{i}.attn_k.weight", rand(n_embd, n_embd, 2.0))
            add_matrix(f"blk.{i}.attn_v.weight", rand(n_embd, n_embd))
            attn_out = rand(n_embd, n_embd, 0.5)
            attn_out[0, :] = 0.0  # nothing writes into the bias channel
            add_matrix(f"blk.{i}.attn_output.weight", attn_out)
            w.add_tensor(f"blk.{i}.ffn_norm.weight", ones)
            add_matrix(f"blk.{i}.ffn_gate.weight", rand(n_ff, n_embd))
            add_matrix(f"blk.{i}.ffn_up.weight", rand(n_ff, n_embd))
            ffn_down = rand(n_embd, n_ff, 0.5)
            ffn_down[0, :] = 0.0
            add_matrix(f"blk.{i}.ffn_down.weight", ffn_down)
        w.add_tensor("output_norm.weight", ones)
        out = rand(n_vocab, n_embd)
        out[:, 0] = np.asarray(tiers, dtype=np.float32)
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
