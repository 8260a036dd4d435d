# A zombie: a child that has exited but that its parent has not joined yet.
#
# In the Processes tree: "quick" exits at once with exit code 3, but main is busy and does not
# join it: for six seconds it shows as a zombie, with a "!" hint: unjoined-child. Select it and
# click Join (the clock icon) to collect it yourself, or wait: main joins it at the end.
# Either way it ends up exited, exit code 3, joined.
# In the timeline: quick's lane turns from running to zombie a moment after it starts, and
# the zombie part lasts until the join.
# Ends on its own in about six seconds.
import multiprocessing as mp
import sys
import time


def quick():
    sys.exit(3)


if __name__ == "__main__":
    child = mp.Process(target=quick, name="quick")
    child.start()
    # "Other work" without looking at the child: is_alive() or join() would collect it.
    time.sleep(6)
    child.join()
    print("main: joined quick, exit code", child.exitcode)
