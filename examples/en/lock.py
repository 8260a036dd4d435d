# Lock: only one process at a time inside "with lock:".
#
# In the Processes tree: three children "printer-1" to "printer-3", each exits with code 0
# and is joined. (A Lock is not a node of the tree; its effect is on the timing.)
# In the timeline: the three lanes start together, but each printer holds the lock for about
# 0.3 s per line, so the work takes turns and the run lasts about three times as long as one
# printer's work. Each line prints whole: without the lock the pieces would interleave.
# Ends on its own in about two seconds.
import multiprocessing as mp
import time


def print_lines(lock, who):
    for line in range(2):
        with lock:
            # Printed in pieces, slowly: the lock keeps the pieces of one line together.
            for piece in (f"[{who}", f" line {line}", "]\n"):
                print(piece, end="", flush=True)
                time.sleep(0.1)


if __name__ == "__main__":
    lock = mp.Lock()
    printers = [mp.Process(target=print_lines, args=(lock, f"printer-{n}"), name=f"printer-{n}") for n in (1, 2, 3)]
    for p in printers:
        p.start()
    for p in printers:
        p.join()
