"""The unit tier's guard itself: a socket or a subprocess fails the test that tries it."""

import socket
import subprocess

import pytest


def test_a_socket_is_refused() -> None:
    with pytest.raises(AssertionError, match="open a socket"):
        socket.create_connection(("127.0.0.1", 9))


def test_a_subprocess_is_refused() -> None:
    with pytest.raises(AssertionError, match="start a subprocess"):
        subprocess.run(["true"], check=False)
