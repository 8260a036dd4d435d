# Pitfall: a consumer waiting forever on an empty queue whose producer has gone.
#
# In the Processes tree: "producer" puts three items and exits (code 0). "consumer" reads them
# and then waits in get() for an item that never comes: after three seconds the queue gets
# a "!" hint, queue-empty-no-producers. (This consumer gives up after five seconds, only
# so that the example ends; the classic "while True: q.get()" waits forever.)
# Fix: have the producer put an end marker (None) and stop the consumer on it; or use
# get(timeout=...) and handle queue.Empty.
# In the timeline: the queue's depth goes up to 3, down to 0, and stays there while
# consumer's lane goes on.
# Ends on its own in about six seconds.
import multiprocessing as mp
import queue


def produce(q):
    for item in range(3):
        q.put(item)
    # Missing: q.put(None), the end marker the consumer could stop on.


def consume(q):
    while True:
        try:
            item = q.get(timeout=5)
        except queue.Empty:
            print("consumer: gave up waiting", flush=True)
            return
        print("consumer: got", item, flush=True)


if __name__ == "__main__":
    q = mp.Queue()
    consumer = mp.Process(target=consume, args=(q,), name="consumer")
    producer = mp.Process(target=produce, args=(q,), name="producer")
    consumer.start()
    producer.start()
    producer.join()
    consumer.join()
