# 用 args 和 kwargs 给 Process 传参：两个子进程用不同的参数运行同一个函数。
#
# 进程树（Processes）里：主进程 MainProcess 下有两个子进程 "greeter-ada" 和 "greeter-lin"，
# 各有自己的进程号（pid），提示（tooltip）里写着 "target: greet"。两个都以退出码 0 结束，
# 提示里写着 "Joined: yes"：主进程用 join() 等待了它们。
# 时间线（Timeline）里：两条并排的泳道；greeter-lin 的更长（它打了三次招呼）。
# 约两秒后自行结束。
import multiprocessing as mp
import os
import time


def greet(greeting, name, times=1):
    for _ in range(times):
        print(f"{greeting}, {name}! (pid {os.getpid()}, parent {os.getppid()})", flush=True)
        time.sleep(0.5)


if __name__ == "__main__":
    # args 是一个元组（只有一个元素时别忘了逗号）；kwargs 是关键字参数的字典。
    ada = mp.Process(target=greet, args=("Hello", "Ada"), name="greeter-ada")
    lin = mp.Process(target=greet, args=("Hi", "Lin"), kwargs={"times": 3}, name="greeter-lin")
    ada.start()
    lin.start()
    # start() 立即返回：子进程运行的同时，主进程继续往下执行。
    print(f"main (pid {os.getpid()}) started {ada.name} and {lin.name}", flush=True)
    ada.join()
    lin.join()
    print("main: both greeters are done")
