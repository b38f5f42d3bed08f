"""read_text / to_textfiles against Python's own file reading."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os

import pytest

import oxdask.bag as db
from oxdask.bag import text as textmod

CONTENT = "".join(f"line {i}{' x' * (i % 7)}\n" for i in range(500))


def _write(path, data: str, opener=open):
    with opener(path, "wb") as f:
        f.write(data.encode())
    return str(path)


def _expect(paths, newline=None):
    out = []
    for p in paths:
        opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(
            os.path.splitext(p)[1], open
        )
        with opener(p, "rt", newline=newline) as f:
            out.extend(f)
    return out


@pytest.mark.parametrize(
    ("ext", "opener"), [("", open), (".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)]
)
def test_read_text_compressions(tmp_path, ext, opener):
    paths = [_write(tmp_path / f"f{i}.txt{ext}", CONTENT * (i + 1), opener) for i in range(3)]
    b = db.read_text(str(tmp_path / f"f*.txt{ext}"))
    assert b.npartitions == 3
    assert b.compute(scheduler="sync") == _expect(paths)
    assert b.count().compute(scheduler="processes") == len(_expect(paths))


@pytest.mark.parametrize("chunk", [7, 64, 1 << 22])
@pytest.mark.parametrize("newline", [None, "", "\n", "\r\n"])
def test_line_chunks_match_python(tmp_path, monkeypatch, chunk, newline):
    data = "a\r\nb\rc\n\nd\r\n\r\ne" * 50 + "\r"
    p = _write(tmp_path / "x.txt", data)
    monkeypatch.setattr(textmod, "_CHUNK", chunk)
    got = db.read_text(p, linedelimiter=newline).compute(scheduler="sync")
    assert got == _expect([p], newline)


def test_read_text_options(tmp_path):
    paths = [_write(tmp_path / f"f{i}.log", f"A{i}\nB{i}\nC{i}") for i in range(5)]
    b = db.read_text(paths, files_per_partition=2)
    assert b.npartitions == 3
    assert b.compute(scheduler="sync") == _expect(paths)
    withp = db.read_text(paths, include_path=True).compute(scheduler="sync")
    assert withp[0] == ("A0\n", paths[0])
    assert {p for _, p in withp} == set(paths)
    custom = db.read_text(paths[0], linedelimiter="B").compute(scheduler="sync")
    assert custom == ["A0\nB", "0\nC0"]


@pytest.mark.parametrize("blocksize", [10, 100, "1kB"])
def test_read_text_blocksize(tmp_path, blocksize):
    p = _write(tmp_path / "big.txt", CONTENT)
    b = db.read_text(p, blocksize=blocksize)
    assert b.npartitions > 1
    assert b.compute(scheduler="sync") == _expect([p])


def test_read_text_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        db.read_text(str(tmp_path / "nothing-here-*.txt"))
    with pytest.raises(ValueError, match="No files"):
        db.read_text(str(tmp_path / "nothing-here-*.txt"))
    gz = _write(tmp_path / "a.txt.gz", CONTENT, gzip.open)
    with pytest.raises(ValueError, match="compressed"):
        db.read_text(gz, blocksize=100)


@pytest.mark.parametrize("compression", ["infer", "gzip", None])
def test_to_textfiles_roundtrip(tmp_path, compression):
    seq = [f"row {i}" for i in range(48)]
    b = db.from_sequence(seq, npartitions=12)
    ext = ".gz" if compression else ""
    if compression == "infer":
        ext = ".gz"
    paths = b.to_textfiles(str(tmp_path / f"out-*.txt{ext}"), compression=compression)
    assert len(paths) == 12
    assert paths == sorted(paths)  # zero-padded names sort in partition order
    back = db.read_text(str(tmp_path / f"out-*.txt{ext}")).map(str.strip).compute()
    assert back == seq


def test_to_textfiles_directory_and_last_endline(tmp_path):
    b = db.from_sequence(["a", "b", "c"], npartitions=2)
    paths = b.to_textfiles(str(tmp_path / "d"), last_endline=True)
    assert [os.path.basename(p) for p in paths] == ["0.part", "1.part"]
    with open(paths[0]) as f:
        assert f.read() == "a\nb\n"


@pytest.mark.parametrize("fmt", [None, "gzip", "bz2", "xz", "zip"])
def test_read_text_every_compression_of_bytes_utils(tmp_path, fmt):
    from oxdask.bytes.utils import compress

    for i in range(2):
        (tmp_path / f"c{i}.txt").write_bytes(compress[fmt]((CONTENT * (i + 1)).encode()))
    got = db.read_text(str(tmp_path / "c*.txt"), compression=fmt).compute(scheduler="sync")
    assert "".join(got) == CONTENT + CONTENT * 2


def test_read_map_filter_pluck_is_one_task_per_file(tmp_path):
    import json

    from oxdask.local import last_run_stats

    for i in range(4):
        rows = [json.dumps({"k": j % 3, "v": j}) for j in range(50)]
        (tmp_path / f"r{i}.json").write_text("\n".join(rows) + "\n")
    b = db.read_text(str(tmp_path / "r*.json")).map(json.loads)
    got = b.filter(lambda r: r["k"] == 1).pluck("v").compute(scheduler="sync")
    assert got == [j for j in range(50) if j % 3 == 1] * 4
    assert last_run_stats()["tasks"] == 4  # one task per file, nothing else


@pytest.mark.parametrize("newline", [None, "", "\n"])
def test_blocks_split_in_chunks_match_python(tmp_path, monkeypatch, newline):
    data = "a\r\nbb\rc\n\nd\r\n\r\ne\n" * 40
    p = _write(tmp_path / "x.txt", data)
    monkeypatch.setattr(textmod, "_CHUNK", 5)
    got = db.read_text(p, blocksize=37, linedelimiter=newline).compute(scheduler="sync")
    assert got == _expect([p], newline)


def test_from_url_reads_lines_as_bytes(tmp_path):
    p = tmp_path / "page.txt"
    p.write_bytes(b"first\nsecond\n")
    b = db.from_url([p.as_uri(), p.as_uri()])
    assert b.npartitions == 2
    assert b.compute(scheduler="sync") == [b"first\n", b"second\n"] * 2


def test_bags_need_neither_numpy_nor_pandas(tmp_path):
    import subprocess
    import sys

    p = _write(tmp_path / "a.txt", "x\ny\n")
    code = (
        "import sys, oxdask.bag as db\n"
        f"b = db.read_text({p!r}).map(str.strip).filter(None)\n"
        "assert b.frequencies().compute(scheduler='sync') == [('x', 1), ('y', 1)]\n"
        "assert 'numpy' not in sys.modules and 'pandas' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
