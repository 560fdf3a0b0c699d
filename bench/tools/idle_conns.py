#!/usr/bin/python3
"""Hold N idle HTTP/1.1 keep-alive connections open to a server, for memory measurement.

Opens --count connections to --host:--port (at most --pending connects in flight, so a
small listen backlog is not flooded), sends one
    GET /api/health HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n
on each and reads each full response (headers + Content-Length body). Then it writes
    READY opened=N ok=M failed=K seconds=S
to --status-file (and stdout) and keeps every connection open, idle, until it gets
SIGUSR1 or SIGTERM or --hold seconds pass. Before closing it checks how many
connections the server still has open (a non-blocking peek: EOF means the server
closed it) and writes
    ALIVE n
then closes them all and exits 0 (1 when fewer than --count got a 200 response).
Standard library only (socket, selectors). Raises its own RLIMIT_NOFILE to the hard limit.
"""

import argparse
import errno
import os
import resource
import selectors
import signal
import socket
import sys
import time

REQUEST = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"


class Conn:
    __slots__ = ("sock", "buf", "state")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.state = "connecting"  # -> reading -> done | failed


def response_complete(buf: bytes):
    """None while incomplete, else (status_code, ok_framing)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    try:
        status = int(head[0].split()[1])
    except (IndexError, ValueError):
        return (0, False)
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if len(buf) - (end + 4) < length:
        return None
    return (status, True)


_status_lines = []


def write_status(path, line):
    """Rewrites the whole status file atomically, so a reader never sees half a line."""
    print(line, flush=True)
    _status_lines.append(line)
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("\n".join(_status_lines) + "\n")
        os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--pending", type=int, default=512, help="max connects in flight")
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds to open all")
    ap.add_argument("--hold", type=float, default=120.0, help="max seconds to hold")
    ap.add_argument("--status-file", default="")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY and hard < args.count + 64:
        print(f"idle_conns: open-files hard limit {hard} is below {args.count}+64",
              file=sys.stderr)
        return 2

    # Status file accumulates READY then ALIVE; start it empty.
    if args.status_file:
        open(args.status_file, "w").close()

    stop = {"flag": False}

    def on_signal(_signo, _frame):
        stop["flag"] = True

    signal.signal(signal.SIGUSR1, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    sel = selectors.DefaultSelector()
    conns = []
    started = time.monotonic()
    deadline = started + args.timeout
    to_open = args.count
    in_connect = 0
    done = failed = 0
    errors = {}

    def fail(c, why):
        nonlocal failed
        c.state = "failed"
        failed += 1
        errors[why] = errors.get(why, 0) + 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    while (done + failed < args.count) and time.monotonic() < deadline and not stop["flag"]:
        while to_open > 0 and in_connect < args.pending:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            c = Conn(s)
            conns.append(c)
            to_open -= 1
            rc = s.connect_ex((args.host, args.port))
            if rc not in (0, errno.EINPROGRESS):
                fail(c, errno.errorcode.get(rc, str(rc)))
                continue
            in_connect += 1
            sel.register(s, selectors.EVENT_WRITE, c)
        for key, _ev in sel.select(timeout=0.5):
            c = key.data
            if c.state == "connecting":
                in_connect -= 1
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c, errno.errorcode.get(err, str(err)))
                    continue
                try:
                    c.sock.send(REQUEST)  # 37 bytes always fit an empty send buffer
                except OSError as e:
                    fail(c, f"send:{e.errno}")
                    continue
                c.state = "reading"
                sel.modify(c.sock, selectors.EVENT_READ, c)
            elif c.state == "reading":
                try:
                    data = c.sock.recv(4096)
                except BlockingIOError:
                    continue
                except OSError as e:
                    fail(c, f"recv:{errno.errorcode.get(e.errno, e.errno)}")
                    continue
                if not data:
                    fail(c, "closed-before-response")
                    continue
                c.buf += data
                res = response_complete(c.buf)
                if res is None:
                    continue
                status, _ = res
                if status != 200:
                    fail(c, f"status-{status}")
                    continue
                c.state = "done"
                c.buf = b""
                done += 1
                sel.unregister(c.sock)

    for c in conns:
        if c.state in ("connecting", "reading"):
            fail(c, "timeout")
    failed += to_open
    if to_open:
        errors["not-attempted"] = to_open
    sel.close()
    elapsed = time.monotonic() - started
    detail = " ".join(f"{k}={v}" for k, v in sorted(errors.items()))
    write_status(args.status_file,
                 f"READY opened={len(conns)} ok={done} failed={failed} seconds={elapsed:.1f}"
                 + (f" errors: {detail}" if detail else ""))

    hold_until = time.monotonic() + args.hold
    while not stop["flag"] and time.monotonic() < hold_until:
        time.sleep(0.1)

    alive = 0
    for c in conns:
        if c.state != "done":
            continue
        try:
            data = c.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if data:
                alive += 1  # unexpected bytes, but the connection is open
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    write_status(args.status_file, f"ALIVE {alive}")
    for c in conns:
        if c.state == "done":
            c.sock.close()
    return 0 if done == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
