"""A word-level tokenizer learned from a caption vocabulary, stored as a plain word list.

The embedded model's captions use a small, closed vocabulary (the action captions, event
phrases and scene descriptions), so one token per word or symbol keeps a caption to a few
dozen tokens where UTF-8 bytes need hundreds. Text is lower-cased and split into runs of word
characters and single other symbols (so "(↑→)." is five tokens); words outside the vocabulary
map to ``<unk>``. Every text ends with ``</s>``. The vocabulary is stored in the text
encoder's config, so the tokenizer ships inside the weight file and needs nothing online.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordLevel
from tokenizers.trainers import WordLevelTrainer

SPECIAL_TOKENS = ("<pad>", "</s>", "<unk>")  # ids 0, 1, 2: T5's pad and end-of-sequence ids
_SPLIT = Regex(r"\w+|[^\w\s]")


def _empty_tokenizer(model: WordLevel) -> Tokenizer:
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Split(_SPLIT, behavior="removed", invert=True)
    return tokenizer


def learn_vocabulary(texts: Iterable[str]) -> list[str]:
    """Every word and symbol of ``texts`` (lower-cased), after the special tokens, by frequency."""
    tokenizer = _empty_tokenizer(WordLevel(unk_token="<unk>"))
    tokenizer.train_from_iterator(texts, WordLevelTrainer(special_tokens=list(SPECIAL_TOKENS), min_frequency=1))
    vocab = tokenizer.get_vocab()
    return sorted(vocab, key=vocab.__getitem__)


def check_vocabulary(vocab: list[str]) -> None:
    """A ValueError naming the problem unless ``vocab`` is a usable word list."""
    if not isinstance(vocab, list) or not all(isinstance(w, str) and w for w in vocab):
        raise ValueError("vocab must be a list of non-empty strings (see learn_vocabulary)")
    if tuple(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
        raise ValueError(f"vocab must start with {list(SPECIAL_TOKENS)}, got {vocab[:3]}")
    if len(set(vocab)) != len(vocab):
        raise ValueError("vocab has repeated entries")


def word_tokenizer(vocab: list[str]) -> Tokenizer:
    """The tokenizer of ``vocab``: ``tokenizer.encode(text).ids`` ends with the ``</s>`` id."""
    check_vocabulary(vocab)
    tokenizer = _empty_tokenizer(WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="<unk>"))
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return tokenizer
