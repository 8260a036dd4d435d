# Pitfall: a producer stuck in put() on a full queue.
#
# In the Processes tree: the Queue node shows "2 / 2" (full) and "producer" is blocked in
# put(): nobody reads, because main is busy for four seconds. After three seconds at its
# maximum the queue gets a "!" hint, queue-full-blocked (also in the Problems panel,
# on the line that created the queue). Then main reads everything, producer finishes, and
# both end with exit code 0.
# Fix: make sure a consumer runs while producers put; raise maxsize; or use
# put(timeout=...) and handle queue.Full (see the queue_timeouts example).
# In the timeline: the queue's depth sits at its maxsize for four seconds.
# Ends on its own in about five seconds.
import multiprocessing as mp
import time


def produce(q):
    for item in range(5):
        q.put(item)  # blocks from the third item until main reads


if __name__ == "__main__":
    q = mp.Queue(maxsize=2)
    producer = mp.Process(target=produce, args=(q,), name="producer")
    producer.start()
    time.sleep(4)  # the consumer is late
    for _ in range(5):
        print("main: got", q.get(), flush=True)
    producer.join()
