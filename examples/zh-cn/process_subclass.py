# 继承 Process 并重写 run()：start() 在新的子进程里调用 run()。
#
# 进程树里：两个子进程 "countdown-3" 和 "countdown-2"（名字是在 __init__ 里设置的），
# 没有 target（要做的事就是 run() 本身）。两个都以退出码 0 结束，并被 join。
# 时间线里：countdown-3 的泳道比 countdown-2 的长。
# 约两秒后自行结束。
import multiprocessing as mp
import time


class Countdown(mp.Process):
    def __init__(self, start_at):
        # 先调用 Process.__init__：它准备好 start() 需要的东西。
        super().__init__(name=f"countdown-{start_at}")
        self.start_at = start_at

    def run(self):
        # 这段代码在子进程里运行；self.start_at 随对象一起被复制到了子进程。
        for n in range(self.start_at, 0, -1):
            print(f"{self.name}: {n}", flush=True)
            time.sleep(0.4)


if __name__ == "__main__":
    workers = [Countdown(3), Countdown(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print("main: liftoff")
