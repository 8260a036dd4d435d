# Pitfall: a Pool that is used and then forgotten, never closed nor joined.
#
# In the Processes tree: the Pool node (size 2) and its workers. When main exits, the pool is
# still running: it gets a "!" hint, pool-not-closed. multiprocessing's exit handler then
# shuts the pool down: tasks still queued at that moment would be lost without an error.
# Fix: pool.close() then pool.join() when done submitting; or "with mp.Pool(2) as pool:"
# and get every result inside the block.
# In the timeline: the workers' lanes end together with main's.
# Ends on its own in about a second.
import multiprocessing as mp


def square(x):
    return x * x


if __name__ == "__main__":
    pool = mp.Pool(2)
    print(pool.map(square, range(8)))
    # Missing: pool.close() and pool.join().
