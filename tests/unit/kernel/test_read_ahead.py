"""The batch consumer's read-ahead: exactly the bytes asked for, in order, whatever the chunks
the socket returns; a timeout mid-frame loses nothing."""
import pytest

from kernel.consumer import _read_ahead


class Transport:
    raise_on_initial_eintr = True

    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.recv_calls = 0
        self._ahead, self._ahead_at = b"", 0

    def _quick_recv(self, size):
        self.recv_calls += 1
        chunk = self.chunks.pop(0)
        if isinstance(chunk, BaseException):
            raise chunk
        return chunk


def test_many_reads_are_served_by_one_receive():
    transport = Transport([b"abcdefghij"])
    assert [_read_ahead(transport, n) for n in (3, 1, 4, 2)] == [b"abc", b"d", b"efgh", b"ij"]
    assert transport.recv_calls == 1


def test_a_read_across_chunks_and_a_timeout_in_between_lose_nothing():
    transport = Transport([b"ab", TimeoutError(), b"cd", b"efg"])
    with pytest.raises(TimeoutError):
        _read_ahead(transport, 4)
    assert _read_ahead(transport, 4) == b"abcd"
    assert _read_ahead(transport, 3) == b"efg"


def test_a_closed_socket_is_an_error():
    transport = Transport([b"ab", b""])
    with pytest.raises(OSError, match="closed"):
        _read_ahead(transport, 3)
