"""`validate` reads local data the way a run will, every row of it (up to a sample's size): each
kind of problem is named once, with the file and the line of its first row, before a run spends
time on models; data a run reads fine gives no error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hftui.core.checks import data as data_check
from hftui.core.checks import validate
from hftui.core.checks.data_scan import first_record, scan_file
from hftui.core.preset import load

PRESET = """schema = 1
[model]
task = "{task}"
{model}
[model.scratch]
architecture = "llama"
tokenizer = "byte"
hidden_size = 32
num_hidden_layers = 1
num_attention_heads = 4
intermediate_size = 64

[dataset]
path = "{builder}"
data_files = {files}

[trainer]
type = "{trainer}"

[args]
output_dir = "runs/x"
max_steps = 2
"""


def problems(folder: Path, files: dict[str, str | bytes], data_files: str, builder: str = "json", trainer: str = "trainer",
             task: str = "sequence-classification", model: str = "") -> list:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    preset = folder / "p.toml"
    preset.write_text(PRESET.format(task=task, model=model, builder=builder, files=data_files, trainer=trainer), encoding="utf-8")
    return validate(load(preset))


def jsonl(rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def labelled(n: int = 300) -> list:
    return [{"text": f"review {i}", "label": i % 2} for i in range(1, n + 1)]


def only(found, key: str, text: str):
    hits = [p for p in found if p.path == key and text in p.message]
    assert len(hits) == 1, f"{key!r} {text!r} not found once in:\n" + "\n".join(p.format() for p in found)
    return hits[0]


def errors(found) -> list:
    return [p for p in found if p.is_error]


@pytest.fixture(autouse=True)
def _catalog(warm_catalog):
    return warm_catalog


def test_corrupt_line_deep_in_the_file_is_named(tmp_path):
    rows = [json.dumps(r) for r in labelled()]
    rows[149] = '{"text": "review 150", "label": 1'
    p = only(problems(tmp_path, {"d.jsonl": jsonl(rows)}, '"d.jsonl"'), "dataset.data_files", "line 150 is not valid JSON")
    assert p.is_error and "d.jsonl" in p.message and "one JSON object" in p.hint


def test_null_label_and_number_as_text(tmp_path):
    rows = labelled()
    rows[250]["label"] = None
    rows[100]["text"] = 12345
    found = problems(tmp_path, {"d.jsonl": jsonl(rows)}, '"d.jsonl"')
    assert only(found, "dataset.label_column", "line 251: 'label' has no value (null)").is_error
    assert only(found, "dataset.text_column", "line 101: 'text' holds a whole number 12345 where text goes").is_error


def test_regression_needs_numbers_and_classes_need_whole_numbers(tmp_path):
    words = jsonl({"text": f"t{i}", "label": "good" if i % 2 else "bad"} for i in range(20))
    found = problems(tmp_path, {"w.jsonl": words}, '"w.jsonl"', model="num_labels = 1")
    p = only(found, "dataset.label_column", "line 1: 'label' holds text \"bad\", but num_labels = 1 trains a regression")
    assert "(and 19 more like it)" in p.message and "remove model.num_labels = 1" in p.hint
    decimals = jsonl({"text": f"t{i}", "label": i / 4} for i in range(1, 9))
    found = problems(tmp_path, {"f.jsonl": decimals}, '"f.jsonl"')
    assert only(found, "dataset.label_column", "line 1: label 0.25 is a decimal number").is_error
    assert not errors(problems(tmp_path, {"n.jsonl": decimals}, '"n.jsonl"', model="num_labels = 1"))


def test_labels_outside_the_classes(tmp_path):
    rows = jsonl([{"text": "a", "label": 0}, {"text": "b", "label": 1}, {"text": "c", "label": 3}, {"text": "d", "label": -2}])
    found = problems(tmp_path, {"d.jsonl": rows}, '"d.jsonl"', model="num_labels = 2")
    assert "at least 4" in only(found, "dataset.label_column", "line 3: label 3 is not below num_labels = 2").hint
    only(found, "dataset.label_column", "line 4: label -2 is negative")


def test_every_kind_of_problem_at_once_each_named_once(tmp_path):
    rows = [json.dumps(r) for r in labelled(40)]
    rows[4] = '{"text": "row 5", "label": }'
    rows[6] = json.dumps({"text": "row 7", "label": None})
    rows[7] = json.dumps({"text": "row 8"})
    rows[8] = json.dumps({"text": ["row", "9"], "label": 1})
    rows[20] = "[1, 2]"
    found = problems(tmp_path, {"d.jsonl": jsonl(rows)}, '"d.jsonl"')
    only(found, "dataset.data_files", "line 5 is not valid JSON")
    null = only(found, "dataset.label_column", "line 7: 'label' has no value")
    assert "(and 1 more like it)" in null.message  # line 8 lacks the key
    only(found, "dataset.text_column", "line 9: 'text' holds a list with 2 items")
    only(found, "dataset.data_files", "line 21 holds a list, not an object")
    assert len(errors(found)) == 4


def test_chat_columns(tmp_path):
    strings = jsonl({"messages": f"hello {i}"} for i in range(5))
    found = problems(tmp_path, {"c.jsonl": strings}, '"c.jsonl"', trainer="sft", task="causal-lm")
    p = only(found, "dataset.messages_column", "line 1: 'messages' holds text, not a list of {role, content} messages")
    assert 'text_column = "messages"' in p.hint
    chats = jsonl([{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
                   {"messages": [{"content": "who?"}]}, {"messages": []}])
    found = problems(tmp_path, {"m.jsonl": chats}, '"m.jsonl"', trainer="sft", task="causal-lm")
    only(found, "dataset.messages_column", "line 2: 'messages' message 1 has no role")
    only(found, "dataset.messages_column", "line 3: 'messages' is an empty list of messages")
    pairs = jsonl([{"chosen": "yes", "rejected": [{"role": "user", "content": "no"}]}, {"chosen": 7, "rejected": None}])
    found = problems(tmp_path, {"r.jsonl": pairs}, '"r.jsonl"', trainer="reward")
    only(found, "dataset.chosen_column", "line 2: 'chosen' holds a whole number 7, neither text nor a list")
    only(found, "dataset.rejected_column", "line 2: 'rejected' has no value (null)")


def test_csv_read_as_the_loader_reads_it(tmp_path):
    found = problems(tmp_path, {"s.csv": "text;label\na;1\nb;0\n"}, '"s.csv"', builder="csv")
    p = only(found, "dataset.data_files", "is separated by semicolons")
    assert p.hint == "save the file comma-separated"
    assert not [q for q in found if "no column" in q.message]  # one clear problem, not one per column
    cells = "text,label\nthe cat,0\n,1\n\"multi\nline\",\nok,NA\nhello, world,1\n"
    found = problems(tmp_path, {"e.csv": cells}, '"e.csv"', builder="csv")
    only(found, "dataset.text_column", "line 3: 'text' has no value (an empty cell")
    only(found, "dataset.label_column", "line 4: 'label' has no value (an empty cell")  # a quoted field over two lines
    only(found, "dataset.data_files", "line 7 has 3 fields, but the header has 2")
    found = problems(tmp_path, {"f.csv": "text,label\na,1\nb,0.5\n"}, '"f.csv"', builder="csv")
    only(found, "dataset.label_column", "line 3: label '0.5' is a decimal number")
    # a decimal among class names is a name: the column stays text
    assert not errors(problems(tmp_path, {"g.csv": "text,label\na,pos\nb,0.5\n"}, '"g.csv"', builder="csv"))
    found = problems(tmp_path, {"t.tsv": "text\tlabel\na\t1\n"}, '"t.tsv"', builder="csv")
    only(found, "dataset.data_files", "is separated by tabs")
    long_cell = "text,label\n" + "a" * 200_000 + ",1\nb,0\n"  # longer than the csv module reads; pandas reads it
    found = problems(tmp_path, {"l.csv": long_cell}, '"l.csv"', builder="csv")
    assert not errors(found) and only(found, "dataset.data_files", "checked only the start of l.csv").severity == "notice"


def test_files_of_one_split_must_share_their_columns(tmp_path):
    files = {"parts/a.jsonl": jsonl(labelled(3)), "parts/b.jsonl": jsonl({"sentence": "x", "label": 0} for _ in range(3))}
    found = problems(tmp_path, files, '"parts/*.jsonl"')
    p = only(found, "dataset.data_files", "the files of one split differ in columns")
    assert "parts/b.jsonl has sentence, label" in p.message and "parts/a.jsonl has text, label" in p.message
    only(found, "dataset.text_column", "the train file parts/b.jsonl has no column 'text'")


def test_json_lists_objects_and_encodings(tmp_path):
    array = json.dumps([{"text": "a", "label": 0}, {"text": None, "label": 1}], indent=2)
    only(problems(tmp_path, {"a.json": array}, '"a.json"'), "dataset.text_column", "record 2 (line 6): 'text' has no value")
    columns = json.dumps({"text": ["a", "b", 3], "label": [0, 1, 1]}, indent=2)
    only(problems(tmp_path, {"c.json": columns}, '"c.json"'), "dataset.text_column", "record 3: 'text' holds a whole number")
    only(problems(tmp_path, {"o.json": '{\n "rows": 3\n}\n'}, '"o.json"'), "dataset.data_files", "holds one JSON object over several lines")
    u16 = jsonl(labelled(2)).encode("utf-16")
    assert "iconv" in only(problems(tmp_path, {"u.jsonl": u16}, '"u.jsonl"'), "dataset.data_files", "is UTF-16 text, not UTF-8").hint
    bom = b"\xef\xbb\xbf" + jsonl(labelled(2)).encode()
    assert not errors(problems(tmp_path, {"b.jsonl": bom}, '"b.jsonl"'))
    latin = jsonl(labelled(5)).encode() + '{"text": "caf\xe9", "label": 0}\n'.encode("latin-1")
    only(problems(tmp_path, {"l.jsonl": latin}, '"l.jsonl"'), "dataset.data_files", "is not UTF-8 text (line 6")
    deep = jsonl(labelled(1)) + '{"text": ' + "[" * 5000 + "]" * 5000 + ', "label": 0}\n'
    only(problems(tmp_path, {"d.jsonl": deep}, '"d.jsonl"'), "dataset.data_files", "line 2 nests arrays or objects too deeply")


def test_parquet_rows(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["a", "b", None], "label": [0, 1, 1]}), tmp_path / "d.parquet")
    only(problems(tmp_path, {}, '"d.parquet"', builder="parquet"), "dataset.text_column", "row 3: 'text' has no value")
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    only(problems(tmp_path, {}, '"x.parquet"', builder="parquet"), "dataset.data_files", "is not a readable parquet file")


def test_data_a_run_reads_gives_no_error(tmp_path):
    cases = [
        ({"d.jsonl": jsonl(labelled(50))}, '"d.jsonl"', "json", "trainer", "sequence-classification", ""),
        ({"d.jsonl": jsonl({"text": f"t{i}", "label": i * 0.5} for i in range(9))}, '"d.jsonl"', "json", "trainer", "sequence-classification", "num_labels = 1"),
        ({"n.jsonl": jsonl({"text": f"t{i}", "label": "pos" if i % 2 else "neg"} for i in range(9))}, '"n.jsonl"', "json", "trainer", "sequence-classification", ""),
        ({"a.json": json.dumps(labelled(4))}, '"a.json"', "json", "trainer", "sequence-classification", ""),
        ({"d.csv": "text,label\n\"a, with comma\",1\nb,0\n7,1\n"}, '"d.csv"', "csv", "trainer", "sequence-classification", ""),
        ({"s.txt": "one line\nanother\n"}, '"s.txt"', "text", "trainer", "causal-lm", ""),
        ({"c.jsonl": jsonl({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}]} for _ in range(3))},
         '"c.jsonl"', "json", "sft", "causal-lm", ""),
        ({"r.jsonl": jsonl({"chosen": "good", "rejected": "bad"} for _ in range(3))}, '"r.jsonl"', "json", "reward", "sequence-classification", ""),
        ({"p.jsonl": jsonl({"prompt": f"q{i}"} for i in range(3))}, '"p.jsonl"', "json", "ppo", "causal-lm", ""),
        ({"s2.jsonl": jsonl({"text": f"q{i}", "target": f"a{i}"} for i in range(3))}, '"s2.jsonl"', "json", "trainer", "seq2seq-lm", ""),
    ]
    for files, data_files, builder, trainer, task, model in cases:
        found = [p for p in problems(tmp_path, files, data_files, builder, trainer, task, model) if p.path.startswith("dataset")]
        assert not errors(found), (data_files, [p.format() for p in found])


def test_a_large_file_is_checked_as_a_sample_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(data_check, "SCAN_ROWS", 50)
    rows = labelled(200)
    rows[120]["label"] = None  # past the sample
    found = problems(tmp_path, {"d.jsonl": jsonl(rows)}, '"d.jsonl"')
    assert not errors(found)
    note = only(found, "dataset.data_files", "checked the first 50 rows of d.jsonl, a sample")
    assert note.severity == "notice"


def test_an_unchanged_file_is_not_read_again(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(jsonl(labelled(3)), encoding="utf-8")
    first = scan_file(path, "json", ())
    assert scan_file(path, "json", ()) is first
    path.write_text(jsonl(labelled(3)) + "{broken\n", encoding="utf-8")
    assert scan_file(path, "json", ()) is not first
    assert first_record(path) == (["text", "label"], None)
