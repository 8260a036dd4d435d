# 带 maxsize 的队列 Queue，以及带超时的 put/get：queue.Full 和 queue.Empty。
#
# 进程树里：队列（Queue）节点显示 "3 / 3"（已满），此时 "producer"（生产者）阻塞在 put()：
# 在一秒半之后 "consumer"（消费者）启动之前，没有人读取。主进程自己对满队列调用
# put(timeout=0.2)，抛出 queue.Full。随后消费者取空队列，生产者最后的 put 得以完成，
# 消费者在 get(timeout=1) 抛出 queue.Empty 时停止。队列最后深度为 0；两个子进程都以
# 退出码 0 结束并被 join。
# 时间线里：队列深度涨到 maxsize，停留一阵，然后降到 0。
# 约四秒后自行结束。
import multiprocessing as mp
import queue
import time


def produce(q):
    for item in range(6):
        try:
            # 队列满时阻塞，最多 5 秒。
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
