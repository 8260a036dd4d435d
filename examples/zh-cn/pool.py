# 进程池 Pool：apply、apply_async、map、map_async，以及回调函数 callback 和 error_callback。
#
# 进程树里：一个大小为 3 的进程池（Pool）节点，下面是它的三个工作进程，待处理任务数
# （pending）随着工作进程完成任务而减少（map_async 提交了 12 个慢任务）。有一个任务抛出
# ValueError：进程池和工作进程照常运行，error_callback 收到这个异常。最后进程池被
# close 并 join：每个工作进程都以退出码 0 结束。
# 时间线里：三条工作进程的泳道，以及进程池的待处理任务数降到零。
# 约三秒后自行结束。
import multiprocessing as mp
import time


def square(x):
    time.sleep(0.3)
    if x == 7:
        raise ValueError(f"{x} is unlucky")
    return x * x


def on_result(value):
    # 回调函数在主进程里、进程池的结果线程中运行。
    print("callback got", value, flush=True)


def on_error(error):
    print("error_callback got", repr(error), flush=True)


if __name__ == "__main__":
    pool = mp.Pool(3)
    # apply：阻塞式，直到这一个任务完成，并返回它的结果。
    print("apply:", pool.apply(square, (2,)))
    # apply_async：非阻塞式，立即返回；结果交给 callback（出错则交给 error_callback）。
    pending = pool.apply_async(square, (3,), callback=on_result, error_callback=on_error)
    # map：阻塞，直到所有元素都处理完，按顺序返回结果。
    print("map:", pool.map(square, [4, 5, 6]))
    # map_async：用整个结果列表调用一次 callback，或在第一个错误时调用 error_callback。
    many = pool.map_async(square, range(8, 20), callback=on_result, error_callback=on_error)
    failing = pool.apply_async(square, (7,), callback=on_result, error_callback=on_error)
    pending.wait()
    many.wait()
    failing.wait()
    # close：不再添加任务；join：等待工作进程做完并退出。
    pool.close()
    pool.join()
    print("main: pool closed and joined")
