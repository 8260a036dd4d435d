# 陷阱：生产者卡在满队列的 put() 上。
#
# 进程树里：队列节点显示 "2 / 2"（已满），"producer"（生产者）阻塞在 put()：没有人读取，
# 因为主进程要忙四秒。队列满了三秒后，它得到一个 "!" 提示：queue-full-blocked（队列已满，
# 生产者阻塞；问题面板里也有，位于创建队列的那一行）。随后主进程读出全部数据，生产者
# 完成，两者都以退出码 0 结束。
# 修正：确保生产者 put 时有消费者在运行；加大 maxsize；或者用 put(timeout=...) 并处理
# queue.Full（见 queue_timeouts 示例）。
# 时间线里：队列深度在 maxsize 上停留四秒。
# 约五秒后自行结束。
import multiprocessing as mp
import time


def produce(q):
    for item in range(5):
        q.put(item)  # 从第三项开始阻塞，直到主进程读取


if __name__ == "__main__":
    q = mp.Queue(maxsize=2)
    producer = mp.Process(target=produce, args=(q,), name="producer")
    producer.start()
    time.sleep(4)  # 消费者来晚了
    for _ in range(5):
        print("main: got", q.get(), flush=True)
    producer.join()
