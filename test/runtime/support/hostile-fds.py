# A peer that does what ipcgen's own functions cannot, for test/runtime/fd-passing.test.ts:
# argv[1] is the mode, argv[2] the test's Unix socket (sockets, flood).
#   sockets: sockets that are not doorbells, one message each: an unconnected Unix datagram socket, a Unix
#            datagram socket connected to a named one, the end of a Unix seqpacket pair, a UDP socket
#   flood:   40 descriptors in one message, more than any receiver's control buffer holds
#   hog:     descriptor 3 is the other end of a doorbell this test rings: fills it (datagrams until the
#            queue is full; an eventfd, as the old doorbells were, to its maximum), prints "ready", then
#            clears O_NONBLOCK on it in a tight loop, for ever, to make the ringer's next ring block
# Then waits for the test to close its end (hog: to be killed).
import fcntl
import os
import socket
import sys

mode = sys.argv[1]

if mode == "hog":
    fd = 3
    try:
        end = socket.socket(fileno=os.dup(fd))
        end.setblocking(False)
        sent = 0
        try:
            while True:
                end.send(b"x")
                sent += 1
        except (BlockingIOError, ConnectionError):
            pass
    except OSError:  # not a socket: an eventfd
        os.eventfd_write(fd, 2**64 - 2)
    print("ready", flush=True)
    blocking = fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK
    while True:
        fcntl.fcntl(fd, fcntl.F_SETFL, blocking)

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[2])
if mode == "sockets":
    unconnected = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    named = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = "\0ipcgen-hostile-%d" % os.getpid()  # abstract: nothing left in the filesystem
    named.bind(path)
    to_named = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    to_named.connect(path)
    seqpacket, _ = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for what, s in [("unconnected", unconnected), ("named", to_named), ("seqpacket", seqpacket), ("udp", udp)]:
        socket.send_fds(sock, [what.encode()], [s.fileno()])
elif mode == "flood":
    fd = os.eventfd(0)
    socket.send_fds(sock, [b"flood"], [fd] * 40)
    socket.send_fds(sock, [b"after"], [])
else:
    sys.exit("hostile-fds: no mode " + mode)
while sock.recv(4096):
    pass
