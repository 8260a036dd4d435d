# 僵尸进程：子进程已经退出，但父进程还没有 join 它。
#
# 进程树里："quick" 立即以退出码 3 退出，但主进程在忙别的事，没有 join 它：在六秒内
# 它显示为僵尸进程（zombie），带有 "!" 提示：unjoined-child（子进程未被 join）。
# 选中它并点击 Join（时钟图标）亲自回收它，或者等待：主进程最后会 join 它。
# 无论哪种方式，它最终都是已退出、退出码 3、已 join。
# 时间线里：quick 的泳道启动后不久就从运行变为僵尸，僵尸的部分一直持续到 join。
# 约六秒后自行结束。
import multiprocessing as mp
import sys
import time


def quick():
    sys.exit(3)


if __name__ == "__main__":
    child = mp.Process(target=quick, name="quick")
    child.start()
    # 在“做别的事”，不去管子进程：调用 is_alive() 或 join() 都会回收它。
    time.sleep(6)
    child.join()
    print("main: joined quick, exit code", child.exitcode)
