import pytest
import torch

from yume_gym.actions import SpeedSuffix, caption_for_action
from yume_gym.model.text_encoder import (
    TextEncoderConfig,
    build_text_encoder,
    load_text_encoder,
    save_text_encoder,
)
from yume_gym.model.word_tokenizer import learn_vocabulary, word_tokenizer

TEXTS = [caption_for_action(a, SpeedSuffix()) for a in range(81)] + ["night falls", "a red pillar appears"]


def test_vocabulary_starts_with_the_special_tokens_and_splits_symbols():
    vocab = learn_vocabulary(TEXTS)
    assert vocab[:3] == ["<pad>", "</s>", "<unk>"]
    assert {"↑", "→", "(", "night", "camera"} <= set(vocab)
    ids = word_tokenizer(vocab).encode("The camera tilts up (↑→).").ids
    assert [vocab[i] for i in ids] == ["the", "camera", "tilts", "up", "(", "↑", "→", ")", ".", "</s>"]


def test_unknown_words_map_to_unk():
    vocab = learn_vocabulary(TEXTS)
    tokens = [vocab[i] for i in word_tokenizer(vocab).encode("a purple dragon appears").ids]
    assert tokens == ["a", "<unk>", "<unk>", "appears", "</s>"]


@pytest.mark.parametrize("vocab", [["a", "b"], ["<pad>", "</s>", "<unk>", "a", "a"], []])
def test_bad_vocabularies_are_rejected(vocab):
    with pytest.raises(ValueError, match="vocab"):
        TextEncoderConfig(vocab=vocab)


def test_word_encoder_is_short_trainable_and_round_trips(tmp_path):
    torch.manual_seed(0)
    encoder = build_text_encoder(TextEncoderConfig(d_model=16, num_heads=2, d_ff=32, max_length=64, text_len=128,
                                                   vocab=learn_vocabulary(TEXTS)))
    action = caption_for_action(40, SpeedSuffix())
    assert encoder.token_count(action) < 64  # bytes need 189-254
    captions = [(action, "night falls"), (caption_for_action(1, SpeedSuffix()), None)]
    trained = encoder(captions)  # forward: gradients on, batched with padding
    assert trained.requires_grad and trained.shape == (2, 128, 16)
    torch.testing.assert_close(trained.detach(), encoder.encode_batch(captions), atol=1e-5, rtol=1e-5)
    trained.square().sum().backward()
    assert encoder.t5.shared.weight.grad.abs().sum() > 0
    loaded = load_text_encoder(save_text_encoder(encoder, tmp_path / "te.safetensors"))
    assert loaded.config.vocab == encoder.config.vocab
    torch.testing.assert_close(loaded.encode_batch(captions), encoder.encode_batch(captions))
