"""Event loops waiting for a peer: an asyncio server's time asleep in epoll
until its client's request arrives is blocked on that channel, not wait."""
import json
import os
import tempfile

from helpers import BPFTestCase, PYTHON, run_traced

# The server: asyncio on a unix socket, answering each line. Its client, a
# forked child, sends REQUESTS lines PAUSE seconds apart with plain blocking
# sockets and counts the time it slept: the server waited that long for it.
SCRIPT = r"""
import asyncio, json, os, selectors, socket, sys, time
path, requests, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
selector = getattr(selectors, sys.argv[4])()  # EpollSelector, PollSelector, SelectSelector
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
pid = os.fork()
if pid == 0:
    srv.close()
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    slept = 0.0
    for i in range(requests):
        t = time.monotonic()
        time.sleep(pause)
        slept += time.monotonic() - t
        c.sendall(b"ping %d\n" % i)
        assert c.recv(64).startswith(b"pong")
    c.close()
    print(json.dumps({"client": os.getpid(), "slept_ns": int(slept * 1e9)}), flush=True)
    os._exit(0)

async def serve():
    done = asyncio.Event()
    async def handle(reader, writer):
        while line := await reader.readline():
            writer.write(b"pong " + line)
            await writer.drain()
        writer.close()
        done.set()
    server = await asyncio.start_unix_server(handle, sock=srv)
    async with server:
        await done.wait()

loop = asyncio.SelectorEventLoop(selector)
loop.run_until_complete(serve())
loop.close()
os.waitpid(pid, 0)
print(json.dumps({"server": os.getpid()}), flush=True)
"""


class EventLoop(BPFTestCase):
    def test_asyncio_server_waiting_for_its_client_is_blocked(self):
        # asyncio's default selector is epoll; poll and select wait the same way
        for selector in ("EpollSelector", "PollSelector", "SelectSelector"):
            with self.subTest(selector=selector):
                self.server_waits(selector)

    def server_waits(self, selector):
        requests, pause = 15, 0.1
        with tempfile.TemporaryDirectory() as d:
            t = run_traced([PYTHON, "-c", SCRIPT, os.path.join(d, "s"), str(requests),
                            str(pause), selector])
        truth = {}
        for line in t.stdout.splitlines():
            truth.update(json.loads(line))
        server = t.proc(truth["server"])
        # asleep in epoll until the client's line arrived: blocked, in poll
        self.assertGreaterEqual(server["blocked_poll_ns"], 0.8 * truth["slept_ns"], server)
        self.assertGreaterEqual(server["blocked_ns"], server["blocked_poll_ns"])
        b = server["breakdown"]["blocked"]
        self.assertEqual(b["splits"]["in_poll"]["ns"], server["blocked_poll_ns"])
        self.assertEqual(sum(s["ns"] for s in b["splits"].values()), b["ns"])
        self.assertLess(server["wait_ns"], 0.2 * truth["slept_ns"], server)
        # on the channel the server reads: the client's requests
        (chan,) = [c for c in t.report["channels"]
                   if c["kind"] == "unix-stream" and c["writers"] == [truth["client"]]]
        self.assertEqual(chan["readers"], [truth["server"]])
        # (the rest: its wake-ups for the listening socket's connection)
        self.assertGreaterEqual(chan["blocked_poll_ns"], 0.8 * truth["slept_ns"], chan)
        self.assertLessEqual(chan["blocked_poll_ns"], server["blocked_poll_ns"])
