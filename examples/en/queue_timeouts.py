# Queue with maxsize, and put/get with timeouts: queue.Full and queue.Empty.
#
# In the Processes tree: a Queue node "3 / 3" (full) while "producer" is blocked in put():
# nobody reads until "consumer" starts, a second and a half later. Main's own put(timeout=0.2)
# on the full queue raises queue.Full. Then consumer drains the queue, producer's last puts
# go through, and consumer stops when get(timeout=1) raises queue.Empty. The queue ends at
# depth 0; both children exit with code 0 and are joined.
# In the timeline: the queue's depth climbs to its maxsize, stays there, then falls to 0.
# Ends on its own in about four seconds.
import multiprocessing as mp
import queue
import time


def produce(q):
    for item in range(6):
        try:
            # Blocks while the queue is full, for at most 5 seconds.
            q.put(item, timeout=5)
            print("producer: put", item, flush=True)
        except queue.Full:
            print("producer: still full after 5 s, giving up", flush=True)
            return


def consume(q):
    while True:
        try:
            item = q.get(timeout=1)
        except queue.Empty:
            print("consumer: nothing for a second, done", flush=True)
            return
        print("consumer: got", item, flush=True)
        time.sleep(0.1)


if __name__ == "__main__":
    q = mp.Queue(maxsize=3)
    producer = mp.Process(target=produce, args=(q,), name="producer")
    producer.start()
    while not q.full():
        time.sleep(0.05)
    try:
        q.put("extra", timeout=0.2)
    except queue.Full:
        print("main: put(timeout=0.2) raised queue.Full", flush=True)
    time.sleep(1.5)
    consumer = mp.Process(target=consume, args=(q,), name="consumer")
    consumer.start()
    producer.join()
    consumer.join()
    print("main: done")
