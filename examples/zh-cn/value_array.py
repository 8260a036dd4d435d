# Value 和 Array：放在共享内存里、每个进程都能看到的数字。
#
# 进程树里：四个子进程 "adder-0" 到 "adder-3"，都以退出码 0 结束（如果某个子进程在下一次
# start() 之前就结束了，它会被那次 start() 回收，于是显示为“未 join”，尽管之后代码里调用了
# join()）。只有当共享计数器达到 4000、数组的每一格都是对应工作进程的平方时，程序本身
# 才以退出码 0 退出（否则为 1）：运行（run）节点上会显示这个退出码。（Value 和 Array 不是进程树里的节点。）
# 时间线里：四条并排的短泳道。
# 约一秒后自行结束。
import multiprocessing as mp
import sys


def add(counter, squares, index):
    for _ in range(1000):
        # 对 Value 做 += 是先读后写：不加锁的话，会丢失更新。
        with counter.get_lock():
            counter.value += 1
    squares[index] = index * index


if __name__ == "__main__":
    counter = mp.Value("i", 0)      # "i"：一个 C int
    squares = mp.Array("i", 4)      # 四个 C int，初始都是 0
    adders = [mp.Process(target=add, args=(counter, squares, i), name=f"adder-{i}") for i in range(4)]
    for p in adders:
        p.start()
    for p in adders:
        p.join()
    print("counter:", counter.value, "squares:", list(squares))
    sys.exit(0 if counter.value == 4000 and list(squares) == [0, 1, 4, 9] else 1)
