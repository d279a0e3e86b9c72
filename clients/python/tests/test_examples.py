"""The examples in examples/ run against the server as a connector author would
run them (their types are checked by CI's mypy --strict step)."""

import pathlib
import subprocess
import sys

from lea_notices_client import connect

from test_client import _holiday_notices

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _run(example, server, token, *args):
    env = dict(server["env"], LEA_NOTICES_TOKEN=token)
    return subprocess.run([sys.executable, str(EXAMPLES / example), "--server", server["target"],
                           *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_examples_list_notices_and_follow_the_feed(server, token):
    # Their own authority's, so that its lists hold only these notices.
    request = _holiday_notices(parents=2)
    request.parent = "authorities/852"
    request.request_id = "pytest-examples-1"
    with connect(server["target"], token(authority="852")) as client:
        issued = client.notices.IssuePenaltyNotice(request).notices

    listed = _run("list_notices.py", server, token(authority="852"), "--authority", "852")
    assert listed.returncode == 0, listed.stderr
    lines = sorted(listed.stdout.splitlines())
    assert [line.split("\t")[0] for line in lines] == sorted(n.notice_number for n in issued)
    assert all(line.split("\t")[1] == "UNPAID" for line in lines), lines
    assert "Parent1 Taylor\t£80.00 by 2025-07-" in listed.stdout, lines

    followed = _run("follow_events.py", server, token(authority="852"), "--authority", "852",
                    "--until-caught-up")
    assert followed.returncode == 0, followed.stderr
    subjects = [line.split("\t")[2] for line in followed.stdout.splitlines()
                if line.split("\t")[1].endswith("notice.penalty_notice_issued")]
    assert sorted(subjects) == sorted(n.name for n in issued)
    assert "caught up at cursor" in followed.stderr


def test_an_example_reports_a_refusal_as_one_line(server):
    listed = _run("list_notices.py", server, "not-a-token", "--authority", "852")
    assert listed.returncode == 1
    assert listed.stderr.strip().splitlines() == [
        "list_notices: UNAUTHENTICATED: the bearer token is not valid"], listed.stderr
    assert "Traceback" not in listed.stderr
