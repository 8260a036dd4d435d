# 陷阱：进程池用完就忘了，既没有 close 也没有 join。
#
# 进程树里：进程池节点（大小 2）和它的工作进程。主进程退出时，进程池仍处于运行状态：
# 它得到一个 "!" 提示：pool-not-closed（进程池未关闭）。随后 multiprocessing 的退出处理
# 会强行关掉进程池：那时还在排队的任务会悄无声息地丢失。
# 修正：提交完任务后先 pool.close() 再 pool.join()；或者用 "with mp.Pool(2) as pool:"，
# 并在块内取回所有结果。
# 时间线里：工作进程的泳道和主进程的同时结束。
# 约一秒后自行结束。
import multiprocessing as mp


def square(x):
    return x * x


if __name__ == "__main__":
    pool = mp.Pool(2)
    print(pool.map(square, range(8)))
    # 缺少：pool.close() 和 pool.join()。
