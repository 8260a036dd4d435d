# 守护进程与非守护进程：主进程的代码结束时，它们各自会怎样。
#
# 进程树里："heartbeat" 标为守护进程（daemon）。它本会一直跳动下去，但主进程的代码一结束，
# multiprocessing 就会终止所有守护子进程：它以 "SIGTERM"（退出码 -15）结束，
# 并带有 "!" 提示：daemon-killed-with-parent（守护进程随父进程被终止）。"writer" 不是
# 守护进程：退出时主进程会等待它（代码里并没有 join()），它以退出码 0 结束。
# 时间线里：heartbeat 的泳道恰好停在主进程代码结束的地方；writer 的再稍长一些，
# 主进程的泳道一直持续到 writer 结束。
# 约两秒后自行结束。
import multiprocessing as mp
import time


def heartbeat():
    while True:
        print("heartbeat", flush=True)
        time.sleep(0.3)


def write_report():
    time.sleep(1.2)
    print("writer: report written", flush=True)


if __name__ == "__main__":
    beat = mp.Process(target=heartbeat, name="heartbeat", daemon=True)
    writer = mp.Process(target=write_report, name="writer")
    beat.start()
    writer.start()
    time.sleep(0.8)
    print("main: my code ends here", flush=True)
