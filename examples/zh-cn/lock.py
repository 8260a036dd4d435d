# 锁 Lock：同一时刻只有一个进程能进入 "with lock:"。
#
# 进程树里：三个子进程 "printer-1" 到 "printer-3"，都以退出码 0 结束并被 join。
# （锁不是进程树里的节点；它的作用体现在时间上。）
# 时间线里：三条泳道同时开始，但每个 printer 每行持有锁约 0.3 秒，于是它们轮流工作，
# 整个运行大约是一个 printer 工作时间的三倍。每一行都完整打印：没有锁的话，
# 各部分会交错在一起。
# 约两秒后自行结束。
import multiprocessing as mp
import time


def print_lines(lock, who):
    for line in range(2):
        with lock:
            # 分几段慢慢打印：锁保证同一行的几段连在一起。
            for piece in (f"[{who}", f" line {line}", "]\n"):
                print(piece, end="", flush=True)
                time.sleep(0.1)


if __name__ == "__main__":
    lock = mp.Lock()
    printers = [mp.Process(target=print_lines, args=(lock, f"printer-{n}"), name=f"printer-{n}") for n in (1, 2, 3)]
    for p in printers:
        p.start()
    for p in printers:
        p.join()
