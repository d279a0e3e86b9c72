"""The README's Python examples run as written, against the test server: its
address in place of localhost:50051, an authority of their own (853, holding one
notice) in place of 850, and `token` a dev token for it."""

import pathlib
import re

from lea_notices_client import connect

from test_client import _holiday_notices

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def _python_blocks():
    text = README.read_text()
    start = text.index("From Python")
    section = text[start:text.index("\n## ", start)]
    return re.findall(r"^```python\n(.*?)^```", section, flags=re.S | re.M)


def test_the_readme_python_examples_run(server, token, capsys):
    request = _holiday_notices(parents=1)
    request.parent = "authorities/853"
    request.request_id = "pytest-readme-1"
    with connect(server["target"], token(authority="853")) as client:
        notice = client.notices.IssuePenaltyNotice(request).notices[0]
    blocks = _python_blocks()
    assert len(blocks) == 2, blocks
    outputs = []
    for block in blocks:
        code = (block.replace("localhost:50051", server["target"])
                .replace("authorities/850", "authorities/853"))
        exec(compile(code, str(README), "exec"), {"token": token(authority="853")})
        outputs.append(capsys.readouterr().out.splitlines())
    assert outputs[0] == [f"{notice.notice_number} NOTICE_STATUS_UNPAID"]
    assert any(line.endswith(f"notice.penalty_notice_issued {notice.name}")
               for line in outputs[1]), outputs[1]
