# start、is_alive、带超时的 join、terminate。
#
# 进程树里："quick" 自己结束，退出码 0。"sleeper" 本来要睡一分钟：join(timeout=1) 返回时
# 它还在运行，随后 terminate() 向它发送 SIGTERM，它以 "SIGTERM"（退出码 -15）
# 结束。两个都被 join。
# 时间线里：sleeper 的泳道在启动约一秒后、调用 terminate() 的地方停止。
# 约两秒后自行结束。
import multiprocessing as mp
import time


def nap(seconds):
    time.sleep(seconds)


if __name__ == "__main__":
    quick = mp.Process(target=nap, args=(0.2,), name="quick")
    sleeper = mp.Process(target=nap, args=(60,), name="sleeper")
    quick.start()
    sleeper.start()
    print("alive after start:", quick.is_alive(), sleeper.is_alive())
    quick.join()
    print("quick joined, exit code", quick.exitcode)
    # join(timeout) 最多等待这么久；is_alive() 告诉你子进程是否已经结束。
    sleeper.join(timeout=1)
    print("sleeper still alive after join(timeout=1):", sleeper.is_alive())
    sleeper.terminate()
    # terminate() 只是发送信号：join() 才会等到子进程真正退出。
    sleeper.join()
    print("sleeper after terminate:", sleeper.is_alive(), "exit code", sleeper.exitcode)
