# Daemon and non-daemon children: what happens to each when the main process's code ends.
#
# In the Processes tree: "heartbeat" is marked daemon. It would beat forever, but when main's
# code ends multiprocessing terminates every daemon child: it ends by "SIGTERM"
# (exit code -15), with a "!" hint: daemon-killed-with-parent. "writer" is not a daemon:
# main waits for it at exit (without any join() in the code), and it ends with exit code 0.
# In the timeline: heartbeat's lane stops exactly where main's code ends; writer's goes on a
# little longer, and main's lane lasts until writer is done.
# Ends on its own in about two seconds.
import multiprocessing as mp
import time


def heartbeat():
    while True:
        print("heartbeat", flush=True)
        time.sleep(0.3)


def write_report():
    time.sleep(1.2)
    print("writer: report written", flush=True)


if __name__ == "__main__":
    beat = mp.Process(target=heartbeat, name="heartbeat", daemon=True)
    writer = mp.Process(target=write_report, name="writer")
    beat.start()
    writer.start()
    time.sleep(0.8)
    print("main: my code ends here", flush=True)
