# A peer that sends what ipcgen's own functions cannot make, for test/runtime/fd-passing.test.ts:
# argv[1] is the mode, argv[2] the test's Unix socket.
#   semaphore: one eventfd in semaphore mode (a read takes 1, so one big write would ring for ever)
#   flood:     40 descriptors in one message, more than any receiver's control buffer holds
# Then waits for the test to close its end.
import os
import socket
import sys

mode, path = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(path)
if mode == "semaphore":
    fd = os.eventfd(0, os.EFD_SEMAPHORE | os.EFD_NONBLOCK)
    socket.send_fds(sock, [b"semaphore"], [fd])
elif mode == "flood":
    fd = os.eventfd(0)
    socket.send_fds(sock, [b"flood"], [fd] * 40)
    socket.send_fds(sock, [b"after"], [])
else:
    sys.exit("hostile-fds: no mode " + mode)
while sock.recv(4096):
    pass
