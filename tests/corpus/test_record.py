from sciloom.corpus.record import from_row, make_document, provenance_of, source_of, to_row


def test_row_round_trip_keeps_every_record_field():
    doc = make_document(
        "p1",
        "Let $x^2=1$.",
        "arxiv",
        url="arxiv/2101.00001.tar.gz",
        metadata={"math_fraction": 0.4},
        provenance={"input": "a.tar.gz", "member": "main.tex"},
    )
    back = from_row(to_row(doc))
    assert back.id == "p1" and back.text == "Let $x^2=1$."
    assert source_of(back) == "arxiv"
    assert back.metadata["url"] == "arxiv/2101.00001.tar.gz"
    assert back.metadata["math_fraction"] == 0.4
    assert provenance_of(back)["member"] == "main.tex"
    assert provenance_of(back)["stages"] == []


def test_jsonl_row_with_only_id_and_text_gets_the_default_source():
    doc = from_row({"id": 7, "text": "hello"}, default_source="web")
    assert doc.id == "7" and source_of(doc) == "web"
