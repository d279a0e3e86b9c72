"""The MIS connector as a school's scheduler runs it: every error is one line on
stderr naming the file (and the line, and what to do), exit code 2, never a
traceback."""

import os
import subprocess
import sys

import pytest

from lea_notices_client.mis_connector import RegisterError, load_register

HEADER = "school_urn,upn,date,session,code,record_time"
GOOD = "116439,B801200005001,2025-06-{d},{s},{code},2025-06-{d}T09:05:00Z"


def _run(server, path, token, *args):
    env = dict(os.environ, LEA_NOTICES_TOKEN=token)
    done = subprocess.run([sys.executable, "-m", "lea_notices_client.mis_connector", str(path),
                           "--server", server, "--authority", "850", *args],
                          env=env, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr.strip().splitlines()


def _one_line(lines, *parts):
    assert len(lines) == 1, lines
    for part in parts:
        assert part in lines[0], lines
    return lines[0]


def test_a_windows_1252_file_is_refused_naming_the_line_and_utf8(tmp_path, server, token):
    path = tmp_path / "register-1252.csv"
    rows = [HEADER, GOOD.format(d=16, s="AM", code="/"), GOOD.format(d=16, s="PM", code="é")]
    path.write_bytes("\r\n".join(rows).encode("cp1252"))
    code, out, err = _run(server["target"], path, token())
    assert code == 2 and out == ""
    line = _one_line(err, f"{path}: line 3: byte 0xE9", "Windows-1252", "save it as UTF-8")
    assert line.startswith(f"{path}: ")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_file_is_refused_naming_the_encoding(tmp_path, server, token, encoding):
    path = tmp_path / f"register-{encoding}.csv"
    text = "\r\n".join([HEADER, GOOD.format(d=16, s="AM", code="/")])
    data = text.encode(encoding)
    path.write_bytes(data if encoding == "utf-16" else b"\xfe\xff" + data)
    code, out, err = _run(server["target"], path, token())
    assert code == 2 and out == ""
    _one_line(err, f"{path}: line 1: the file is UTF-16", "save it as UTF-8")


def test_utf16_without_a_byte_order_mark_is_refused(tmp_path, server, token):
    path = tmp_path / "register-utf16le.csv"
    path.write_bytes("\n".join([HEADER, GOOD.format(d=16, s="AM", code="/")]).encode("utf-16-le"))
    code, _, err = _run(server["target"], path, token())
    assert code == 2
    _one_line(err, f"{path}: line 1:", "UTF-16", "save it as UTF-8")


def test_a_missing_file_is_one_line(tmp_path, server, token):
    path = tmp_path / "no-such-register.csv"
    code, out, err = _run(server["target"], path, token())
    assert (code, out) == (2, "")
    assert err == [f"{path}: no such file"]


def test_utf8_with_a_bom_and_crlf_is_read_with_the_right_lines(tmp_path):
    path = tmp_path / "register-bom-crlf.csv"
    rows = [HEADER, GOOD.format(d=16, s="AM", code="/"), "", GOOD.format(d=16, s="PM", code="/"),
            "116439,B801200005001,16 June,PM,/,2025-06-16T09:05:00Z"]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode())
    with pytest.raises(RegisterError, match=r"^line 5: date '16 June'"):
        load_register(str(path))
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows[:4]).encode() + b"\r\n")
    assert load_register(str(path)).lines == [2, 4]


def test_a_refused_mark_is_named_by_its_line_with_the_status(tmp_path, server, token):
    path = tmp_path / "register-refused.csv"
    rows = [HEADER, GOOD.format(d=17, s="AM", code="/"), GOOD.format(d=17, s="PM", code="/"),
            GOOD.format(d=18, s="AM", code="Q9")]
    path.write_text("\n".join(rows) + "\n")
    code, out, err = _run(server["target"], path, token(), "--batch-size", "2")
    assert (code, out) == (2, "")
    _one_line(err, f"{path}: line 4: INVALID_ARGUMENT: batch mis-", "marks[0]",
              "'Q9' is not a register code", "[BATCH_NOT_COMMITTED]",
              "(marks recorded before its batch: 2)")


def test_an_unauthenticated_call_is_one_line(tmp_path, server):
    path = tmp_path / "register.csv"
    path.write_text("\n".join([HEADER, GOOD.format(d=19, s="AM", code="/")]) + "\n")
    code, out, err = _run(server["target"], path, "not-a-token")
    assert (code, out) == (2, "")
    assert err == [f"{path}: UNAUTHENTICATED: the bearer token is not valid"]


def test_an_unreachable_server_is_one_line(tmp_path, token):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    path = tmp_path / "register.csv"
    path.write_text("\n".join([HEADER, GOOD.format(d=19, s="AM", code="/")]) + "\n")
    code, out, err = _run(f"127.0.0.1:{port}", path, "any-token")
    assert (code, out) == (2, "")
    _one_line(err, f"{path}: UNAVAILABLE: ")


def test_a_good_file_reports_what_it_recorded(tmp_path, server, token):
    path = tmp_path / "register.csv"
    path.write_text("\n".join([HEADER, GOOD.format(d=23, s="AM", code="/"),
                               GOOD.format(d=23, s="PM", code="/")]) + "\n")
    code, out, err = _run(server["target"], path, token())
    assert (code, err) == (0, [])
    assert out.strip() == "2 marks in 1 batches: 2 inserted, 0 replaced, 0 unchanged, 0 outdated"
