import logging
import os
import re

import pytest

from mtkeras.data import (
    ConllReader,
    DataError,
    DelimitedReader,
    JointNLUReader,
    JsonLinesReader,
    iter_joint_nlu,
    read_conll,
    read_delimited,
    read_joint_nlu,
    read_jsonl,
)


def test_readers_module_keeps_its_names():
    import mtkeras.data
    from mtkeras.data import readers

    for name in ["Example", "DataError", "read_joint_nlu", "iter_joint_nlu", "read_conll", "read_delimited"]:
        assert getattr(readers, name) is getattr(mtkeras.data, name)


def write(folder, **files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name.replace("_", ".")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return str(folder)


def test_reads_words_tags_and_labels_ignoring_trailing_spaces(tmp_path):
    folder = write(
        tmp_path,
        seq_in="book a table for two \nplay  jazz\r\n",
        seq_out="O O O O B-party_size \nO B-genre\r\n",
        label="BookRestaurant\nPlayMusic \n",
    )
    examples = read_joint_nlu(folder)
    assert [ex.words for ex in examples] == [("book", "a", "table", "for", "two"), ("play", "jazz")]
    assert examples[0].labels == {"intent": "BookRestaurant", "slots": ("O", "O", "O", "O", "B-party_size")}
    assert examples[1].labels["intent"] == "PlayMusic"
    assert examples[1].source.endswith("seq.in:2")
    assert examples[1].text == "play jazz"


def test_task_names_are_configurable_and_files_optional(tmp_path):
    folder = write(tmp_path, seq_in="great job\nawful\n", label="positive\nnegative\n")
    examples = read_joint_nlu(folder, label_task="sentiment", tags_task=None)
    assert [ex.labels for ex in examples] == [{"sentiment": "positive"}, {"sentiment": "negative"}]


def test_byte_order_mark_is_not_part_of_the_first_word(tmp_path):
    folder = write(tmp_path, seq_in="\ufeffhello there\n", seq_out="\ufeffO O\n", label="\ufeffGreet\n")
    (example,) = read_joint_nlu(folder)
    assert example.words == ("hello", "there")
    assert example.labels == {"intent": "Greet", "slots": ("O", "O")}


def test_one_task_cannot_label_both_files(tmp_path):
    folder = write(tmp_path, seq_in="a\n", seq_out="O\n", label="x\n")
    with pytest.raises(ValueError, match="must differ"):
        read_joint_nlu(folder, label_task="t", tags_task="t")


@pytest.mark.parametrize(
    "files, message",
    [
        ({"seq_in": "a b\n", "seq_out": "O\n", "label": "x\n"}, r"seq\.out:1: 1 tags for 2 words"),
        ({"seq_in": "a\nb\n", "seq_out": "O\nO\n", "label": "x\n"}, r"label: ends after 1 lines but .*seq\.in has more"),
        ({"seq_in": "a\n", "seq_out": "O\nO\n", "label": "x\n"}, r"seq\.in: ends after 1 lines but .*seq\.out has more"),
        ({"seq_in": "a\n  \n", "seq_out": "O\n\n", "label": "x\ny\n"}, r"seq\.in:2: empty text"),
        ({"seq_in": "a\n", "seq_out": "O\n", "label": " \n"}, r"label:1: empty label"),
        ({"seq_in": "ok\n\xff\xfe bad\n".encode("latin-1"), "seq_out": "O\nO O\n", "label": "x\ny\n"}, r"seq\.in:2: not valid UTF-8"),
        ({"seq_in": "", "seq_out": "", "label": ""}, r"seq\.in: empty file"),
        ({"seq_in": "a\n", "label": "x\n"}, r"seq\.out: file not found"),
    ],
)
def test_bad_input_names_file_line_and_problem(tmp_path, files, message):
    folder = write(tmp_path, **files)
    with pytest.raises(DataError, match=message):
        read_joint_nlu(folder)


# --- Shared helpers and the contract every reader keeps ---------------------------------


def write_file(folder, name, content):
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return str(path)


def skipped_warnings(caplog):
    return [
        r.getMessage() for r in caplog.records if r.name == "mtkeras.data.readers" and r.levelno == logging.WARNING
    ]


# Per reader: a way to build it, a file with one good record and one bad one, the bad
# record's location (relative to tmp_path) and problem.
CONTRACT = {
    "joint_nlu": (
        lambda path, **kw: JointNLUReader(path, **kw),
        {"seq.in": "a b\nc d\n", "seq.out": "O O\nO\n", "label": "x\ny\n"},
        "seq.out:2",
        "1 tags for 2 words",
    ),
    "conll": (
        lambda path, **kw: ConllReader(path, **kw),
        {"f.conll": "a O\nb O\n\nc\n"},
        "f.conll:4",
        "1 column(s), expected 2 as on line 1",
    ),
    "delimited": (
        lambda path, **kw: DelimitedReader(path, {"t": "label"}, **kw),
        {"f.tsv": "text\tlabel\na b\tx\nc d\t \n"},
        "f.tsv:3",
        "empty label for task 't'",
    ),
    "jsonl": (
        lambda path, **kw: JsonLinesReader(path, {"t": "label"}, **kw),
        {"f.jsonl": '{"text": "a b", "label": "x"}\n{"text": "c d"}\n'},
        "f.jsonl:2",
        "no field 'label'",
    ),
}


def contract_reader(tmp_path, kind, **kwargs):
    make, files, location, problem = CONTRACT[kind]
    for name, content in files.items():
        write_file(tmp_path, name, content)
    target = tmp_path if kind == "joint_nlu" else tmp_path / next(iter(files))
    return make(str(target), **kwargs), os.path.join(str(tmp_path), location), problem


@pytest.mark.parametrize("kind", sorted(CONTRACT))
def test_every_reader_raises_or_skips_bad_records(tmp_path, caplog, kind):
    reader, location, problem = contract_reader(tmp_path, kind)
    with pytest.raises(DataError, match=re.escape(f"{location}: {problem}")):
        reader.read()

    reader, _, _ = contract_reader(tmp_path, kind, on_error="skip")
    assert not skipped_warnings(caplog)
    with caplog.at_level(logging.WARNING, logger="mtkeras.data.readers"):
        examples = reader.read()
    assert len(examples) == 1 and examples[0].words == ("a", "b")
    assert examples == list(reader)  # read() is list(reader); skipped is per iteration
    assert len(reader.skipped) == 1
    assert reader.skipped[0][0] == location and reader.skipped[0][1].startswith(problem)
    (message, _) = skipped_warnings(caplog)  # one warning per iteration
    assert "skipped 1 bad" in message and "of 2" in message and f"{location}: {problem}" in message
    assert set(examples[0].labels) == set(reader.tasks)


@pytest.mark.parametrize("kind", sorted(CONTRACT))
def test_every_reader_checks_on_error(tmp_path, kind):
    with pytest.raises(ValueError, match=r"`on_error`.*Received: on_error='ignore'"):
        contract_reader(tmp_path, kind, on_error="ignore")


def test_a_source_with_only_bad_records_is_an_error(tmp_path):
    path = write_file(tmp_path, "f.jsonl", '{"text": "a"}\nnot json\n')
    message = r"f\.jsonl: no examples left, all 2 records are bad; the first: .*f\.jsonl:1: no field"
    with pytest.raises(DataError, match=message):
        read_jsonl(path, {"t": "label"}, on_error="skip")


# --- Joint intent/slot folders ------------------------------------------------------------


def test_joint_nlu_reader_skips_bad_lines_and_reports_them(tmp_path, caplog):
    folder = write(
        tmp_path,
        seq_in="book a table\n \nplay jazz\nhi\nweather in rome\nstop\n",
        seq_out="O O O\n\nO\nO\nO O city\nO\n",
        label="Book\nX\nPlay\n\nWeather\nStop\n",
    )
    reader = JointNLUReader(folder, on_error="skip")
    assert reader.tasks == {"intent": "sentence", "slots": "token"}
    with caplog.at_level(logging.WARNING, logger="mtkeras.data.readers"):
        examples = reader.read()
    assert [ex.text for ex in examples] == ["book a table", "stop"]
    assert [ex.source for ex in examples] == [os.path.join(folder, "seq.in:1"), os.path.join(folder, "seq.in:6")]
    assert [(os.path.basename(where), problem.split(" (")[0]) for where, problem in reader.skipped] == [
        ("seq.in:2", "empty text"),
        ("seq.out:3", "1 tags for 2 words"),
        ("label:4", "empty label"),
        ("seq.out:5", "word 3"),
    ]
    assert "not O, B-<type> or I-<type>" in reader.skipped[3][1]
    (message,) = skipped_warnings(caplog)
    assert "skipped 4 bad texts of 6" in message and "seq.in:2: empty text" in message


def test_joint_nlu_tag_scheme_none_accepts_any_tag(tmp_path):
    folder = write(tmp_path, seq_in="the dog\n", seq_out="DT NN\n", label="x\n")
    with pytest.raises(DataError, match=r"seq\.out:1: word 1 \('the'\): tag 'DT' is not O, B-<type> or I-<type>"):
        read_joint_nlu(folder)
    (example,) = read_joint_nlu(folder, tag_scheme=None)
    assert example.labels["slots"] == ("DT", "NN")


def test_iter_joint_nlu_streams(tmp_path):
    folder = write(tmp_path, seq_in="a\nb\n", label="x\ny\n")
    stream = iter_joint_nlu(folder, tags_task=None)
    assert next(stream).labels == {"intent": "x"}
    assert next(stream).words == ("b",)


def test_joint_nlu_reader_checks_its_arguments():
    with pytest.raises(ValueError, match=r"Received: tag_scheme='iob'"):
        JointNLUReader("folder", tag_scheme="iob")
    with pytest.raises(ValueError, match=r"Received: label_task=''"):
        JointNLUReader("folder", label_task="")


# --- CoNLL token files --------------------------------------------------------------------

CONLL = (
    "-DOCSTART- -X- -X- O\n"
    "\n"
    "EU NNP B-NP B-ORG \n"  # 3: trailing space
    "rejects VBZ B-VP O\n"
    "German JJ B-NP B-MISC\n"
    "\t\n"  # 6: a lone tab separates
    "\n"
    "Peter NNP B-NP B-PER\r\n"  # 8: CRLF
    "Blackburn NNP I-NP I-PER\r\n"
    "  \n"
    "-DOCSTART- -X- -X- O\n"
    "\n"
    "BRUSSELS NNP B-NP B-LOC"  # 13: no final line end, no final blank line
)


def test_conll_reader_reads_sentences_with_sources(tmp_path):
    path = write_file(tmp_path, "train.txt", CONLL)
    reader = ConllReader(path)
    assert reader.tasks == {"entities": "token"}
    examples = reader.read()
    assert [(ex.words, ex.labels, ex.source) for ex in examples] == [
        (("EU", "rejects", "German"), {"entities": ("B-ORG", "O", "B-MISC")}, f"{path}:3"),
        (("Peter", "Blackburn"), {"entities": ("B-PER", "I-PER")}, f"{path}:8"),
        (("BRUSSELS",), {"entities": ("B-LOC",)}, f"{path}:13"),
    ]
    # A final blank line (or several) changes nothing.
    again = write_file(tmp_path, "again.txt", CONLL + "\n\n \n")
    assert [ex.labels for ex in read_conll(again)] == [ex.labels for ex in examples]


def test_conll_columns_are_configurable(tmp_path):
    path = write_file(tmp_path, "chunks.txt", "EU B-NP S-ORG\nrejects B-VP O \n\nPeter B-NP B-PER\n")
    chunks = read_conll(path, task="chunks", tag_column=1)
    assert [ex.labels for ex in chunks] == [{"chunks": ("B-NP", "B-VP")}, {"chunks": ("B-NP",)}]
    with pytest.raises(DataError, match=r"chunks\.txt:1: word 'EU': tag 'S-ORG' is not O, B-<type> or I-<type>"):
        read_conll(path, tag_column=-1)
    last = read_conll(path, task="entities", tag_column=-1, tag_scheme=None)
    assert [ex.labels["entities"] for ex in last] == [("S-ORG", "O"), ("B-PER",)]
    tags_first = write_file(tmp_path, "tags_first.txt", "O the\nB-x dog\n")
    (example,) = read_conll(tags_first, token_column=1, tag_column=0)
    assert example.words == ("the", "dog") and example.labels["entities"] == ("O", "B-x")


@pytest.mark.parametrize(
    "content, kwargs, message",
    [
        ("rejects\t\nEU B-ORG\n", {}, r"f\.txt:1: 1 column\(s\), too few for token_column=0 and tag_column=-1 \(line: 'rejects'\)"),
        ("EU B-ORG \nrejects\t\nx O\n", {}, r"f\.txt:2: 1 column\(s\), expected 2 as on line 1 \(line: 'rejects'\)"),
        ("EU NNP B-ORG\nrejects O\n", {}, r"f\.txt:2: 2 column\(s\), expected 3 as on line 1"),
        ("EU B-ORG\n", {"tag_column": 2}, r"f\.txt:1: 2 column\(s\), too few for token_column=0 and tag_column=2"),
        ("EU B_ORG\n", {}, r"f\.txt:1: word 'EU': tag 'B_ORG' is not O, B-<type> or I-<type>"),
        ("EU B-\n", {}, r"f\.txt:1: word 'EU': tag 'B-' is not"),
        ("", {}, r"f\.txt: no sentences \(the file is empty"),
        ("-DOCSTART- O\n\n\t\n", {}, r"f\.txt: no sentences"),
        ("EU B-ORG\n\ncaf\xe9 O\n".encode("latin-1"), {}, r"f\.txt:3: not valid UTF-8"),
    ],
)
def test_conll_bad_input_names_file_line_and_problem(tmp_path, content, kwargs, message):
    path = write_file(tmp_path, "f.txt", content)
    with pytest.raises(DataError, match=message):
        read_conll(path, **kwargs)


def test_conll_skip_leaves_out_whole_bad_sentences(tmp_path, caplog):
    path = write_file(tmp_path, "f.txt", "a O\nb\nc O\n\nd B-x\n\ne X\nf O\n\t\ng O")
    reader = ConllReader(path, on_error="skip")
    with caplog.at_level(logging.WARNING, logger="mtkeras.data.readers"):
        examples = reader.read()
    assert [(ex.words, ex.source) for ex in examples] == [(("d",), f"{path}:5"), (("g",), f"{path}:10")]
    assert [(where, problem.split(",")[0]) for where, problem in reader.skipped] == [
        (f"{path}:2", "1 column(s)"),
        (f"{path}:7", "word 'e': tag 'X' is not O"),
    ]
    (message,) = skipped_warnings(caplog)
    assert "skipped 2 bad sentences of 4" in message


def test_conll_reader_checks_its_arguments():
    with pytest.raises(ValueError, match=r"must differ. Received: token_column=1, tag_column=1"):
        ConllReader("f.txt", token_column=1, tag_column=1)
    with pytest.raises(ValueError, match=r"`tag_column`, expected an integer. Received: tag_column='2'"):
        ConllReader("f.txt", tag_column="2")
    with pytest.raises(ValueError, match=r"Received: task=None"):
        ConllReader("f.txt", task=None)


# --- Delimited text -----------------------------------------------------------------------


def test_delimited_reads_sst2_style_tsv(tmp_path):
    # Header, `text <TAB>label` rows, bare quotes (TSV is unquoted), a tab-only line.
    path = write_file(
        tmp_path,
        "train.tsv",
        "sentence\tlabel\n"
        "it 's a charming and often affecting journey . \t1\n"
        '"unflinchingly bleak and desperate \t0\n'
        "\t\n"
        "the movie 's \"plot\" , such as it is \t0\r\n"
        "\n",
    )
    reader = DelimitedReader(path, {"sentiment": "label"}, text_column="sentence")
    assert reader.tasks == {"sentiment": "sentence"}
    examples = reader.read()
    assert [ex.text for ex in examples] == [
        "it 's a charming and often affecting journey .",
        '"unflinchingly bleak and desperate',
        'the movie \'s "plot" , such as it is',
    ]
    assert [ex.labels for ex in examples] == [{"sentiment": "1"}, {"sentiment": "0"}, {"sentiment": "0"}]
    assert [ex.source for ex in examples] == [f"{path}:2", f"{path}:3", f"{path}:5"]


def test_delimited_reads_quoted_csv_with_several_tasks(tmp_path):
    path = write_file(
        tmp_path,
        "reviews.csv",
        "\ufeffid,review,stars,topic\n"
        '1,"great food, slow service",4,food\n'
        '2,"he said ""wow""\nand left",2 , staff\n'  # a quoted field over two lines
        "3,fine,3,price\n",
    )
    examples = read_delimited(path, {"rating": "stars", "topic": "topic"}, text_column="review")
    assert [ex.words for ex in examples] == [
        ("great", "food,", "slow", "service"),
        ("he", "said", '"wow"', "and", "left"),
        ("fine",),
    ]
    assert [ex.labels for ex in examples] == [
        {"rating": "4", "topic": "food"},
        {"rating": "2", "topic": "staff"},
        {"rating": "3", "topic": "price"},
    ]
    assert [ex.source for ex in examples] == [f"{path}:2", f"{path}:3", f"{path}:5"]


def test_delimited_columns_by_position(tmp_path):
    no_header = write_file(tmp_path, "data.txt", "sports|the match was great\nnews|rates go up \n")
    examples = read_delimited(no_header, {"topic": 0}, text_column=1, header=False, delimiter="|")
    assert [(ex.text, ex.labels) for ex in examples] == [
        ("the match was great", {"topic": "sports"}),
        ("rates go up", {"topic": "news"}),
    ]
    assert examples[0].source == f"{no_header}:1"
    with_header = write_file(tmp_path, "data.tsv", "label\ttext\nsports\tthe match\n")
    (example,) = read_delimited(with_header, {"topic": -2}, text_column=-1)
    assert (example.text, example.labels, example.source) == ("the match", {"topic": "sports"}, f"{with_header}:2")


@pytest.mark.parametrize(
    "name, content, kwargs, message",
    [
        ("f.tsv", "text\tlabel\na\tx\n", {"text_column": "sentence"},
         r"f\.tsv:1: no column 'sentence' \(text_column\); the header has \['text', 'label'\]"),
        ("f.tsv", "text\tlabel\na\tx\n", {"columns": {"t": "stars"}},
         r"f\.tsv:1: no column 'stars' \(columns\['t'\]\); the header has \['text', 'label'\]"),
        ("f.tsv", "text\tlabel\ttext\na\tx\tb\n", {}, r"f\.tsv:1: column 'text' \(text_column\) appears 2 times"),
        ("f.tsv", "a\tx\n", {"text_column": 0, "columns": {"t": 2}, "header": False},
         r"f\.tsv:1: column 2 \(columns\['t'\]\) is out of range; the first row has 2 columns"),
        ("f.tsv", "text\tlabel\na\tx\nb\n", {}, r"f\.tsv:3: 1 fields, expected 2 like the header \(line 1\)"),
        ("f.csv", "text,label\na,b,x\n", {}, r"f\.csv:2: 3 fields, expected 2 like the header"),
        ("f.tsv", "text\tlabel\na\tx\n \ty\n", {}, r"f\.tsv:3: empty text \(column 'text'\)"),
        ("f.tsv", "text\tlabel\na\t \n", {}, r"f\.tsv:2: empty label for task 't' \(column 'label'\)"),
        ("f.csv", 'text,label\n"a" b,x\n', {}, r"f\.csv:2: bad quoting \(',' expected after '\"'\)"),
        ("f.csv", 'text,label\nok,x\n"never closed,x\n', {}, r"f\.csv:3: bad quoting \(unexpected end of data\)"),
        ("f.tsv", "text\tlabel\nna\xefve\tx\n".encode("latin-1"), {}, r"f\.tsv:2: not valid UTF-8"),
        ("f.tsv", "", {}, r"f\.tsv: empty file, no rows"),
        ("f.tsv", "\n", {"text_column": 0, "columns": {"t": 1}, "header": False}, r"f\.tsv: empty file, no rows"),
        ("f.tsv", "text\tlabel\n\n", {}, r"f\.tsv: no rows after the header on line 1"),
    ],
)
def test_delimited_bad_input_names_file_line_and_problem(tmp_path, name, content, kwargs, message):
    path = write_file(tmp_path, name, content)
    kwargs = {"columns": {"t": "label"}, **kwargs}
    with pytest.raises(DataError, match=message):
        read_delimited(path, **kwargs)


def test_delimited_skip_leaves_out_bad_rows(tmp_path, caplog):
    path = write_file(tmp_path, "f.csv", 'text,label\ngood one,x\n,y\n"bad" q,z\nshort\nfine,w\n')
    reader = DelimitedReader(path, {"t": "label"}, on_error="skip")
    with caplog.at_level(logging.WARNING, logger="mtkeras.data.readers"):
        examples = reader.read()
    assert [(ex.text, ex.source) for ex in examples] == [("good one", f"{path}:2"), ("fine", f"{path}:6")]
    assert [where for where, _ in reader.skipped] == [f"{path}:3", f"{path}:4", f"{path}:5"]
    (message,) = skipped_warnings(caplog)
    assert "skipped 3 bad rows of 5" in message and f"{path}:3: empty text" in message


def test_delimited_reader_checks_its_arguments():
    with pytest.raises(ValueError, match=r"delimiter of 'data\.txt'.*Received: delimiter=None"):
        DelimitedReader("data.txt", {"t": "label"})
    with pytest.raises(ValueError, match=r"Without a header.*text_column='text'"):
        DelimitedReader("data.tsv", {"t": 1}, header=False)
    with pytest.raises(ValueError, match=r"Received: columns\['t'\]=1\.5"):
        DelimitedReader("data.tsv", {"t": 1.5})
    with pytest.raises(ValueError, match=r"Received: columns=\['label'\]"):
        DelimitedReader("data.tsv", ["label"])
    with pytest.raises(ValueError, match=r"`delimiter`, expected one character .* Received: delimiter=';;'"):
        DelimitedReader("data.tsv", {"t": "label"}, delimiter=";;")
    with pytest.raises(ValueError, match=r"Received: quoted=1"):
        DelimitedReader("data.tsv", {"t": "label"}, quoted=1)
    with pytest.raises(ValueError, match=r"cannot be a label column"):
        DelimitedReader("data.tsv", {"t": "text"})


# --- JSON Lines ---------------------------------------------------------------------------


def test_jsonl_reads_texts_labels_and_tags(tmp_path):
    path = write_file(
        tmp_path,
        "nlu.jsonl",
        '{"utterance": "book a table  for two ", "intent": "Book", "slots": ["O", "O", "O", "O", "B-n"]}\n'
        "  \t\n"
        '{"utterance": "play jazz", "intent": 7, "slots": ["O", "B-genre"], "extra": null}\n',
    )
    reader = JsonLinesReader(path, {"intent": "intent"}, {"slots": "slots"}, text_field="utterance")
    assert reader.tasks == {"intent": "sentence", "slots": "token"}
    examples = reader.read()
    assert [(ex.words, ex.labels, ex.source) for ex in examples] == [
        (("book", "a", "table", "for", "two"), {"intent": "Book", "slots": ("O", "O", "O", "O", "B-n")}, f"{path}:1"),
        (("play", "jazz"), {"intent": "7", "slots": ("O", "B-genre")}, f"{path}:3"),
    ]


def test_jsonl_words_field_and_allow_missing_mix_sources(tmp_path):
    path = write_file(
        tmp_path,
        "mixed.jsonl",
        '{"tokens": ["New York", "rain", "?"], "intent": "Weather", "tags": ["B-city", "O", "O"]}\n'
        '{"tokens": ["great", "job"], "sentiment": "positive", "intent": null}\n',
    )
    fields = {"label_fields": {"intent": "intent", "sentiment": "sentiment"}, "tag_fields": {"slots": "tags"}}
    examples = read_jsonl(path, words_field="tokens", allow_missing=True, **fields)
    assert [(ex.words, ex.labels) for ex in examples] == [
        (("New York", "rain", "?"), {"intent": "Weather", "slots": ("B-city", "O", "O")}),
        (("great", "job"), {"sentiment": "positive"}),
    ]
    message = r"mixed\.jsonl:1: no field 'sentiment' \(task 'sentiment'\); the object has fields \['intent', 'tags', 'tokens'\]"
    with pytest.raises(DataError, match=message):
        read_jsonl(path, words_field="tokens", **fields)


@pytest.mark.parametrize(
    "line, kwargs, message",
    [
        ('{"text": "a", "label": "x",}', {}, r"f\.jsonl:2: invalid JSON: Expecting property name enclosed in double quotes \(column 28\)"),
        ('["a", "x"]', {}, r"f\.jsonl:2: expected a JSON object, got an array"),
        ('{"sentence": "a", "label": "x"}', {}, r"f\.jsonl:2: no field 'text' \(the text\); the object has fields \['label', 'sentence'\]"),
        ('{"text": "a"}', {}, r"f\.jsonl:2: no field 'label' \(task 't'\); the object has fields \['text'\]"),
        ('{"text": "a", "label": null}', {}, r"f\.jsonl:2: field 'label' \(task 't'\) is null"),
        ('{"text": 5, "label": "x"}', {}, r"f\.jsonl:2: field 'text' must be a string, got a number: 5"),
        ('{"text": " ", "label": "x"}', {}, r"f\.jsonl:2: empty text \(field 'text'\)"),
        ('{"text": "a", "label": ["x"]}', {}, r"f\.jsonl:2: field 'label' must be a string label, got an array: \['x'\]"),
        ('{"text": "a", "label": true}', {}, r"f\.jsonl:2: field 'label' must be a string label, got a boolean"),
        ('{"text": "a", "label": " "}', {}, r"f\.jsonl:2: empty label \(field 'label'\)"),
        ('{"words": "a b", "label": "x"}', {"words_field": "words"}, r"f\.jsonl:2: field 'words' must be an array of strings"),
        ('{"words": ["a", ""], "label": "x"}', {"words_field": "words"}, r"f\.jsonl:2: field 'words': word 2 is empty"),
        ('{"text": "a b", "label": "x", "tags": "O O"}', {"tag_fields": {"s": "tags"}}, r"f\.jsonl:2: field 'tags' must be an array of tags"),
        ('{"text": "a b", "label": "x", "tags": ["O"]}', {"tag_fields": {"s": "tags"}}, r"f\.jsonl:2: field 'tags' has 1 tags for 2 words"),
        ('{"text": "a b", "label": "x", "tags": ["O", "city"]}', {"tag_fields": {"s": "tags"}},
         r"f\.jsonl:2: field 'tags', word 2 \('b'\): tag 'city' is not O, B-<type> or I-<type>"),
        ('{"text": "a b", "label": "x", "tags": ["O", "B x"]}', {"tag_fields": {"s": "tags"}, "tag_scheme": None},
         r"f\.jsonl:2: field 'tags', word 2 \('b'\): tag 'B x' is empty or holds white space"),
        ('{"text": "caf\xe9", "label": "x"}'.encode("latin-1"), {}, r"f\.jsonl:2: not valid UTF-8"),
    ],
)
def test_jsonl_bad_input_names_file_line_and_problem(tmp_path, line, kwargs, message):
    first = b'{"text": "ok", "label": "y", "tags": ["O"], "words": ["ok"]}\n'
    path = write_file(tmp_path, "f.jsonl", first + (line if isinstance(line, bytes) else line.encode()) + b"\n")
    with pytest.raises(DataError, match=message):
        read_jsonl(path, {"t": "label"}, **kwargs)


def test_jsonl_empty_file_is_an_error(tmp_path):
    path = write_file(tmp_path, "f.jsonl", "\n \n")
    with pytest.raises(DataError, match=r"f\.jsonl: empty file, no records"):
        read_jsonl(path, {"t": "label"})


def test_jsonl_skip_leaves_out_bad_lines(tmp_path, caplog):
    content = '{"text": "a", "l": "x"}\n{oops\n{"text": "b"}\n{"text": "c", "l": "z"}\n'
    path = write_file(tmp_path, "f.jsonl", content)
    reader = JsonLinesReader(path, {"t": "l"}, on_error="skip")
    with caplog.at_level(logging.WARNING, logger="mtkeras.data.readers"):
        examples = reader.read()
    assert [ex.text for ex in examples] == ["a", "c"]
    assert [where for where, _ in reader.skipped] == [f"{path}:2", f"{path}:3"]
    assert reader.skipped[0][1].startswith("invalid JSON")
    (message,) = skipped_warnings(caplog)
    assert "skipped 2 bad records of 4" in message


def test_jsonl_reader_checks_its_arguments():
    with pytest.raises(ValueError, match=r"not both. Received: text_field='text', words_field='words'"):
        JsonLinesReader("f.jsonl", text_field="text", words_field="words")
    with pytest.raises(ValueError, match=r"\['x'\] are in both label_fields and tag_fields"):
        JsonLinesReader("f.jsonl", {"x": "a"}, {"x": "b"})
    with pytest.raises(ValueError, match=r"Received: allow_missing='yes'"):
        JsonLinesReader("f.jsonl", allow_missing="yes")
    with pytest.raises(ValueError, match=r"Received: tag_fields\['s'\]=3"):
        JsonLinesReader("f.jsonl", tag_fields={"s": 3})


def test_unclosed_quote_is_never_skipped_because_it_swallows_later_rows(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('text,label\nok,x\n"never closed,x\nmore,y\nrows,z\n', encoding="utf-8")
    from mtkeras.data import read_delimited

    with pytest.raises(DataError, match=r"data\.csv:3: quote opened here is never closed; lines 3-5"):
        read_delimited(str(path), columns={"t": "label"}, on_error="skip")
