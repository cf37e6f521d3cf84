import pytest

from mtkeras.data import DataError, read_joint_nlu


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
