# 陷阱：主程序的代码已经执行完，程序却不退出。
#
# 进程树里：主进程半秒后打印出最后一行，却仍在运行：退出时 multiprocessing 会 join 每个
# 非守护子进程，而 "straggler" 要工作四秒。两秒后 straggler 上出现一个 "!" 提示：
# non-daemon-blocks-exit（非守护子进程阻止主进程退出）。随后 straggler 以退出码 0 结束，程序退出。
# 修正：在你预期子进程结束的地方 join() 它们，通知它们停止（Event），或者在可以被杀掉时
# 把它们设为守护进程（见 daemon 示例）。
# 时间线里：主进程的泳道在最后一行之后继续，和 straggler 的一样长。
# 约四秒后自行结束。
import multiprocessing as mp
import time


def work(seconds):
    time.sleep(seconds)
    print("straggler: done", flush=True)


if __name__ == "__main__":
    mp.Process(target=work, args=(4,), name="straggler").start()
    time.sleep(0.5)
    print("main: my code ends here (but the program does not exit yet)", flush=True)
