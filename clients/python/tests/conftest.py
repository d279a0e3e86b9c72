"""Starts the real lea-notices binary on a random port with a temp data dir (the
embedded SQLite default) and gives tests a client with a dev token from the
binary's own `token` command. LEA_NOTICES_BIN names the binary (default: the
checkout's target/debug/lea-notices)."""

import os
import pathlib
import socket
import subprocess
import time

import grpc
import pytest

from lea_notices_client import connect

REPO = pathlib.Path(__file__).resolve().parents[3]
BIN = os.environ.get("LEA_NOTICES_BIN", str(REPO / "target" / "debug" / "lea-notices"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("lea-data")
    port = _free_port()
    env = dict(os.environ, LEA_NOTICES_DATA_DIR=str(data),
               LEA_NOTICES_LISTEN_ADDR=f"127.0.0.1:{port}")
    env.pop("DATABASE_URL", None)
    log = open(data / "serve.log", "w")
    process = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    target = f"127.0.0.1:{port}"
    try:
        channel = grpc.insecure_channel(target)
        grpc.channel_ready_future(channel).result(timeout=30)
        channel.close()
        yield {"target": target, "env": env}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def token(server):
    def make(role: str = "la_officer", authority: str = "850") -> str:
        out = subprocess.run([BIN, "token", "--authority", authority, "--role", role,
                              "--subject", f"pytest.{role}"],
                             env=server["env"], check=True, capture_output=True, text=True)
        return out.stdout.strip()
    return make


@pytest.fixture
def client(server, token):
    with connect(server["target"], token()) as c:
        yield c
