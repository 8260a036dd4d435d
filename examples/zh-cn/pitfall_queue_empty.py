# 陷阱：消费者在一个空队列上永远等待，而生产者早已离开。
#
# 进程树里："producer"（生产者）放入三项后退出（退出码 0）。"consumer"（消费者）读出它们，
# 然后在 get() 里等待一项永远不会来的数据：三秒后队列得到一个 "!" 提示：
# queue-empty-no-producers（队列为空，且没有生产者了）。（这个消费者五秒后放弃，只是为了
# 让示例能结束；经典的 "while True: q.get()" 会永远等下去。）
# 修正：让生产者放入一个结束标记（None），消费者遇到它就停止；或者用 get(timeout=...)
# 并处理 queue.Empty。
# 时间线里：队列深度涨到 3，降到 0，然后一直停在 0，而消费者的泳道还在继续。
# 约六秒后自行结束。
import multiprocessing as mp
import queue


def produce(q):
    for item in range(3):
        q.put(item)
    # 缺少：q.put(None)，消费者可以据此停止的结束标记。


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
