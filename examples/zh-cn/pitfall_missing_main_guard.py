# 陷阱：在 spawn 启动方式下没有 'if __name__ == "__main__":' 保护。
#
# spawn 方式的子进程（Windows 和 macOS 上的默认方式）会重新导入这个文件。没有这个保护，
# 子进程自己也会执行到 p.start()，然后出错退出："An attempt has been made to start a new
# process before the current process has finished its bootstrapping phase"。
# 进程树里：子进程 "greeter" 以退出码 1 结束，并得到一个 "!" 提示：missing-main-guard
# （缺少 main 保护）；错误信息在终端里。主进程自己继续运行并退出。
# 修正：把所有启动进程、创建进程池或队列的代码放到 'if __name__ == "__main__":' 下面，
# 顶层只留定义。
# 时间线里：greeter 的泳道很短，以失败告终。
# 约一秒后自行结束。
import multiprocessing as mp


def hello():
    print("hello from the child")


ctx = mp.get_context("spawn")
p = ctx.Process(target=hello, name="greeter")
p.start()
p.join()
