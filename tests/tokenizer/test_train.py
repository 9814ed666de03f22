"""Training: lossless round trip on real science text, reserved symbols, digits, determinism."""

from __future__ import annotations

import json

import pytest
import sentencepiece as spm

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.markup import markup_tokens
from sciloom.tokenizer.config import TokenizerConfig
from sciloom.tokenizer.encode import DocumentEncoder
from sciloom.tokenizer.metadata import fingerprint, read_metadata
from sciloom.tokenizer.symbols import EOS_ID, PAD_ID, UNK_ID, reserved_symbols
from sciloom.tokenizer.train import train_tokenizer

# Whitespace, Unicode and the one character SentencePiece itself cannot round-trip (U+2581).
EDGE_TEXTS = [
    "",
    " ",
    "  leading and trailing  ",
    "\n\n\tindented\n   \\begin{align}\n\t\tx &= 1 \\\\\n\\end{align}\n\n",
    "CRLF\r\nlines\rand CR only",
    "a\u2581b \u2581\u2581 ends with \u2581",
    "nul\x00byte and \x7f delete",
    "x²⁵ → ∞, ∑_{k} αβγ, ℝⁿ, 😀 🧪, 中文数学, Ελληνικά",
    "\ufeffBOM and \u200bzero width and \u00a0nbsp",
    "[START_REF] Title, Author[END_REF]<work>\nprint(1)\n</work>[IMAGE]",
]


@pytest.fixture(scope="module", params=["bpe", "unigram"])
def model(request, bpe_model, unigram_model):
    return {"bpe": bpe_model, "unigram": unigram_model}[request.param]


def test_round_trip_is_exact_and_never_unknown_on_every_real_document(model, real_docs):
    encoder = DocumentEncoder(model)
    lossy, unknown = [], []
    for d in real_docs:
        ids = encoder.encode(d["text"])
        if encoder.decode(ids) != d["text"]:
            lossy.append(d["id"])
        if UNK_ID in ids:
            unknown.append(d["id"])
    assert (lossy, unknown) == ([], [])


def test_round_trip_is_exact_on_whitespace_and_unicode_edge_cases(model):
    encoder = DocumentEncoder(model)
    for text in EDGE_TEXTS:
        assert encoder.decode(encoder.encode(text)) == text, repr(text)


def test_every_reserved_symbol_is_one_id_in_context(model):
    encoder = DocumentEncoder(model)
    sp = encoder.sp
    for sym in reserved_symbols():
        sym_id = sp.piece_to_id(sym)
        assert sym_id != UNK_ID, sym
        assert encoder.encode(sym) == [sym_id], sym
        # Glued to text on both sides it still comes out whole.
        ids = encoder.encode(f"x{sym}y")
        assert sym_id in ids and encoder.decode(ids) == f"x{sym}y", sym


def test_markup_ids_never_come_from_plain_text(model, real_docs):
    encoder = DocumentEncoder(model)
    markup_ids = {encoder.sp.piece_to_id(t) for t in markup_tokens()}
    plain = "START_REF END_REF [START REF] <work > work START_SMILES [IMAGE ] IMAGE"
    assert not markup_ids & set(encoder.encode(plain))
    for d in real_docs[::100]:
        if not any(t in d["text"] for t in markup_tokens()):
            assert not markup_ids & set(encoder.encode(d["text"])), d["id"]


def test_digits_are_split_one_token_each(model):
    encoder = DocumentEncoder(model)
    ids = encoder.encode("12345")
    assert [encoder.sp.id_to_piece(i) for i in ids] == ["1", "2", "3", "4", "5"]
    assert len(encoder.encode("x = 3.14159")) >= 7


def test_special_ids_have_pad_distinct_from_eos(model):
    sp = spm.SentencePieceProcessor(model_file=str(model))
    assert (sp.unk_id(), sp.eos_id(), sp.pad_id()) == (UNK_ID, EOS_ID, PAD_ID)
    assert sp.pad_id() != sp.eos_id()


