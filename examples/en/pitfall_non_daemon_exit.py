# Pitfall: the main program's code is done, but the program does not exit.
#
# In the Processes tree: main prints its last line after half a second, yet stays running:
# at exit multiprocessing joins every non-daemon child, and "straggler" works for four
# seconds. After two seconds straggler shows a "!" hint, non-daemon-blocks-exit: it keeps
# main from exiting. straggler then ends with exit code 0 and the program exits.
# Fix: join() children where you expect them to end, tell them to stop (an Event), or make
# them daemons if they may be killed (see the daemon example).
# In the timeline: main's lane goes on past its last line, as long as straggler's.
# Ends on its own in about four seconds.
import multiprocessing as mp
import time


def work(seconds):
    time.sleep(seconds)
    print("straggler: done", flush=True)


if __name__ == "__main__":
    mp.Process(target=work, args=(4,), name="straggler").start()
    time.sleep(0.5)
    print("main: my code ends here (but the program does not exit yet)", flush=True)
