# start, is_alive, join with a timeout, terminate.
#
# In the Processes tree: "quick" ends by itself with exit code 0. "sleeper" would sleep for
# a minute: join(timeout=1) comes back while it is still running, then terminate() sends it
# SIGTERM and it ends by "SIGTERM" (exit code -15). Both are joined.
# In the timeline: sleeper's lane stops about a second after it started, where terminate()
# was called.
# Ends on its own in about two seconds.
import multiprocessing as mp
import time


def nap(seconds):
    time.sleep(seconds)


if __name__ == "__main__":
    quick = mp.Process(target=nap, args=(0.2,), name="quick")
    sleeper = mp.Process(target=nap, args=(60,), name="sleeper")
    quick.start()
    sleeper.start()
    print("alive after start:", quick.is_alive(), sleeper.is_alive())
    quick.join()
    print("quick joined, exit code", quick.exitcode)
    # join(timeout) waits at most that long; is_alive() tells whether the child ended.
    sleeper.join(timeout=1)
    print("sleeper still alive after join(timeout=1):", sleeper.is_alive())
    sleeper.terminate()
    # terminate() only sends the signal: join() waits until the child is really gone.
    sleeper.join()
    print("sleeper after terminate:", sleeper.is_alive(), "exit code", sleeper.exitcode)