def test_metadata_records_fingerprint_settings_and_reserved_ids(bpe_model):
    meta = read_metadata(bpe_model)
    assert meta["sha256"] == fingerprint(bpe_model)
    assert meta["settings"]["split_digits"] is True
    assert meta["settings"]["normalization_rule_name"] == "identity"
    sp = spm.SentencePieceProcessor(model_file=str(bpe_model))
    assert meta["reserved_ids"] == {s: sp.piece_to_id(s) for s in reserved_symbols()}
    assert meta["vocab_size"] == sp.get_piece_size() == 4000
    assert 3_000_000 < meta["sample"]["bytes"] < 4_500_000 and meta["sample"]["rate"] < 1
    assert set(meta["sample"]["bytes_by_source"]) <= {"arxiv", "math", "sample", "web", "web_html"}
    megatron_meta = json.loads(bpe_model.with_name("tokenizer_metadata.json").read_text())
    assert megatron_meta["library"] == "sentencepiece"


def test_training_is_deterministic_for_a_seed(tmp_path, shard_paths):
    config = TokenizerConfig(vocab_size=1000, sample_bytes=500_000, seed=7, num_threads=2)
    a = train_tokenizer(shard_paths, config, tmp_path / "a")
    b = train_tokenizer(shard_paths, config, tmp_path / "b")
    assert fingerprint(a) == fingerprint(b)
    assert read_metadata(a)["sample"]["documents"] < 5200  # a sample, not everything


def test_tiny_corpus_gets_a_smaller_vocabulary_recorded_not_an_error(tmp_path, real_docs):
    shard = tmp_path / "tiny.jsonl"
    tiny = [d for d in real_docs if d["source"] == "web"][:2]
    shard.write_text("".join(json.dumps(d) + "\n" for d in tiny))
    model = train_tokenizer([str(shard)], TokenizerConfig(vocab_size=32000, num_threads=1), tmp_path / "out")
    meta = read_metadata(model)
    assert meta["requested_vocab_size"] == 32000
    assert meta["vocab_clamped"] is True and meta["vocab_size"] < 32000
    encoder = DocumentEncoder(model)
    assert all(encoder.decode(encoder.encode(d["text"])) == d["text"] for d in tiny)


def test_long_lines_are_split_for_the_trainer_and_counted(tmp_path, real_docs):
    # A web page's text with its newlines removed: one line far over max_sentence_length.
    text = " ".join(d["text"].replace("\n", " ") for d in real_docs if d["source"] == "web")
    shard = tmp_path / "long.jsonl"
    shard.write_text(json.dumps({"id": "long", "text": text}) + "\n")
    config = TokenizerConfig(vocab_size=1000, max_sentence_length=4096, num_threads=1)
    meta = read_metadata(train_tokenizer([str(shard)], config, tmp_path / "out"))
    assert meta["sample"]["long_lines_split"] == 1
    assert meta["sample"]["lines"] >= len(text.encode()) // 4096
    assert meta["vocab_size"] == 1000  # the whole text was usable: enough for 1000 pieces


def test_math_boundary_tokens_are_reserved_when_asked(tmp_path, shard_paths):
    config = TokenizerConfig(vocab_size=1000, sample_bytes=300_000, math_boundary_tokens=True, num_threads=1)
    encoder = DocumentEncoder(train_tokenizer(shard_paths, config, tmp_path / "m"))
    assert len(encoder.encode("[START_INLINE_MATH]")) == 1
    assert len(encoder.encode("[END_DISPLAY_MATH]")) == 1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"vocab_size": 10}, "tokenizer.vocab_size"),
        ({"model_type": "wordpiece"}, "tokenizer.model_type"),
        ({"sample_bytes": 0}, "tokenizer.sample_bytes"),
        ({"num_threads": -1}, "tokenizer.num_threads"),
        ({"max_sentence_length": 10}, "tokenizer.max_sentence_length"),
        ({"character_coverage": 0.5}, "tokenizer.character_coverage"),
        ({"extra_symbols": [""]}, "tokenizer.extra_symbols"),
    ],
)
def test_config_errors_name_the_field(kwargs, field):
    with pytest.raises(RecipeError, match=field):
        TokenizerConfig(**kwargs)


def test_array_encoding_equals_list_encoding(bpe_model, real_docs):
    encoder = DocumentEncoder(bpe_model)
    for text in [*EDGE_TEXTS, *(d["text"] for d in real_docs[::250])]:
        assert encoder.encode_array(text, add_eod=True).tolist() == encoder.encode(text, add_eod=True)
