"""local/wal.py: the framed records of the backend's logs, and what a reader does with a torn or damaged tail."""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from local import wal

HEADER = {"kind": "log", "service": "dynamodb", "seq": 0, "moto": "5.2.1"}


def write_log(path, records):  # type: ignore[no-untyped-def]
    writer = wal.LogWriter.create(path, HEADER, fsync=False)
    ends = [writer.size]
    for meta, body in records:
        writer.append(meta, body)
        ends.append(writer.size)
    writer.close()
    return ends  # where the header ends, then where each record ends


def records(n: int, seed: int = 0) -> list[tuple[dict[str, object], bytes]]:
    rng = random.Random(seed)
    return [({"type": "request", "n": i, "text": "é\u20ac" * rng.randrange(4)}, rng.randbytes(rng.randrange(0, 3000)))
            for i in range(n)]


def read(path):  # type: ignore[no-untyped-def]
    reader = wal.LogReader(path)
    return reader, [(entry.meta, entry.body) for entry in reader]


def test_records_come_back_as_written_after_the_header(tmp_path):
    written = records(50)
    write_log(tmp_path / "log", written)
    reader, got = read(tmp_path / "log")
    assert got == written
    assert reader.problem == ""
    assert reader.header == {"format": wal.FORMAT, **HEADER}
    assert reader.end == (tmp_path / "log").stat().st_size
    assert (tmp_path / "log").read_bytes().startswith(wal.MAGIC)


def test_the_frame_is_length_crc_then_meta_length_meta_and_the_raw_body():
    record = wal.encode({"a": 1}, b"\x00body")
    length, crc = struct.unpack_from("<QI", record)
    payload = record[12:]
    assert length == len(payload)
    assert crc == zlib.crc32(payload)
    assert payload == struct.pack("<I", 7) + b'{"a":1}' + b"\x00body"
    assert wal.decode(payload) == ({"a": 1}, b"\x00body")


def test_a_log_cut_anywhere_reads_up_to_the_last_whole_record(tmp_path):
    written = records(12, seed=1)
    ends = write_log(tmp_path / "whole", written)
    data = (tmp_path / "whole").read_bytes()
    for cut_at in sorted({*random.Random(2).sample(range(ends[0], len(data)), 150), *ends}):
        path = tmp_path / "torn"
        path.write_bytes(data[:cut_at])
        reader, got = read(path)
        whole = sum(1 for end in ends[1:] if end <= cut_at)
        assert got == written[:whole]
        assert reader.end == ends[whole]
        assert (reader.problem == "") == (cut_at in ends)


def test_a_damaged_last_record_is_found_and_cut_and_the_log_goes_on(tmp_path):
    written = records(5, seed=3)
    ends = write_log(tmp_path / "log", written)
    data = bytearray((tmp_path / "log").read_bytes())
    data[ends[4] + 20] ^= 0x40  # a bit flipped inside the fifth record's payload
    (tmp_path / "log").write_bytes(bytes(data))
    reader, got = read(tmp_path / "log")
    assert got == written[:4]
    assert reader.problem == "record fails its CRC"
    assert wal.cut(tmp_path / "log", reader.end) == len(data) - ends[4]
    writer = wal.LogWriter(tmp_path / "log", fsync=True)  # appending after the cut, as the backend does
    writer.append({"type": "request", "n": "after"}, b"later")
    writer.close()
    reader, got = read(tmp_path / "log")
    assert got == [*written[:4], ({"type": "request", "n": "after"}, b"later")]
    assert reader.problem == ""


def test_an_absurd_length_is_a_torn_record_not_a_huge_read(tmp_path):
    ends = write_log(tmp_path / "log", records(2))
    with open(tmp_path / "log", "ab") as file:
        file.write(struct.pack("<QI", 1 << 60, 0) + b"junk")
    reader, got = read(tmp_path / "log")
    assert len(got) == 2
    assert reader.end == ends[-1]
    assert reader.problem.startswith("torn record")


def test_a_file_without_the_magic_has_nothing_to_read(tmp_path):
    (tmp_path / "log").write_bytes(b"something else entirely")
    reader, got = read(tmp_path / "log")
    assert got == []
    assert (reader.end, reader.problem) == (0, "no facesearch-wal header")


def test_a_log_of_a_newer_format_is_refused_not_misread(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(wal.MAGIC + wal.encode({"format": wal.FORMAT + 1, **HEADER}) + wal.encode({"n": 1}))
    with pytest.raises(wal.NewerFormat):
        read(path)
