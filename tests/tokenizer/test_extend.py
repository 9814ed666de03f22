"""Extension for continued pretraining: old ids never change, new tokens are one id each."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from sciloom.corpus.errors import UsageError
from sciloom.corpus.markup import markup_tokens
from sciloom.tokenizer.config import TokenizerConfig
from sciloom.tokenizer.extend import extend_tokenizer
from sciloom.tokenizer.metadata import read_metadata
from sciloom.tokenizer.train import train_tokenizer

REGISTRY = markup_tokens(include_optional=False)


@pytest.fixture(scope="module")
def base_sp(tmp_path_factory, real_docs) -> Path:
    """A base model of the common kind: SentencePiece defaults (nmt_nfkc, dummy prefix), no markup."""
    lines = [
        line for d in real_docs if d["source"] in ("math", "web") for line in d["text"].split("\n") if line
    ]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=2000, byte_fallback=True, minloglevel=2
    )
    path = tmp_path_factory.mktemp("base") / "base.model"
    path.write_bytes(model.getvalue())
    return path


def _pieces(path: Path) -> list[str]:
    sp = spm.SentencePieceProcessor(model_file=str(path))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]


def test_extending_a_sentencepiece_model_keeps_every_old_id(tmp_path, base_sp):
    old = _pieces(base_sp)
    model = extend_tokenizer(base_sp, tmp_path)
    new = _pieces(model)
    assert new[: len(old)] == old
    assert new[len(old) :] == REGISTRY


def test_new_tokens_are_one_id_each_and_recorded(tmp_path, base_sp, real_docs):
    model = extend_tokenizer(base_sp, tmp_path)
    sp = spm.SentencePieceProcessor(model_file=str(model))
    meta = read_metadata(model)
    n = len(_pieces(base_sp))
    assert meta["added_ids"] == {tok: n + i for i, tok in enumerate(REGISTRY)}
    assert meta["vocab_size"] == n + len(REGISTRY) == sp.get_piece_size()
    for tok, tok_id in meta["added_ids"].items():
        assert tok_id in sp.encode(f"see {tok} here"), tok
    # Text without markup encodes exactly as before: continued pretraining sees the same ids.
    base = spm.SentencePieceProcessor(model_file=str(base_sp))
    for d in real_docs[-50:]:
        assert sp.encode(d["text"]) == base.encode(d["text"])


def test_a_token_already_present_as_an_ordinary_piece_keeps_its_id_and_is_never_split(tmp_path, base_sp):
    proto = pb.ModelProto()
    proto.ParseFromString(base_sp.read_bytes())
    piece = proto.pieces.add()
    piece.piece, piece.score, piece.type = "<work>", -50.0, pb.ModelProto.SentencePiece.NORMAL
    base = tmp_path / "with_work.model"
    base.write_bytes(proto.SerializeToString())
    work_id = len(proto.pieces) - 1
    model = extend_tokenizer(base, tmp_path / "out")
    meta = read_metadata(model)
    assert meta["retyped_ids"] == {"<work>": work_id}
    assert "<work>" not in meta["added_ids"]
    assert work_id in spm.SentencePieceProcessor(model_file=str(model)).encode("a<work>b")


def test_extending_twice_adds_nothing_the_second_time(tmp_path, base_sp):
    once = extend_tokenizer(base_sp, tmp_path / "once")
    twice = extend_tokenizer(once, tmp_path / "twice")
    assert _pieces(once) == _pieces(twice)
    assert read_metadata(twice)["added_ids"] == {}


def test_train_with_base_model_extends_instead(tmp_path, base_sp):
    config = TokenizerConfig(base_model=str(base_sp), math_boundary_tokens=True)
    model = train_tokenizer([], config, tmp_path)
    assert read_metadata(model)["kind"] == "extended"
    assert _pieces(model)[-len(markup_tokens()) :] == markup_tokens()


def test_extending_a_hugging_face_tokenizer_json_keeps_every_old_id(tmp_path, real_docs):
    hf = Tokenizer(models.BPE(unk_token="[UNK]"))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=1500, special_tokens=["[UNK]", "<|endoftext|>"], show_progress=False
    )
    hf.train_from_iterator((d["text"] for d in real_docs if d["source"] == "math"), trainer)
    base = tmp_path / "hf" / "tokenizer.json"
    base.parent.mkdir()
    hf.save(str(base))
    old_vocab = hf.get_vocab(with_added_tokens=True)
    path = extend_tokenizer(base.parent, tmp_path / "out")
    assert path.name == "tokenizer.json"
    ext = Tokenizer.from_file(str(path))
    vocab = ext.get_vocab(with_added_tokens=True)
    assert all(vocab[p] == i for p, i in old_vocab.items())
    added = read_metadata(path)["added_ids"]
    assert sorted(added.values()) == list(range(len(old_vocab), len(old_vocab) + len(REGISTRY)))
    for tok, tok_id in added.items():
        assert tok_id in ext.encode(f"x {tok} y").ids, tok


def test_extend_rejects_a_file_that_is_no_tokenizer(tmp_path, shared_data):
    with pytest.raises(UsageError, match="not a SentencePiece model"):
        extend_tokenizer(shared_data / "arxiv-src" / "good" / "polch.tex", tmp_path)
    with pytest.raises(UsageError, match="no tokenizer.model or tokenizer.json"):
        extend_tokenizer(tmp_path, tmp_path / "out")
