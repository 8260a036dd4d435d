# Pool: apply, apply_async, map, map_async, with callback and error_callback.
#
# In the Processes tree: a Pool node of size 3 with its three workers under it, and its
# count of pending tasks going down as the workers finish them (12 slow tasks from
# map_async). One task raises ValueError: the pool and its workers carry on, and
# error_callback receives the exception. At the end the pool is closed and joined: every
# worker ends with exit code 0.
# In the timeline: three worker lanes, and the pool's pending tasks going down to zero.
# Ends on its own in about three seconds.
import multiprocessing as mp
import time


def square(x):
    time.sleep(0.3)
    if x == 7:
        raise ValueError(f"{x} is unlucky")
    return x * x


def on_result(value):
    # Callbacks run in the main process, in the pool's result thread.
    print("callback got", value, flush=True)


def on_error(error):
    print("error_callback got", repr(error), flush=True)


if __name__ == "__main__":
    pool = mp.Pool(3)
    # apply: blocks until the one task is done, and returns its result.
    print("apply:", pool.apply(square, (2,)))
    # apply_async: returns at once; the result goes to callback (or an error to error_callback).
    pending = pool.apply_async(square, (3,), callback=on_result, error_callback=on_error)
    # map: blocks until every item is done and returns the results in order.
    print("map:", pool.map(square, [4, 5, 6]))
    # map_async: one callback with the whole list, or error_callback at the first error.
    many = pool.map_async(square, range(8, 20), callback=on_result, error_callback=on_error)
    failing = pool.apply_async(square, (7,), callback=on_result, error_callback=on_error)
    pending.wait()
    many.wait()
    failing.wait()
    # close: no more tasks; join: wait for the workers to finish and exit.
    pool.close()
    pool.join()
    print("main: pool closed and joined")
