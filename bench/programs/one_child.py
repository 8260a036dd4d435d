"""One Process started and joined: the smallest multiprocessing program, for the start-up
section of bench/run.mjs (whole-command wall time, not timed inside)."""
import multiprocessing as mp


def work():
    pass


if __name__ == "__main__":
    p = mp.Process(target=work)
    p.start()
    p.join()
